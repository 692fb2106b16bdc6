"""The Store against real SQLite files: what goes in comes back out."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from grader.errors import StoreError
from grader.report import CheckResult, ProblemResult, Report
from grader.store import HistoryRow, Store, open_store

SPEC = {"assignment": "hw1", "spec_version": "1.0", "spec_sha256": "ab" * 32}
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def make_report(content: bytes = b"def f(): pass\n", score: float = 1.5) -> Report:
    return Report(
        assignment="hw1",
        student="alice",
        submission_sha256=hashlib.sha256(content).hexdigest(),
        score=score,
        max_score=3.0,
        problems=[
            ProblemResult(
                id="linear_backward",
                score=score,
                max_score=2.0,
                status="failed",
                line=7,
                checks=[
                    CheckResult(name="shape", passed=True, score=1.0, max_score=1.0),
                    CheckResult(
                        name="dW matches finite differences",
                        passed=False,
                        score=0.0,
                        max_score=1.0,
                        message="dW differs by 0.5 at [0, 1]",
                        hint="You forgot to transpose X.",
                        case="batch=3",
                    ),
                ],
            ),
            ProblemResult(id="relu_backward", score=0.0, max_score=1.0, status="missing", checks=[]),
        ],
        grader_version="0.1.0",
        spec_version="1.0",
        seed=2**40 + 3,
        sandbox=["rlimit", "namespaces"],
        output="héllo\n",
        duration_s=0.25,
        filename="hw1.py",
    )


@pytest.fixture
def db(tmp_path):
    return tmp_path / "grader.db"


@pytest.fixture
def store(db):
    s = open_store(str(db))
    yield s
    s.close()


def submit(store: Store, student="alice", content=b"def f(): pass\n", **kw) -> int:
    args = dict(SPEC, student=student, filename="hw1.py", content=content)
    args.update(kw)
    return store.record_submission(**args)


def count(db, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_report_round_trip(store, db):
    sid = submit(store)
    report = make_report()
    run_id = store.record_run(sid, report, started_at=T0)
    assert run_id > 0
    assert store.get_report(sid) == report
    (row,) = store.history()
    assert (row.status, row.score, row.max_score) == ("graded", 1.5, 3.0)
    assert count(db, "problem_results") == 2
    assert count(db, "check_results") == 2
    with sqlite3.connect(db) as conn:
        hint, passed = conn.execute(
            "SELECT hint, passed FROM check_results WHERE name LIKE 'dW%'"
        ).fetchone()
        assert (hint, passed) == ("You forgot to transpose X.", 0)
        assert conn.execute("SELECT sandbox, status FROM grading_runs").fetchone() == (
            '["rlimit", "namespaces"]',
            "failed",
        )


def test_store_survives_reopening(db):
    with open_store(str(db)) as s:
        sid = submit(s)
        s.record_run(sid, make_report(), started_at=T0)
    with open_store(f"sqlite:///{db}") as s:
        assert s.get_report(sid) == make_report()


def test_regrade_keeps_old_runs_and_shows_latest(store, db):
    sid = submit(store)
    store.record_run(sid, make_report(score=1.0), started_at=T0)
    store.record_run(sid, make_report(score=2.0), started_at=T0 + timedelta(minutes=1))
    assert store.get_report(sid).score == 2.0
    assert count(db, "grading_runs") == 2
    assert store.history()[0].score == 2.0


def test_resubmission_shares_the_blob(store, db):
    first = submit(store, submitted_at=T0)
    second = submit(store, submitted_at=T0 + timedelta(hours=1))
    assert first != second
    assert count(db, "submissions") == 2
    assert count(db, "blobs") == 1
    rows = store.history(student="alice")
    assert [r.submission_id for r in rows] == [first, second]
    assert rows[0].sha256_prefix == rows[1].sha256_prefix


def test_two_students_identical_files_share_one_blob(store, db):
    a = submit(store, student="alice")
    b = submit(store, student="bob")
    assert a != b
    assert count(db, "blobs") == 1
    assert count(db, "students") == 2
    assert [r.student for r in store.history(student="bob")] == ["bob"]
    assert store.submission_content(b) == ("hw1.py", b"def f(): pass\n", "bob", "hw1")


def test_different_content_is_a_different_blob(store, db):
    submit(store, content=b"a")
    submit(store, content=b"b")
    assert count(db, "blobs") == 2


def test_pending_until_graded(store):
    sid = submit(store, source="batch")
    assert store.pending_submissions() == [sid]
    (row,) = store.history()
    assert isinstance(row, HistoryRow)
    assert (row.status, row.score, row.max_score) == ("pending", None, None)
    with pytest.raises(StoreError, match="no report yet"):
        store.get_report(sid)
    store.record_run(sid, make_report(), started_at=T0)
    assert store.pending_submissions() == []


def test_record_error(store):
    sid = submit(store)
    store.record_error(sid, "sandbox crashed")
    assert store.history()[0].status == "error"
    assert store.pending_submissions() == []


def test_unknown_submission(store):
    with pytest.raises(StoreError, match="no submission with id 42"):
        store.get_report(42)
    with pytest.raises(StoreError, match="no submission with id 42"):
        store.record_run(42, make_report(), started_at=T0)
    with pytest.raises(StoreError, match="no submission with id 42"):
        store.record_error(42, "x")
    with pytest.raises(StoreError, match="no submission with id 42"):
        store.submission_content(42)


def test_history_filters_and_order(store):
    submit(store, student="bob", submitted_at=T0 + timedelta(days=1))
    submit(store, student="alice", submitted_at=T0)
    submit(store, student="alice", assignment="hw2", submitted_at=T0 + timedelta(days=2))
    assert [(r.student, r.assignment) for r in store.history()] == [
        ("alice", "hw1"),
        ("bob", "hw1"),
        ("alice", "hw2"),
    ]
    assert len(store.history(assignment="hw1")) == 2
    assert len(store.history(student="alice", assignment="hw2")) == 1
    assert store.history(student="nobody") == []


def test_times_are_utc_aware(store):
    tokyo = timezone(timedelta(hours=9))
    submit(store, submitted_at=datetime(2025, 3, 1, 21, 0, tzinfo=tokyo))
    (row,) = store.history()
    assert row.submitted_at == T0
    assert row.submitted_at.tzinfo == timezone.utc
    with pytest.raises(ValueError, match="time-zone aware"):
        submit(store, submitted_at=datetime(2025, 3, 1))


def test_same_assignment_name_new_spec_is_a_new_assignment_row(store, db):
    submit(store)
    submit(store, spec_sha256="cd" * 32, spec_version="1.1")
    assert count(db, "assignments") == 2
    assert len(store.history(assignment="hw1")) == 2


def test_bad_source_rejected(store):
    with pytest.raises(ValueError, match="source"):
        submit(store, source="email")
