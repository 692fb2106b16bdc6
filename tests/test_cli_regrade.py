"""`grader regrade`: a pending row left by a crash is completed; old runs are kept."""

import json
from pathlib import Path

from typer.testing import CliRunner

from grader.cli import app
from grader.store import open_store

EXAMPLES = Path(__file__).resolve().parent.parent / "submissions" / "examples" / "hw2"
runner = CliRunner()


def test_regrade_pending_completes_a_crashed_submission(tmp_path):
    db = str(tmp_path / "g.db")
    content = (EXAMPLES / "correct_vectorized.py").read_bytes()
    with open_store(db) as store:  # what a kill -9 between "pending" and "graded" leaves behind
        sid = store.record_submission(student="carol", assignment="hw2", spec_version="1", spec_sha256="x" * 64,
                                      filename="hw2.py", content=content)
        assert store.pending_submissions() == [sid]

    result = runner.invoke(app, ["regrade", "--pending", "--db", db])
    assert result.exit_code == 0, result.output
    assert "100 / 100" in result.stdout

    with open_store(db) as store:
        assert store.pending_submissions() == []
        assert store.get_report(sid).score == 100.0


def test_regrade_keeps_the_submission_and_makes_the_new_run_current(tmp_path):
    db = str(tmp_path / "g.db")
    first = runner.invoke(app, ["submit", str(EXAMPLES / "bug_graph.py"), "--assignment", "hw2", "--db", db,
                                "--format", "json", "--problem", "graph", "--student", "dan"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["regrade", "1", "--db", db, "--seed", "7"])
    assert again.exit_code == 0, again.output
    shown = json.loads(runner.invoke(app, ["show", "1", "--db", db, "--format", "json"]).stdout)
    assert shown["seed"] == 7
    assert len(runner.invoke(app, ["history", "--db", db]).stdout.split("dan")) == 2  # still one submission


def test_regrade_needs_ids_or_pending(tmp_path):
    result = runner.invoke(app, ["regrade", "--db", str(tmp_path / "g.db")])
    assert result.exit_code == 2
    assert "--pending" in result.output


def test_regrade_refuses_without_filesystem_confinement(tmp_path, monkeypatch):
    db = str(tmp_path / "g.db")
    with open_store(db) as store:
        store.record_submission(student="eve", assignment="hw2", spec_version="1", spec_sha256="x" * 64,
                                filename="hw2.py", content=b"def graph(x, y, z):\n    return 0\n")
    monkeypatch.setenv("GRADER_SANDBOX", "process")  # a machine without bubblewrap
    result = runner.invoke(app, ["regrade", "--pending", "--db", db])
    assert result.exit_code == 3, result.output
    assert "filesystem" in result.output and "bubblewrap" in result.output
    with open_store(db) as store:  # nothing ran, nothing was lost
        assert len(store.pending_submissions()) == 1


def test_submit_without_a_layer_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX", "process")
    result = runner.invoke(app, ["submit", str(EXAMPLES / "correct_vectorized.py"), "--assignment", "hw2",
                                 "--db", str(tmp_path / "g.db"), "--format", "json", "--problem", "graph"])
    assert result.exit_code == 0, result.output
    assert "filesystem" not in json.loads(result.stdout)["sandbox"]
    assert "notice: your code ran without filesystem isolation" in result.stderr
