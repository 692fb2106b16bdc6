"""Policies end to end on real SQLite files: extensions and overrides in the
store, `grader extend`, `grader override`, `grader export` (CSV and JSON) and
the notices of `grader submit`."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import UsageError
from grader.report import ProblemResult, Report
from grader.store import open_store

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
DUE = datetime(2025, 3, 29, 23, 59, tzinfo=BERLIN)  # the night before Berlin's spring-forward
runner = CliRunner()

PACK = """\
id = "hw_pol"
version = "1"
[[problems]]
id = "cube"
function = "cube"
points = 10
forward = "cube_forward"
args = [{ name = "x", shape = [3] }]
outputs = [{ name = "f", kind = "value" }, { name = "dx", kind = "grad", wrt = "x" }]
cases = [{ name = "random", repeat = 2 }]

[[problems]]
id = "square"
function = "square"
points = 30
forward = "square_forward"
args = [{ name = "x", shape = [3] }]
outputs = [{ name = "f", kind = "value" }, { name = "dx", kind = "grad", wrt = "x" }]
cases = [{ name = "random", repeat = 2 }]
"""
POLICY = """
[policy]
counts = "best"
due = 2025-03-29T23:59:00
timezone = "Europe/Berlin"
late_penalty_per_day = 0.1
max_submissions = 3
"""
REFERENCE = ("import numpy as np\n\ndef cube_forward(x):\n    return float(np.sum(x ** 3))\n\n"
             "def square_forward(x):\n    return float(np.sum(x ** 2))\n")
CORRECT = """\
import numpy as np

def cube(x):
    return float(np.sum(x ** 3)), 3 * x ** 2

def square(x):
    return float(np.sum(x ** 2)), 2 * x
