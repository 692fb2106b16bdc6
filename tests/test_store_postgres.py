"""The same models and migrations on a real PostgreSQL server (psycopg 3).

The server's URL comes from $GRADER_TEST_POSTGRES_URL (`.ci/run` starts one with
`.ci/postgres start`; locally: `eval "$(.ci/postgres start)"`). Each test gets a
fresh database on it. Without the variable these tests skip, except under
CI=true, where they fail: CI must never pass without PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import StoreError
from grader.report import CheckResult, ProblemResult, Report
from grader.store import open_store
from grader.store.engine import create_store_engine, normalize_url
from grader.store.migrate import HEAD_REVISION, alembic_config
from grader.store.models import Base

ENV = "GRADER_TEST_POSTGRES_URL"
REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "submissions" / "examples" / "hw2"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
TABLES = {"students", "assignments", "blobs", "submissions", "grading_runs", "problem_results", "check_results",
          "extensions", "overrides"}


def server_url() -> str:
    url = os.environ.get(ENV, "").strip()
    if not url:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{ENV} is not set but CI=true: .ci/run must start PostgreSQL (.ci/postgres start); "
                        "the PostgreSQL tests may not be skipped in CI")
        pytest.skip(f"{ENV} is not set: no PostgreSQL server to test against "
                    '(start one with `eval "$(.ci/postgres start)"`)')
    return normalize_url(url)


@pytest.fixture
def pg_url():
    """A fresh, empty database on the test server; dropped afterwards."""
    base = server_url()
    name = f"grader_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def tables(url: str) -> set[str]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def scalar(url: str, sql: str):
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def make_report(score: float = 1.5) -> Report:
    return Report(
        assignment="hw1", student="alice", submission_sha256="0" * 64, score=score, max_score=3.0,
        problems=[ProblemResult(id="linear_backward", score=score, max_score=3.0, status="failed", checks=[
            CheckResult(name="gradient: dW", passed=False, score=0.0, max_score=1.5, message="dW is off",
                        hint="transpose X"),
            CheckResult(name="shape: dW", passed=True, score=1.5, max_score=1.5)])],
        grader_version="0.1.0", spec_version="1", seed=2**40 + 3, sandbox=["rlimit"], output="héllo\n",
        duration_s=0.25, filename="hw1.py",
    )


def fill(url: str) -> int:
    with open_store(url) as s:
        sid = s.record_submission(student="alice", assignment="hw1", spec_version="1", spec_sha256="0" * 64,
                                  filename="a.py", content=b"x = 1\n", submitted_at=T0)
        s.record_run(sid, make_report(), started_at=T0)
        s.add_extension(student="alice", assignment="hw1", due=T0, granted_by="prof", reason="ill")
        s.add_override(student="alice", assignment="hw1", problem_id=None, score=1.0, set_by="ta", reason="x")
    return sid


# -- no server needed -------------------------------------------------------------------


def test_postgres_urls_use_psycopg3():
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h:5433/db") == "postgresql+psycopg://u@h:5433/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_unreachable_server_is_a_one_line_store_error():
    url = "postgresql://grader:secret@127.0.0.1:1/nowhere?connect_timeout=3"
    with pytest.raises(StoreError) as info:
        open_store(url)
    message = str(info.value)
    assert "\n" not in message and "127.0.0.1:1" in message and "secret" not in message
    result = CliRunner().invoke(app, ["history", "--db", url])
    assert result.exit_code == 4 and "Traceback" not in result.output


# -- migrations ----------------------------------------------------------------------


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@pytest.mark.parametrize("with_data", [False, True], ids=["empty", "with-data"])
def test_every_migration_up_and_down_on_postgres(pg_url, with_data):
    config = alembic_config(url=pg_url)
    revisions = revisions_oldest_first()
    assert revisions[-1] == HEAD_REVISION
    command.upgrade(config, "head")
    if with_data:
        fill(pg_url)  # rows in every table
    for previous in reversed([None, *revisions[:-1]]):
        command.downgrade(config, previous or "base")
        if with_data and previous is not None:
            command.upgrade(config, "head")
            fill(pg_url)
            command.downgrade(config, previous)
    assert tables(pg_url) == {"alembic_version"}
    for rev in revisions:
        command.upgrade(config, rev)
        assert scalar(pg_url, "SELECT version_num FROM alembic_version") == rev
    assert TABLES <= tables(pg_url)


def test_models_match_migrations_on_postgres(pg_url):
    command.upgrade(alembic_config(url=pg_url), "head")
    engine = create_store_engine(pg_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            comments = inspect(conn).get_columns("overrides")
            assert {c["name"]: c["comment"] for c in comments}["problem_id"].startswith("Problem id")
    finally:
        engine.dispose()


def test_newer_database_is_refused_on_postgres(pg_url):
    open_store(pg_url).close()
    engine = create_store_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer grader"):
        open_store(pg_url)


# -- the store -----------------------------------------------------------------------


def test_store_round_trip_on_postgres(pg_url):
    sid = fill(pg_url)
    with open_store(pg_url) as store:
        assert store.get_report(sid) == make_report()
        again = store.record_submission(student="alice", assignment="hw1", spec_version="1", spec_sha256="0" * 64,
                                        filename="a.py", content=b"x = 1\n")  # a resubmission: one blob
        (row, row2) = store.history(student="alice")
        assert row.submitted_at == T0 and row.submitted_at.tzinfo is not None and row.score == 1.5
        assert row2.submission_id == again and row2.status == "pending"
        assert store.pending_submissions() == [again]
        facts = store.gradebook_facts("hw1")
        assert facts.submissions[0].scores == {"linear_backward": 1.5}
        assert facts.extensions[0].due == T0 and facts.overrides[0].score == 1.0
        assert store.submission_content(sid) == ("a.py", b"x = 1\n", "alice", "hw1")
        with pytest.raises(StoreError, match="no submission with id 999"):
            store.get_report(999)
    assert scalar(pg_url, "SELECT count(*) FROM blobs") == 1
    assert scalar(pg_url, "SELECT data_type FROM information_schema.columns WHERE table_name = 'submissions' "
                          "AND column_name = 'submitted_at'") == "timestamp with time zone"


WRITER = """
import sys
from grader.store import open_store

