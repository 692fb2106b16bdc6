"""`grader worker`: grade pending submissions of a shared gradebook (PostgreSQL), on as
many machines as you like.

The queue is the `submissions` table itself: a pending submission is work.
A worker claims the oldest pending one that no live lease holds with
``SELECT ... FOR UPDATE SKIP LOCKED`` (Store.claim) and writes a lease token
and an expiry on it, in one transaction. While grading, a heartbeat thread
renews the lease (every third of its length). A worker that dies (kill -9,
a lost machine) stops renewing: its lease expires and the next claim takes
the submission over. The result is written in one transaction that first
locks the submission's row and checks that this worker's token still holds
it (Store.record_run(..., lease=token)), so a worker whose lease expired and
was taken over cannot overwrite the new holder's result: each submission
ends with exactly one current run from this queue.

Lease times are taken from the workers' clocks: keep them in sync (NTP). A
skewed clock can only make a submission be graded twice, never stored twice.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from grader.batch.run import Stop
from grader.errors import GraderError, UnsafeError, UsageError
from grader.report import Report

DEFAULT_LEASE_S = 120.0


@dataclass
class Done:
    submission_id: int
    student: str
    assignment: str
    report: Report | None
    error: str = ""
    lost: bool = False  # the lease was lost: another worker owns the result


def lease_token() -> str:
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{secrets.token_hex(6)}"


class _Heartbeat:
    def __init__(self, store, sid: int, token: str, lease_s: float) -> None:
        self.store, self.sid, self.token, self.lease_s = store, sid, token, lease_s
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"lease-{sid}")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                if not self.store.renew(self.sid, self.token, self.lease_s):
                    self.lost = True
                    return
            except GraderError:
                pass  # the database is unreachable for a moment: try again next beat

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_worker(*, db_url: str | None, problems_root: Path | None = None, lease_s: float = DEFAULT_LEASE_S,
               poll_s: float = 2.0, exit_when_empty: bool = False, assignments: list[str] | None = None,
               seed: int | None = None, launcher=None, stop: Stop | None = None,
               on_done: Callable[[Done], None] | None = None) -> int:
    """Claim and grade pending submissions until stopped (or, with `exit_when_empty`,
    until nothing is pending, leased ones included). Returns how many it graded."""
    from grader.packs import load_pack, problems_root as find_root
    from grader.pipeline import Submission, grade, make_plan
    from grader.sandbox import default_launcher, require_layers
    from grader.store import LeaseLost, open_store

    if lease_s < 1:
        raise UsageError(f"--lease {lease_s:g} is too short; give at least 1 second (default {DEFAULT_LEASE_S:g})")
    launcher = launcher or default_launcher()
    require_layers(launcher)
    root = find_root(problems_root)
    stop = stop or Stop()
    plans: dict[str, object] = {}
    graded = 0
    with open_store(db_url) as store:
        while not stop.stopping.is_set():
            token = lease_token()
            sid = store.claim(token, lease_s, assignments=assignments)
            if sid is None:
                if exit_when_empty and store.queue_counts(assignments)["pending"] == 0:
                    break
                stop.stopping.wait(poll_s)
                continue
            beat = _Heartbeat(store, sid, token, lease_s)
            student = assignment = ""
            try:
                filename, content, student, assignment = store.submission_content(sid)
                if assignment not in plans:
                    plans[assignment] = make_plan(load_pack(assignment, root), seed=seed)
                plan = plans[assignment]
                started_at = datetime.now(timezone.utc)
                with tempfile.TemporaryDirectory(prefix="grader-worker-") as tmp:
                    path = Path(tmp) / Path(filename).name
                    path.write_bytes(content)
                    report = grade(Submission(path, content, hashlib.sha256(content).hexdigest()), plan.pack,
                                   student=student, launcher=launcher, plan=plan)
                beat.stop()
                store.record_run(sid, report, started_at=started_at, lease=token)
                graded += 1
                done = Done(sid, student, assignment, report)
            except LeaseLost as exc:
                done = Done(sid, student, assignment, None, str(exc), lost=True)
            except UnsafeError:
                beat.stop()
                store.release(sid, token)
                raise
            except GraderError as exc:
                beat.stop()
                try:
                    store.record_error(sid, str(exc), lease=token)
                    done = Done(sid, student, assignment, None, str(exc))
                except LeaseLost as lost:
                    done = Done(sid, student, assignment, None, str(lost), lost=True)
            except BaseException:
                beat.stop()
                try:
                    store.release(sid, token)  # Ctrl-C or a bug: back to the queue at once
                except GraderError:
                    pass
                raise
            finally:
                beat.stop()
            if on_done is not None:
                on_done(done)
    return graded