"""


@pytest.fixture
def root(tmp_path) -> Path:
    pack = tmp_path / "packs" / "hw_pol"
    pack.mkdir(parents=True)
    (pack / "assignment.toml").write_text(PACK + POLICY)
    (pack / "reference.py").write_text(REFERENCE)
    return tmp_path / "packs"


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "g.db")


def record(db: str, student: str, at: datetime, cube: float, square: float, *, problems=("cube", "square"),
           spec_sha256: str = "ab" * 32) -> int:
    """A graded submission stored without running the sandbox."""
    scores = {"cube": (cube, 10.0), "square": (square, 30.0)}
    results = [ProblemResult(id=p, score=scores[p][0], max_score=scores[p][1],
                             status="passed" if scores[p][0] == scores[p][1] else "failed", checks=[])
               for p in problems]
    with open_store(db) as store:
        sid = store.record_submission(student=student, assignment="hw_pol", spec_version="1",
                                      spec_sha256=spec_sha256, filename="hw_pol.py",
                                      content=f"# {student} {at} {cube} {square}".encode(), submitted_at=at)
        report = Report(assignment="hw_pol", student=student, submission_sha256="0" * 64,
                        score=sum(r.score for r in results), max_score=sum(r.max_score for r in results),
                        problems=results)
        store.record_run(sid, report, started_at=datetime.now(UTC))
    return sid


def cli(*args: str):
    return runner.invoke(app, list(args))


def export_csv(db: str, root: Path) -> list[dict[str, str]]:
    result = cli("export", "--assignment", "hw_pol", "--db", db, "--problems", str(root))
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout, newline="")))


# -- the store -----------------------------------------------------------------------


def test_extensions_and_overrides_round_trip(db):
    record(db, "alice", DUE, 10, 30)
    with open_store(db) as store:
        eid = store.add_extension(student="alice", assignment="hw_pol", due=DUE + timedelta(days=2),
                                  granted_by="  Prof.   Smith ", reason="medical\ncertificate")
        oid = store.add_override(student="alice", assignment="hw_pol", problem_id="cube", score=7.5,
                                 set_by="ta", reason="regraded")
        store.add_override(student="bob", assignment="hw_pol", problem_id=None, score=12, set_by="ta",
                           reason="paper submission", new_student=True)
        facts = store.gradebook_facts("hw_pol")
        assert store.students() == ["alice", "bob"]
        assert store.gradebook_facts("hw_pol", student="bob").submissions == []
        assert store.gradebook_facts("other").extensions == []
    (extension,) = facts.extensions
    assert extension.id == eid and extension.student == "alice"
    assert extension.due == (DUE + timedelta(days=2)).astimezone(UTC) and extension.due.tzinfo is not None
    assert (extension.granted_by, extension.reason) == ("Prof. Smith", "medical certificate")  # one line each
    assert [(o.id, o.student, o.problem_id, o.score) for o in facts.overrides] == [
        (oid, "alice", "cube", 7.5), (oid + 1, "bob", None, 12.0)]
    (submission,) = facts.submissions
    assert submission.scores == {"cube": 10.0, "square": 30.0} and submission.status == "graded"


def test_unknown_student_is_refused_with_a_suggestion(db):
    record(db, "alice", DUE, 10, 30)
    with open_store(db) as store:
        with pytest.raises(UsageError, match=r"no student 'alcie'.*did you mean alice.*--new-student"):
            store.add_override(student="alcie", assignment="hw_pol", problem_id=None, score=1, set_by="ta",
                               reason="x")
        with pytest.raises(ValueError, match="time-zone aware"):
            store.add_extension(student="alice", assignment="hw_pol", due=datetime(2025, 4, 1), granted_by="p",
                                reason="r")
        with pytest.raises(ValueError, match="who"):
            store.add_extension(student="alice", assignment="hw_pol", due=DUE, granted_by=" ", reason="r")
        assert store.students() == ["alice"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM overrides").fetchone() == (0,)


def test_facts_follow_the_current_run_and_span_spec_versions(db):
    sid = record(db, "alice", DUE, 1, 1)
    record(db, "alice", DUE + timedelta(minutes=1), 2, 2, spec_sha256="cd" * 32)  # a newer spec version
    with open_store(db) as store:
        report = Report(assignment="hw_pol", student="alice", submission_sha256="0" * 64, score=40, max_score=40,
                        problems=[ProblemResult(id="cube", score=10, max_score=10, status="passed", checks=[]),
                                  ProblemResult(id="square", score=30, max_score=30, status="passed", checks=[])])
        store.record_run(sid, report, started_at=datetime.now(UTC))  # a regrade: the new run is current
        facts = store.gradebook_facts("hw_pol")
    assert [s.scores for s in facts.submissions] == [{"cube": 10, "square": 30}, {"cube": 2, "square": 2}]


# -- grader export ---------------------------------------------------------------------


def test_export_csv_applies_the_policy(db, root):
    record(db, "alice", DUE - timedelta(hours=1), 10, 20)  # on time: 30
    record(db, "alice", DUE + timedelta(hours=23), 10, 30)  # 1 day late: 40 - 4 = 36, the best
    record(db, "bob", DUE.astimezone(UTC) + timedelta(hours=23, minutes=30), 10, 30)  # 2 days late (DST): 32
    for h in range(4):  # carol: the 4th submission is past the limit of 3
        record(db, "carol", DUE - timedelta(days=2, hours=-h), 5 * (h == 3), 0)
    rows = export_csv(db, root)
    header = list(rows[0].keys())
    assert header == ["student", "cube", "square", "total", "max_score", "submission_id", "submitted_at", "due",
                      "late_days", "penalty", "submissions", "note"]
    by = {r["student"]: r for r in rows}
    assert list(by) == ["alice", "bob", "carol"]
    assert (by["alice"]["total"], by["alice"]["late_days"], by["alice"]["penalty"]) == ("36", "1", "4")
    assert by["alice"]["submission_id"] == "2" and by["alice"]["submissions"] == "2"
    assert by["alice"]["submitted_at"] == "2025-03-30T22:59:00+02:00"  # Berlin time, CEST
    assert by["alice"]["due"] == "2025-03-29T23:59:00+01:00"
    assert (by["bob"]["total"], by["bob"]["late_days"], by["bob"]["penalty"]) == ("32", "2", "8")
    assert (by["carol"]["total"], by["carol"]["submissions"]) == ("0", "4")
    assert "past the limit of 3" in by["carol"]["note"]


def test_export_csv_is_spreadsheet_and_lms_friendly(db, root, tmp_path):
    record(db, "Zoë Ñúñez, jr.", DUE - timedelta(hours=1), 10 / 3, 30)
    record(db, 'Ann "Quote"', DUE - timedelta(hours=1), 0.00001, 1e6 / 1e5)
    out = tmp_path / "grades.csv"
    result = cli("export", "--assignment", "hw_pol", "--db", db, "--problems", str(root), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "exported 2 student(s)" in result.output
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # UTF-8 without a byte-order mark
    text = raw.decode("utf-8")
    assert text.startswith("student,cube,square,total,")  # a header row, no index column
    assert text.count("\r\n") == 3  # RFC 4180 line ends
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert all(len(r) == len(rows[0]) for r in rows)
    body = {r[0]: r for r in rows[1:]}
    assert body["Zoë Ñúñez, jr."][1:4] == ["3.3333", "30", "33.3333"]
    assert body['Ann "Quote"'][1:4] == ["0", "10", "10"]
    for row in rows[1:]:  # every number is a plain decimal
        for cell in row[1:5] + row[8:11]:
            assert re.fullmatch(r"-?\d+(\.\d+)?", cell), cell


def test_export_csv_cells_never_run_as_formulas(db, root):
    record(db, '=HYPERLINK("http://evil.example","x")', DUE, 10, 30)
    record(db, "@SUM(A1)", DUE, 10, 30)
    rows = export_csv(db, root)
    assert sorted(r["student"] for r in rows) == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'@SUM(A1)"]


def test_export_json_has_who_and_why(db, root):
    record(db, "alice", DUE + timedelta(days=3), 10, 30)
    assert cli("extend", "alice", "--assignment", "hw_pol", "--until", "2025-04-05T12:00", "--by", "Prof. Smith",
               "--reason", "medical certificate", "--db", db, "--problems", str(root)).exit_code == 0
    assert cli("override", "alice", "--assignment", "hw_pol", "--problem", "square", "--score", "25", "--by", "ta",
               "--reason", "partial credit", "--db", db, "--problems", str(root)).exit_code == 0
    result = cli("export", "--assignment", "hw_pol", "--format", "json", "--db", db, "--problems", str(root))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["assignment"] == "hw_pol" and doc["max_score"] == 40
    assert doc["policy"]["counts"] == "best" and doc["due"] == "2025-03-29T23:59:00+01:00"
    (alice,) = doc["students"]
    assert alice["scores"] == {"cube": 10, "square": 25} and alice["total"] == 35 and alice["late_days"] == 0
    assert alice["due"] == "2025-04-05T12:00:00+02:00"
    assert alice["extension"]["granted_by"] == "Prof. Smith"
    assert alice["extension"]["reason"] == "medical certificate"
    assert alice["overrides"][0] | {"created_at": None} == {
        "problem": "square", "score": 25, "set_by": "ta", "reason": "partial credit", "created_at": None}


def test_export_of_an_assignment_with_no_submissions(db, root):
    result = cli("export", "--assignment", "hw_pol", "--db", db, "--problems", str(root))
    assert result.exit_code == 0
    assert result.stdout.startswith("student,cube,square,total")
    assert result.stdout.count("\n") == 1
    assert "no submissions for hw_pol" in result.stderr


def test_export_without_policy_counts_the_latest(db, tmp_path):
    pack = tmp_path / "plain" / "hw_pol"
    pack.mkdir(parents=True)
    (pack / "assignment.toml").write_text(PACK)
    (pack / "reference.py").write_text(REFERENCE)
    record(db, "alice", DUE, 10, 30)
    record(db, "alice", DUE + timedelta(days=30), 1, 2)
    (row,) = export_csv(db, tmp_path / "plain")
    assert (row["total"], row["late_days"], row["penalty"], row["due"]) == ("3", "0", "0", "")


# -- grader extend / override --------------------------------------------------------------


def test_extend_and_override_change_the_export(db, root):
    record(db, "alice", DUE + timedelta(days=1), 10, 30)
    assert export_csv(db, root)[0]["total"] == "36"
    result = cli("extend", "alice", "--assignment", "hw_pol", "--until", "2025-04-01T23:59", "--by", "prof",
                 "--reason", "ill", "--db", db, "--problems", str(root))
    assert result.exit_code == 0, result.output
    assert "alice may submit hw_pol until 2025-04-01 23:59+02:00" in result.stdout
    assert export_csv(db, root)[0]["total"] == "40"
    result = cli("override", "alice", "--assignment", "hw_pol", "--score", "12.5", "--by", "ta", "--reason", "plagiarism",
                 "--db", db, "--problems", str(root))
    assert result.exit_code == 0, result.output
    assert "override 1: alice's total of hw_pol is 12.5 / 40 (set by ta: plagiarism)" in result.stdout
    row = export_csv(db, root)[0]
    assert row["total"] == "12.5" and "total set to 12.5 by ta (plagiarism)" in row["note"]
    assert "extension to 2025-04-01 23:59+02:00 by prof (ill)" in row["note"]


def test_extend_for_a_student_with_no_submission_needs_new_student(db, root):
    record(db, "alice", DUE, 10, 30)
    args = ["extend", "dave", "--assignment", "hw_pol", "--until", "2025-04-01T23:59:00+02:00", "--by", "prof",
            "--reason", "exchange semester", "--db", db, "--problems", str(root)]
    refused = cli(*args)
    assert refused.exit_code == 2 and "no student 'dave'" in refused.stderr and "--new-student" in refused.stderr
    assert cli(*args, "--new-student").exit_code == 0
    rows = export_csv(db, root)
    assert [r["student"] for r in rows] == ["alice", "dave"]
    assert rows[1]["total"] == "0" and rows[1]["note"].endswith("no submission")


@pytest.mark.parametrize("args, message", [
    (["extend", "alice", "--assignment", "nope", "--until", "2025-04-01T12:00", "--by", "p", "--reason", "r"],
     "unknown assignment 'nope'"),
    (["extend", "alice", "--assignment", "hw_pol", "--until", "next friday", "--by", "p", "--reason", "r"],
     "is not an ISO 8601 date and time"),
    (["extend", "alice", "--assignment", "hw_pol", "--until", "2025-04-01", "--by", "p", "--reason", "r"],
     "needs a time of day"),
    (["extend", "alice", "--assignment", "hw_pol", "--until", "2025-03-20T12:00", "--by", "p", "--reason", "r"],
     "is not after the due date 2025-03-29 23:59+01:00"),
    (["extend", "alice", "--assignment", "hw_pol", "--until", "2025-03-30T02:30", "--by", "p", "--reason", "r"],
     "does not exist"),
    (["extend", "alice", "--assignment", "hw_pol", "--until", "2025-04-01T12:00", "--by", " ", "--reason", "r"],
     "--by is empty"),
    (["override", "alice", "--assignment", "hw_pol", "--problem", "cubee", "--score", "1", "--by", "p",
      "--reason", "r"], "unknown problem 'cubee' in hw_pol; known: cube, square"),
    (["override", "alice", "--assignment", "hw_pol", "--problem", "cube", "--score", "11", "--by", "p",
      "--reason", "r"], "out of range for problem cube of hw_pol; give 0 to 10"),
    (["override", "alice", "--assignment", "hw_pol", "--score", "-1", "--by", "p", "--reason", "r"],
     "give 0 to 40"),
    (["override", "alice", "--assignment", "hw_pol", "--score", "nan", "--by", "p", "--reason", "r"],
     "out of range"),
    (["override", "alice", "--assignment", "hw_pol", "--score", "1", "--by", "p", "--reason", ""],
     "--reason is empty"),
    (["override", "alcie", "--assignment", "hw_pol", "--score", "1", "--by", "p", "--reason", "r"],
     "no student 'alcie'"),
    (["export", "--assignment", "hw_pol", "--output", "/proc/nope/grades.csv"], "cannot be written"),
])
def test_usage_errors_are_one_line_exit_2(db, root, args, message):
    record(db, "alice", DUE, 10, 30)
    result = cli(*args, "--db", db, "--problems", str(root))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 or message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    with sqlite3.connect(db) as conn:  # nothing was recorded
        assert conn.execute("SELECT count(*) FROM extensions").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM overrides").fetchone() == (0,)


def test_extend_needs_a_due_date(db, tmp_path):
    pack = tmp_path / "plain" / "hw_pol"
    pack.mkdir(parents=True)
    (pack / "assignment.toml").write_text(PACK)
    (pack / "reference.py").write_text(REFERENCE)
    result = cli("extend", "alice", "--assignment", "hw_pol", "--until", "2025-04-01T12:00Z", "--by", "p",
                 "--reason", "r", "--db", db, "--problems", str(tmp_path / "plain"))
    assert result.exit_code == 2 and "declares no due date" in result.stderr


@pytest.mark.parametrize("command", ["export", "extend", "override"])
def test_database_errors_exit_4(tmp_path, root, command):
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not a database" * 100)
    args = {"export": ["export", "--assignment", "hw_pol"],
            "extend": ["extend", "a", "--assignment", "hw_pol", "--until", "2025-04-01T12:00", "--by", "p",
                       "--reason", "r"],
            "override": ["override", "a", "--assignment", "hw_pol", "--score", "1", "--by", "p", "--reason", "r"]}
    result = cli(*args[command], "--db", str(bad), "--problems", str(root))
    assert result.exit_code == 4, result.output
    assert str(bad) in " ".join(result.stderr.split()) and "Traceback" not in result.output
    assert bad.read_bytes() == b"this is not a database" * 100


@pytest.mark.parametrize("command", ["export", "extend", "override"])
def test_help_has_an_example(command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert f"Example: grader {command}" in result.stdout


# -- grader submit with a policy ------------------------------------------------------------


def test_submit_at_a_given_time_is_late_and_says_so(db, root, tmp_path):
    path = tmp_path / "hw_pol.py"
    path.write_text(textwrap.dedent(CORRECT))
    base = ["submit", str(path), "--assignment", "hw_pol", "--db", db, "--problems", str(root), "--student", "alice",
            "--format", "json"]
    on_time = cli(*base, "--submitted-at", "2025-03-29T22:00:00Z")
    assert on_time.exit_code == 0, on_time.output
    assert "notice: submitted" not in on_time.stderr
    late = cli(*base, "--submitted-at", "2025-03-31T00:30:00+02:00")  # 23.5 h after due: day 2 (DST)
    assert late.exit_code == 0, late.output
    assert "notice: submitted 2 day(s) after the due date 2025-03-29 23:59+01:00" in " ".join(late.stderr.split())
    json.loads(late.stdout)  # stdout stays pure JSON
    for _ in range(2):  # numbered by submission time: these are the 3rd and 4th
        extra = cli(*base, "--submitted-at", "2025-04-01T10:00:00Z")
    assert "submission 4, past the limit of 3" in " ".join(extra.stderr.split())
    rows = export_csv(db, root)
    assert rows[0]["submission_id"] == "1" and rows[0]["total"] == "40" and rows[0]["submissions"] == "4"
    naive = cli(*base, "--submitted-at", "2025-03-29T20:00:00")
    assert naive.exit_code == 2 and "has no UTC offset" in naive.stderr