url = sys.argv[1]
store = open_store(url)
for i in range(25):
    store.record_submission(
        student=f"student{i % 5}", assignment="hw1", spec_version="1", spec_sha256="ab" * 32,
        filename="hw1.py", content=f"# file {i % 10}".encode(), source="batch",
    )
store.close()
"""


def test_four_processes_write_at_once_on_postgres(pg_url):
    # The database is empty: the four processes race to migrate it, then to create students and blobs.
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, pg_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    for code, err in results:
        assert code == 0, err
    assert scalar(pg_url, "SELECT count(*) FROM submissions") == 100
    assert scalar(pg_url, "SELECT count(*) FROM students") == 5
    assert scalar(pg_url, "SELECT count(*) FROM blobs") == 10
    assert scalar(pg_url, "SELECT count(*) FROM assignments") == 1
    assert scalar(pg_url, "SELECT version_num FROM alembic_version") == HEAD_REVISION


def test_submit_round_trip_on_postgres(pg_url):
    runner = CliRunner()
    graded = runner.invoke(app, ["submit", str(EXAMPLES / "correct_vectorized.py"), "--assignment", "hw2", "--db",
                                 pg_url, "--student", "alice", "--format", "json"])
    assert graded.exit_code == 0, graded.output
    submitted = json.loads(graded.stdout)
    listed = runner.invoke(app, ["history", "--db", pg_url, "--student", "alice"])
    assert listed.exit_code == 0 and "graded" in listed.stdout
    shown = runner.invoke(app, ["show", "1", "--db", pg_url, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == submitted
    override = runner.invoke(app, ["override", "alice", "--assignment", "hw2", "--problem", "graph", "--score", "4",
                                   "--by", "ta", "--reason", "style", "--db", pg_url])
    assert override.exit_code == 0, override.output
    exported = runner.invoke(app, ["export", "--assignment", "hw2", "--format", "json", "--db", pg_url])
    assert exported.exit_code == 0, exported.output
    (row,) = json.loads(exported.stdout)["students"]
    assert row["submission_id"] == 1 and row["scores"]["graph"] == 4
    assert row["total"] == pytest.approx(submitted["score"] - 5 + 4)
    assert datetime.fromisoformat(row["submitted_at"]) > datetime.now(timezone.utc) - timedelta(minutes=10)
