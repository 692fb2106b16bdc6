"""Shared helpers for the tests of `grader ci` and its formats (no tests here).

`clean_env` removes every CI variable of the machine running the tests (which
may itself be GitHub Actions), so each test sets exactly the environment it
simulates. Reports are graded once per session with small problem sets.
"""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions" / "examples" / "hw2"

CI_VARS = ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE", "GITHUB_ACTOR", "GITHUB_REPOSITORY_OWNER",
           "GRADER_DATABASE_URL", "GRADER_PACKAGE", "GRADER_PROBLEMS")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in CI_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADER_GRADESCOPE_METADATA", str(tmp_path / "no-gradescope-here.json"))
    return monkeypatch


def make_repo(base: Path, files: dict[str, str | Path]) -> Path:
    """A student repository under `base`: name -> example file (Path) or source text."""
    repo = base / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_text(content, encoding="utf-8")
    return repo


def invoke(*args):
    return CliRunner().invoke(__import__("grader.cli", fromlist=["app"]).app, [str(a) for a in args])


@lru_cache(maxsize=None)
def graded(example: str, problems: tuple[str, ...] = ("graph", "svm_loss"), student: str = "alice"):
    """A real report of an example, graded in the sandbox once per session (not stored)."""
    from grader.pipeline import grade, read_submission

    return grade(read_submission(EXAMPLES / example), hw2_pack(), student=student, only=list(problems))


@lru_cache(maxsize=None)
def hw2_pack():
    """The hw2 pack, loaded once: its reference module loads once per process."""
    from grader.packs import load_pack, problems_root

    return load_pack("hw2", problems_root())
