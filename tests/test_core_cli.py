"""`grader submit` and `grader problems` through typer's CliRunner: exit codes,
one-line errors, JSON output valid against grader/report.schema.json,
--problem, --seed, determinism, the assignment from the file name, storage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from grader.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions" / "examples" / "hw2"
CORRECT = EXAMPLES / "correct_vectorized.py"
SCHEMA_FILE = ROOT / "grader" / "report.schema.json"


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "grades.db")


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def submit_json(file, db, *args):
    result = invoke("submit", file, "--db", db, "--format", "json", "--student", "tester", *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout), result


def assert_one_line_error(result, code, *needles):
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert str(needle) in lines[0], (needle, lines[0])


# ----- the report schema ----------------------------------------------------------------
def test_committed_schema_is_up_to_date():
    from grader import schema

    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema.render(), "run: python -m grader.schema"


def test_json_output_is_only_json_and_matches_the_schema(db):
    report, result = submit_json(CORRECT, db, "--assignment", "hw2", "--problem", "graph", "--problem", "svm_loss")
    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))
    assert result.stdout.lstrip().startswith("{") and result.stdout.rstrip().endswith("}")
    for key in ("assignment", "student", "submission_sha256", "score", "max_score", "problems"):
        assert key in report
    for problem in report["problems"]:
        assert {"id", "score", "max_score", "status", "checks"} <= problem.keys()
        for check in problem["checks"]:
            assert {"name", "passed", "score", "max_score", "message"} <= check.keys()
    assert report["student"] == "tester"
    assert len(report["submission_sha256"]) == 64


def test_schema_rejects_a_report_with_a_bad_status():
    schema = json.loads(SCHEMA_FILE.read_text())
    bad = {"assignment": "hw2", "student": "s", "submission_sha256": "0" * 64, "score": 0.0, "max_score": 5.0,
           "problems": [{"id": "graph", "score": 0.0, "max_score": 5.0, "status": "exploded", "checks": []}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


# ----- exit 0 whatever the score ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["correct_vectorized.py", "bug_svm_loss.py", "syntax_error.py"])
def test_graded_file_exits_0_whatever_the_score(db, name):
    report, _ = submit_json(EXAMPLES / name, db, "--assignment", "hw2", "--problem", "svm_loss")
    assert report["max_score"] == 20.0


def test_text_format_prints_the_table(db):
    result = invoke("submit", EXAMPLES / "bug_svm_loss.py", "--db", db, "--assignment", "hw2", "--problem", "svm_loss")
    assert result.exit_code == 0, result.stderr
    assert "svm_loss" in result.stdout and "failed" in result.stdout
    assert "/ 20" in result.stdout


# ----- exit 2: usage errors and unreadable input --------------------------------------------------
def test_missing_file(tmp_path, db):
    path = tmp_path / "nope.py"
    assert_one_line_error(invoke("submit", path, "--db", db, "--assignment", "hw2"), 2, path)


def test_directory(tmp_path, db):
    assert_one_line_error(invoke("submit", tmp_path, "--db", db, "--assignment", "hw2"), 2, tmp_path)


def test_binary_file(tmp_path, db):
    path = tmp_path / "hw2.py"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    assert_one_line_error(invoke("submit", path, "--db", db), 2, path)


def test_non_utf8_file(tmp_path, db):
    path = tmp_path / "hw2.py"
    path.write_bytes("# caf\u00e9\ndef graph(x, y, z):\n    return 0\n".encode("latin-1"))
    assert_one_line_error(invoke("submit", path, "--db", db), 2, path, "UTF-8")


def test_too_large_file(tmp_path, db):
    path = tmp_path / "hw2.py"
    path.write_text("# padding\n" * ((1 << 20) // 10 + 1))
    assert path.stat().st_size > 1 << 20
    assert_one_line_error(invoke("submit", path, "--db", db), 2, path)


def test_file_of_exactly_the_limit_is_accepted(tmp_path, db):
    source = CORRECT.read_text()
    path = tmp_path / "hw2.py"
    path.write_text(source + "#" * ((1 << 20) - len(source.encode()) - 1) + "\n")
    assert path.stat().st_size == 1 << 20
    report, _ = submit_json(path, db, "--problem", "graph")
    assert report["score"] == 5.0


def test_unknown_assignment(db):
    assert_one_line_error(invoke("submit", CORRECT, "--db", db, "--assignment", "hw99"), 2, "hw99", "hw2")


def test_assignment_not_derivable_from_file_name(db):
    """correct_vectorized.py names no assignment: the message says to pass --assignment."""
    assert_one_line_error(invoke("submit", CORRECT, "--db", db), 2, "correct_vectorized", "--assignment")


def test_unknown_problem(db):
    assert_one_line_error(invoke("submit", CORRECT, "--db", db, "--assignment", "hw2", "--problem", "softmax"), 2,
                          "softmax", "softmax_loss")


def test_unknown_problem_is_not_stored_as_a_graded_run(db):
    from grader.store import open_store

    invoke("submit", CORRECT, "--db", db, "--assignment", "hw2", "--problem", "nope")
    with open_store(db) as store:
        assert all(row.score is None for row in store.history())


def test_unknown_assignment_of_problems_command():
    assert_one_line_error(invoke("problems", "hw99"), 2, "hw99")


def test_bad_format_is_a_usage_error(db):
    result = invoke("submit", CORRECT, "--db", db, "--assignment", "hw2", "--format", "xml")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# ----- exit 4: the database cannot be used -----------------------------------------------------------
def test_db_whose_parent_is_a_regular_file(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    url = blocker / "sub" / "grades.db"
    assert_one_line_error(invoke("submit", CORRECT, "--db", url, "--assignment", "hw2", "--problem", "graph"), 4,
                          "afile")


def test_corrupt_database_file(tmp_path):
    path = tmp_path / "grades.db"
    path.write_bytes(b"this is not a SQLite database\n" * 200)
    result = invoke("submit", CORRECT, "--db", path, "--assignment", "hw2", "--problem", "graph")
    assert_one_line_error(result, 4, path)
    assert path.read_bytes() == b"this is not a SQLite database\n" * 200, "a corrupt database is left alone"


def test_database_url_from_environment(tmp_path, monkeypatch):
    from grader.store import open_store

    path = tmp_path / "env.db"
    monkeypatch.setenv("GRADER_DATABASE_URL", f"sqlite:///{path}")
    result = invoke("submit", CORRECT, "--assignment", "hw2", "--problem", "graph", "--format", "json")
    assert result.exit_code == 0, result.stderr
    with open_store(str(path)) as store:
        assert len(store.history()) == 1


# ----- problems, --problem, --seed, determinism ---------------------------------------------------------
def test_problems_lists_hw2_with_total_100():
    result = invoke("problems")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "hw2" in out
    for pid in ("graph", "sigmoid_neuron", "add_gate_backward", "mul_gate_backward", "max_gate_backward", "l2_wx",
                "two_layer", "softmax_loss", "svm_loss"):
        assert pid in out
    total = [line for line in out.splitlines() if "total" in line]
    assert total and "100" in total[0]


def test_problems_for_one_assignment():
    result = invoke("problems", "hw2")
    assert result.exit_code == 0 and "softmax_loss(W, X, y, reg)" in result.stdout


def test_help_documents_exit_codes():
    result = invoke("--help")
    assert result.exit_code == 0
    for code in ("0", "2", "3", "4"):
        assert code in result.stdout
    assert "database" in result.stdout


def test_problem_option_grades_only_that_problem(db):
    report, _ = submit_json(CORRECT, db, "--assignment", "hw2", "--problem", "softmax_loss")
    assert [p["id"] for p in report["problems"]] == ["softmax_loss"]
    assert report["score"] == report["max_score"] == 20.0


PRINTS_INPUTS = """\
import numpy as np
{source}

