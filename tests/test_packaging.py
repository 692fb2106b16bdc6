"""The tool works when installed without -e: problems/ and the migrations ship."""

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_non_editable_install_grades_and_stores(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__", "*.db"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(src)], check=True, cwd=tmp_path)
    shutil.rmtree(src)  # nothing may be read from the source tree any more
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_PROBLEMS", "GRADER_DATABASE_URL", "PYTHONPATH")}
    db = tmp_path / "g.db"
    out = subprocess.run(
        [env_dir / "bin" / "grader", "submit", str(ROOT / "submissions/examples/hw2/correct_vectorized.py"),
         "--assignment", "hw2", "--db", str(db), "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    import json

    report = json.loads(out.stdout)
    assert report["score"] == report["max_score"] == 100.0
    where = subprocess.run([python, "-c", "import grader; print(grader.__file__)"], capture_output=True, text=True,
                           cwd=tmp_path, env=env).stdout
    assert str(env_dir) in where
    assert db.exists()
