"""`grader worker`: a work queue on the gradebook. Leases taken with SELECT ... FOR UPDATE
SKIP LOCKED return to the queue when they expire; a worker whose lease was taken over
cannot overwrite the new holder's result. Three worker processes against the real
PostgreSQL server, one killed with SIGKILL mid-grading: nothing lost, exactly one result
per submission.

PostgreSQL comes from $GRADER_TEST_POSTGRES_URL (.ci/run starts one); without it those
tests skip, except under CI=true, where they fail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from grader.cli import app
from grader.report import Report
from grader.store import LeaseLost, NewSubmission, open_store
from grader.store.engine import create_store_engine, normalize_url

ENV = "GRADER_TEST_POSTGRES_URL"
REPO = Path(__file__).resolve().parents[1]
PACKS = REPO / "tests" / "packs"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
SLOW_CUBE = ("import time\nimport numpy as np\n\ndef cube(x):\n    time.sleep(0.25)\n"
             "    x = np.asarray(x, dtype=float)\n    return float(np.sum(x ** 3)), 3 * x ** 2\n")


def server_url() -> str:
    url = os.environ.get(ENV, "").strip()
    if not url:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{ENV} is not set but CI=true: .ci/run must start PostgreSQL; these tests may not skip in CI")
        pytest.skip(f"{ENV} is not set: no PostgreSQL server to test against")
    return normalize_url(url)


@pytest.fixture
def pg_url():
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


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'q.db'}"
    return request.getfixturevalue("pg_url")


def query(url: str, sql: str) -> list[tuple]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()


def report() -> Report:
    return Report(assignment="hw_tiny", student="s", submission_sha256="0" * 64, score=1.0, max_score=1.0,
                  problems=[])


def record(url: str, n: int) -> list[int]:
    with open_store(url) as store:
        return store.record_submissions(
            [NewSubmission(f"s{i}", "hw_tiny.py", f"x = {i}\n".encode(), T0) for i in range(n)],
            assignment="hw_tiny", spec_version="1", spec_sha256="0" * 64, source="batch")


def test_an_expired_lease_returns_to_the_queue_and_cannot_overwrite(any_url):
    first, second = record(any_url, 2)
    with open_store(any_url) as store:
        assert store.claim("A", 0.3) == first
        assert store.claim("B", 60) == second  # first is held by a live lease
        assert store.claim("C", 60) is None
        assert store.queue_counts() == {"pending": 2, "leased": 2}
        time.sleep(0.5)
        assert store.claim("C", 60) == first  # A's lease expired: back in the queue, C takes it over
        assert not store.renew(first, "A", 60)
        with pytest.raises(LeaseLost):
            store.record_run(first, report(), started_at=T0, lease="A")
        with pytest.raises(LeaseLost):
            store.record_error(first, "late news", lease="A")
        store.record_run(first, report(), started_at=T0, lease="C")
        with pytest.raises(LeaseLost):  # graded now: not even the holder writes twice
            store.record_run(first, report(), started_at=T0, lease="C")
        assert store.renew(second, "B", 60)
        store.release(second, "B")
        assert store.claim("D", 60) == second
        assert store.queue_counts() == {"pending": 1, "leased": 1}
    assert query(any_url, f"SELECT count(*) FROM grading_runs WHERE submission_id = {first}") == [(1,)]
    assert query(any_url, f"SELECT status, leased_by FROM submissions WHERE id = {first}") == [("graded", None)]


def test_concurrent_claims_never_take_the_same_submission(pg_url):
    ids = record(pg_url, 24)
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        with open_store(pg_url) as store:
            while (sid := store.claim(f"{name}:{uuid.uuid4().hex}", 60)) is not None:
                with lock:
                    claimed.append(sid)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(claimed) == sorted(ids)  # every one claimed, none twice


def make_class(root: Path, n: int) -> Path:
    root.mkdir()
    for i in range(n):
        (root / f"s{i:02d}.py").write_text(SLOW_CUBE + f"# {i}\n")
    return root


def worker_argv(url: str, lease: float = 3.0) -> list[str]:
    return [sys.executable, "-m", "grader", "worker", "--db", url, "--problems", str(PACKS), "--lease", str(lease),
            "--poll", "0.2", "--exit-when-empty"]


def enqueue(cls: Path, url: str) -> None:
    result = CliRunner().invoke(app, ["batch", str(cls), "--assignment", "hw_tiny", "--problems", str(PACKS),
                                      "--db", url, "--enqueue"])
    assert result.exit_code == 0, result.output
    assert "queued" in result.stdout


def test_a_worker_drains_the_queue_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    enqueue(make_class(tmp_path / "class", 3), url)
    single = tmp_path / "hw_tiny.py"
    single.write_text(SLOW_CUBE)
    queued = CliRunner().invoke(app, ["submit", str(single), "--problems", str(PACKS), "--db", url, "--enqueue",
                                      "--student", "zoe"])
    assert queued.exit_code == 0 and "queued submission 4" in queued.stdout, queued.output
    done = subprocess.run(worker_argv(url), capture_output=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert b"graded 4 submission(s)" in done.stdout
    assert query(url, "SELECT status, count(*) FROM submissions GROUP BY status") == [("graded", 4)]
    assert query(url, "SELECT source FROM submissions s JOIN students st ON st.id = s.student_id "
                      "WHERE st.name = 'zoe'") == [("local",)]


def test_worker_refuses_without_filesystem_confinement(tmp_path):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    env = dict(os.environ, GRADER_SANDBOX="process")
    done = subprocess.run(worker_argv(url), capture_output=True, timeout=60, env=env)
    assert done.returncode == 3, done.stderr.decode()
    assert b"filesystem" in done.stderr


@pytest.mark.slow
def test_three_workers_one_killed_nothing_lost_one_result_each(tmp_path, pg_url):
    n = 9
    enqueue(make_class(tmp_path / "class", n), pg_url)
    assert query(pg_url, "SELECT count(*) FROM submissions WHERE status = 'pending'") == [(n,)]
    workers = [subprocess.Popen(worker_argv(pg_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
               for _ in range(3)]
    victim = workers[0]
    try:
        held = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not held:
            held = query(pg_url, f"SELECT id FROM submissions WHERE status = 'pending' AND leased_by LIKE "
                                 f"'%:{victim.pid}:%'")
            time.sleep(0.05)
        assert held, "the worker to kill never held a lease"
        time.sleep(0.3)  # mid-grading
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        for w in workers[1:]:
            out, err = w.communicate(timeout=240)
            assert w.returncode == 0, err.decode()
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    assert query(pg_url, "SELECT status, count(*) FROM submissions GROUP BY status") == [("graded", n)]
    per = query(pg_url, "SELECT s.id, count(r.id) FROM submissions s LEFT JOIN grading_runs r "
                        "ON r.submission_id = s.id GROUP BY s.id")
    assert sorted(c for _, c in per) == [1] * n  # exactly one result per submission, none lost
    assert query(pg_url, "SELECT count(*) FROM submissions WHERE leased_by IS NOT NULL") == [(0,)]
    assert query(pg_url, "SELECT count(*) FROM submissions s JOIN grading_runs r ON r.id = s.current_run_id "
                         "WHERE r.score = 10") == [(n,)]
    taken_over = held[0][0]
    assert query(pg_url, f"SELECT count(*) FROM grading_runs WHERE submission_id = {taken_over}") == [(1,)]


def test_the_heartbeat_keeps_a_grading_longer_than_its_lease(tmp_path):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    cls = tmp_path / "class"
    cls.mkdir()
    for i in range(2):  # ~3 s of grading each, against a 1.5 s lease renewed every 0.5 s
        (cls / f"s{i}.py").write_text(SLOW_CUBE.replace("0.25", "0.6") + f"# {i}\n")
    enqueue(cls, url)
    argv = worker_argv(url, lease=1.5)
    workers = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path) for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    assert not any(b"lease lost" in out for out, _ in outputs)
    per = query(url, "SELECT s.id, count(r.id) FROM submissions s LEFT JOIN grading_runs r "
                     "ON r.submission_id = s.id GROUP BY s.id")
    assert sorted(c for _, c in per) == [1, 1]