_real = softmax_loss
def softmax_loss(W, X, y, reg):
    print("W[0, 0] =", repr(float(W[0, 0])))
    return _real(W, X, y, reg)
"""


def test_seed_changes_the_cases_but_not_a_correct_score(tmp_path, db):
    path = tmp_path / "hw2.py"
    path.write_text(PRINTS_INPUTS.format(source=CORRECT.read_text()))
    reports = [submit_json(path, db, "--problem", "softmax_loss", *seed)[0] for seed in ([], ["--seed", "7"],
                                                                                          ["--seed", "8"])]
    assert len({r["output"] for r in reports}) == 3, "each seed draws other cases"
    assert len({r["seed"] for r in reports}) == 3
    assert [r["seed"] for r in reports[1:]] == [7, 8]
    assert all(r["score"] == 20.0 for r in reports)


@pytest.mark.slow
def test_correct_file_gets_full_marks_under_other_seeds(db):
    for seed in ("1", "2024", "987654321"):
        report, _ = submit_json(EXAMPLES / "correct_loops.py", db, "--assignment", "hw2", "--seed", seed)
        assert report["score"] == 100.0, (seed, [(p["id"], p["score"]) for p in report["problems"]])


def test_same_file_and_seed_give_the_same_report(db):
    def run():
        report, _ = submit_json(EXAMPLES / "bug_softmax_loss.py", db, "--assignment", "hw2", "--seed", "5",
                                "--problem", "softmax_loss", "--problem", "two_layer")
        report.pop("duration_s")
        report.pop("submission_id", None)
        return report

    first, second = run(), run()
    assert first == second
    assert first["score"] < first["max_score"]


def test_default_seed_is_the_assignments(db):
    from grader.packs import bundled_root, load_pack

    report, _ = submit_json(CORRECT, db, "--assignment", "hw2", "--problem", "graph")
    assert report["seed"] == load_pack("hw2", bundled_root()).spec.default_seed


def test_assignment_defaults_from_the_file_name(tmp_path, db):
    path = tmp_path / "hw2.py"
    shutil.copy(CORRECT, path)
    report, _ = submit_json(path, db, "--problem", "graph")
    assert report["assignment"] == "hw2" and report["score"] == 5.0
    assert report["filename"] == "hw2.py"


def test_relative_path_is_graded(tmp_path, db, monkeypatch):
    shutil.copy(CORRECT, tmp_path / "hw2.py")
    monkeypatch.chdir(tmp_path)
    report, _ = submit_json("hw2.py", db, "--problem", "graph")
    assert report["score"] == 5.0, report["problems"][0]["checks"][0]["message"]


def test_student_defaults_to_the_os_user(db):
    import getpass

    result = invoke("submit", CORRECT, "--db", db, "--assignment", "hw2", "--problem", "graph", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["student"] == getpass.getuser()


def test_the_run_is_stored(db):
    from grader.store import open_store

    report, _ = submit_json(CORRECT, db, "--assignment", "hw2", "--problem", "graph", "--problem", "l2_wx")
    report2, _ = submit_json(EXAMPLES / "bug_l2_wx.py", db, "--assignment", "hw2", "--problem", "l2_wx")
    with open_store(db) as store:
        rows = store.history()
        assert [(r.student, r.assignment, r.score, r.max_score) for r in rows] == [
            ("tester", "hw2", report["score"], report["max_score"]),
            ("tester", "hw2", report2["score"], report2["max_score"]),
        ]
        assert rows[0].filename == "correct_vectorized.py"
        assert report["submission_sha256"].startswith(rows[0].sha256_prefix)
        stored = store.get_report(rows[1].submission_id)
        assert stored.score == report2["score"]
        assert [p.id for p in stored.problems] == ["l2_wx"]
        assert store.submission_content(rows[0].submission_id)[1] == CORRECT.read_bytes()


def test_negative_seed_is_a_usage_error(db):
    result = invoke("submit", CORRECT, "--db", db, "--assignment", "hw2", "--problem", "graph", "--seed", "-1")
    assert_one_line_error(result, 2, "seed")


def test_huge_seed_is_a_usage_error(db):
    result = invoke("submit", CORRECT, "--db", db, "--assignment", "hw2", "--problem", "graph",
                    "--seed", str(2 ** 64))
    assert_one_line_error(result, 2, "seed")


def test_error_message_keeps_square_brackets(tmp_path, db):
    path = tmp_path / "[draft]" / "hw2.py"
    assert_one_line_error(invoke("submit", path, "--db", db), 2, "[draft]")
