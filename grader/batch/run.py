"""Grade a roster: in parallel, one sandbox per submission, resumable.

Threads in the grader process each drive their own sandbox child (the
student code runs in the children); they share one grading plan (cases,
reference outputs, finite-difference oracles), whose memo dicts are filled
deterministically, so a race only computes a value twice.

Before anything runs, every submission to grade is recorded as pending in one
transaction. A submission already graded with the same content, spec version
and seed is skipped (`regrade=True` grades it again: a new run of the same
submission, never a new submission). A pending or failed one is graded again
under its existing id. So an interrupted batch (Ctrl-C, kill -9) resumes
where it stopped, and `grader regrade --pending` can finish it too.

Stopping: `Stop.request()` (the first Ctrl-C) dispatches nothing more and lets
the submissions in progress finish (each within its own time budget); a second
request abandons them, leaving them pending.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal

from grader.batch.discover import Entry, Issue, Roster
from grader.errors import GraderError, UnsafeError
from grader.report import Report

OutcomeStatus = Literal["graded", "skipped", "error", "pending"]


@dataclass
class Outcome:
    entry: Entry
    submission_id: int
    status: OutcomeStatus
    report: Report | None = None
    error: str = ""
    seconds: float = 0.0  # wall-clock time spent grading it in this batch


@dataclass
class BatchResult:
    assignment: str
    outcomes: list[Outcome]
    issues: list[Issue]
    workers: int
    wall_s: float = 0.0
    interrupted: bool = False
    problems: list[tuple[str, float]] = field(default_factory=list)  # (id, points) of the plan

    def count(self, status: OutcomeStatus) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        """Submissions whose grading failed, or that timed out or crashed somewhere."""
        return [o for o in self.outcomes if o.status == "error" or (o.report is not None and _troubled(o.report))]


def _troubled(report: Report) -> bool:
    return any(p.status in ("timeout", "error") for p in report.problems)


class Stop:
    """Ctrl-C for a batch: first `request()` stops dispatching, the second abandons."""

    def __init__(self) -> None:
        self.requests = 0
        self.stopping = threading.Event()
        self.abandon = threading.Event()

    def request(self) -> None:
        self.requests += 1
        self.stopping.set()
        if self.requests > 1:
            self.abandon.set()


def default_workers() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _needs_grading(state, spec_version: str, seed: int, problems: set[str], regrade: bool) -> bool:
    if state is None or regrade or state.status != "graded":
        return True
    return state.spec_version != spec_version or state.seed != seed or not problems <= state.problems


def prepare(store, roster: Roster, pack, plan, *, regrade: bool, source: str = "batch"
            ) -> tuple[list[tuple[Entry, int]], list[tuple[Entry, int]]]:
    """Record what must be graded as pending (one transaction) and return
    ([(entry, id) to grade], [(entry, id) already graded, skipped])."""
    from grader.store import NewSubmission

    spec = pack.spec
    planned = {p.id for p, _, _ in plan.problems}
    states = store.batch_state(spec.id)
    todo: list[tuple[Entry, int | None]] = []
    skipped: list[tuple[Entry, int]] = []
    for entry in roster.entries:
        state = states.get((entry.student, entry.sha256))
        if _needs_grading(state, spec.version, plan.seed, planned, regrade):
            todo.append((entry, state.submission_id if state is not None else None))
        else:
            skipped.append((entry, state.submission_id))
    new = [e for e, sid in todo if sid is None]
    ids = iter(store.record_submissions(
        [NewSubmission(e.student, e.path.name, e.content, e.submitted_at) for e in new],
        assignment=spec.id, spec_version=spec.version, spec_sha256=pack.spec_sha256, source=source) if new else [])
    resolved = [(e, sid if sid is not None else next(ids)) for e, sid in todo]
    return resolved, skipped


def run_batch(roster: Roster, *, assignment: str, problems_root: Path | None = None, db_url: str | None = None,
              workers: int | None = None, regrade: bool = False, seed: int | None = None,
              only: list[str] | None = None, launcher=None, stop: Stop | None = None,
              on_start: Callable[[int, int], None] | None = None,
              on_done: Callable[[Outcome], None] | None = None) -> BatchResult:
    """Grade every entry of `roster` that needs it and store the results.

    `on_start(to_grade, skipped)` is called once the work is known; `on_done` for
    each finished submission (from worker threads). Refuses (UnsafeError, exit 3)
    where filesystem confinement or the syscall filter is missing."""
    from grader.packs import load_pack, problems_root as find_root
    from grader.pipeline import Submission, grade, make_plan
    from grader.sandbox import default_launcher, require_layers
    from grader.store import open_store

    launcher = launcher or default_launcher()
    require_layers(launcher)  # instructor grading never runs other people's code unconfined
    pack = load_pack(assignment, find_root(problems_root))
    plan = make_plan(pack, seed=seed, only=only)
    workers = max(1, workers or default_workers())
    stop = stop or Stop()
    started = time.monotonic()
    store = open_store(db_url)
    result = BatchResult(pack.spec.id, [], list(roster.issues), workers,
                         problems=[(p.id, float(p.points)) for p, _, _ in plan.problems])
    try:
        todo, skipped = prepare(store, roster, pack, plan, regrade=regrade)
        for entry, sid in skipped:
            result.outcomes.append(Outcome(entry, sid, "skipped", report=_stored_report(store, sid)))
        if on_start is not None:
            on_start(len(todo), len(skipped))
        lock = threading.Lock()
        queue = list(reversed(todo))
        running: dict[int, Outcome] = {}
        fatal: list[BaseException] = []

        def take() -> tuple[Entry, int] | None:
            with lock:
                if stop.stopping.is_set() or fatal or not queue:
                    return None
                return queue.pop()

        def work() -> None:
            while (job := take()) is not None:
                entry, sid = job
                outcome = Outcome(entry, sid, "pending")
                with lock:
                    running[sid] = outcome
                t0 = time.monotonic()
                started_at = datetime.now(timezone.utc)
                try:
                    report = grade(Submission(entry.path, entry.content, entry.sha256), pack,
                                   student=entry.student, launcher=launcher, plan=plan)
                    if stop.abandon.is_set():
                        return  # abandoned: it stays pending
                    store.record_run(sid, report, started_at=started_at)
                    outcome.status, outcome.report = "graded", report
                except UnsafeError as exc:  # the machine, not the submission: stop everything
                    with lock:
                        fatal.append(exc)
                    return
                except GraderError as exc:
                    outcome.status, outcome.error = "error", str(exc)
                    _record_error(store, sid, str(exc))
                except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                    outcome.status, outcome.error = "error", f"internal error: {type(exc).__name__}: {exc}"
                    _record_error(store, sid, outcome.error)
                outcome.seconds = time.monotonic() - t0
                with lock:
                    running.pop(sid, None)
                    result.outcomes.append(outcome)
                if on_done is not None:
                    on_done(outcome)

        threads = [threading.Thread(target=work, name=f"grader-batch-{i}", daemon=True)
                   for i in range(min(workers, max(1, len(todo))))]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            if stop.abandon.wait(0.1):
                break
        if fatal:
            raise fatal[0]
        result.interrupted = stop.stopping.is_set() and (bool(queue) or bool(running))
        with lock:
            for entry, sid in reversed(queue):
                result.outcomes.append(Outcome(entry, sid, "pending"))
            for outcome in running.values():
                result.outcomes.append(outcome)
    finally:
        if not stop.abandon.is_set():
            store.close()  # abandoned threads may still write their result; the process ends soon
    result.wall_s = time.monotonic() - started
    order = {id(e): i for i, e in enumerate(roster.entries)}
    result.outcomes.sort(key=lambda o: order.get(id(o.entry), 0))
    return result


def _record_error(store, sid: int, message: str) -> None:
    try:
        store.record_error(sid, message)
    except GraderError:
        pass  # the database failing too: the submission stays pending, which a rerun completes


def _stored_report(store, sid: int) -> Report | None:
    try:
        return store.get_report(sid)
    except GraderError:
        return None


def enqueue(roster: Roster, *, assignment: str, problems_root: Path | None = None, db_url: str | None = None,
            regrade: bool = False, seed: int | None = None) -> tuple[list[tuple[Entry, int]], list[tuple[Entry, int]]]:
    """Put the roster in the work queue of `grader worker` (pending rows), grading nothing here.
    Returns (queued, already graded and skipped)."""
    from grader.packs import load_pack, problems_root as find_root
    from grader.pipeline import make_plan
    from grader.store import open_store

    pack = load_pack(assignment, find_root(problems_root))
    plan = make_plan(pack, seed=seed)
    with open_store(db_url) as store:
        todo, skipped = prepare(store, roster, pack, plan, regrade=regrade)
        store.requeue([sid for _, sid in todo])
    return todo, skipped


def enqueue_file(path: Path, *, assignment: str | None, student: str, db_url: str | None,
                 problems_root: Path | None = None, submitted_at: datetime | None = None) -> int:
    """`grader submit --enqueue`: record one file as pending for `grader worker`, grading nothing here."""
    from grader.packs import list_assignments, load_pack, problems_root as find_root
    from grader.pipeline import assignment_from_filename, read_submission
    from grader.store import open_store

    submission = read_submission(Path(path))
    root = find_root(problems_root)
    pack = load_pack(assignment or assignment_from_filename(Path(path), list_assignments(root)), root)
    with open_store(db_url) as store:
        return store.record_submission(student=student, assignment=pack.spec.id, spec_version=pack.spec.version,
                                       spec_sha256=pack.spec_sha256, filename=submission.filename,
                                       content=submission.content, submitted_at=submitted_at)
