"""`grader history` and `grader show` over a real SQLite gradebook."""

import json
from pathlib import Path

from typer.testing import CliRunner

from grader.cli import app

EXAMPLES = Path(__file__).resolve().parent.parent / "submissions" / "examples" / "hw2"
runner = CliRunner()


def test_submit_then_history_and_show(tmp_path):
    db = str(tmp_path / "g.db")
    graded = runner.invoke(app, ["submit", str(EXAMPLES / "bug_graph.py"), "--assignment", "hw2", "--db", db,
                                 "--student", "alice", "--format", "json", "--problem", "graph"])
    assert graded.exit_code == 0, graded.output
    submitted = json.loads(graded.stdout)

    listed = runner.invoke(app, ["history", "--db", db, "--student", "alice"])
    assert listed.exit_code == 0, listed.output
    assert "alice" in listed.stdout and "graded" in listed.stdout
    assert "bob" not in runner.invoke(app, ["history", "--db", db, "--student", "bob"]).stdout

    shown = runner.invoke(app, ["show", "1", "--db", db, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == submitted


def test_show_unknown_id_is_one_line_error(tmp_path):
    db = str(tmp_path / "g.db")
    result = runner.invoke(app, ["show", "42", "--db", db])
    assert result.exit_code == 4
    assert "no submission with id 42" in result.output
    assert "Traceback" not in result.output
