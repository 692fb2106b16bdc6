"""Shared helpers of the tests/test_feedback_*.py files: grade through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from grader.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions" / "examples" / "hw2"
MISTAKES = EXAMPLES / "mistakes"


def submit(path: Path, tmp_path: Path, *problems: str, fmt: str = "json") -> tuple[str, dict | None]:
    args = ["submit", str(path), "--assignment", "hw2", "--db", str(tmp_path / "g.db"), "--format", fmt]
    for p in problems:
        args += ["--problem", p]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "2000"})
    assert result.exit_code == 0, result.output
    return result.output, (json.loads(result.output) if fmt == "json" else None)


def hints(report: dict) -> list[str]:
    return [c["hint"] for p in report["problems"] for c in p["checks"] if c["hint"]]
