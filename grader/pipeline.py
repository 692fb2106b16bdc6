"""Grade one submission: the only place that connects the sandbox, the checks,
the assignment packs and the store, none of which know each other.

The child process starts first, so that it imports numpy while the parent
loads the pack and draws the cases; the store (SQLAlchemy, and alembic only
when a migration is due) is opened on a background thread meanwhile.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from grader import __version__
from grader.errors import GraderError, UsageError
from grader.report import ProblemResult, Report

MAX_SUBMISSION_BYTES = 1 << 20


@dataclass(frozen=True)
class Submission:
    path: Path
    content: bytes
    sha256: str

    @property
    def filename(self) -> str:
        return self.path.name


def read_submission(path: Path) -> Submission:
    """Read and vet a submission file; every failure is a one-line UsageError."""
    if not path.exists():
        raise UsageError(f"{path}: no such file; give the path of your .py file")
    if not path.is_file():
        raise UsageError(f"{path}: not a regular file; give the path of your .py file")
    try:
        size = path.stat().st_size
        if size > MAX_SUBMISSION_BYTES:
            raise UsageError(f"{path}: {size} bytes is too large for a submission (limit {MAX_SUBMISSION_BYTES})")
        content = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from None
    if path.suffix == ".ipynb" or content.lstrip().startswith(b"{") and b'"nbformat"' in content:
        raise UsageError(f"{path}: is a Jupyter notebook; export it as a Python file "
                         "(File > Download as > Python (.py)) and submit that")
    if b"\0" in content:
        raise UsageError(f"{path}: is not a text file; submit Python source")
    try:
        content.decode(_source_encoding(content))
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        where = f" (byte {exc.start})" if isinstance(exc, UnicodeDecodeError) else ""
        raise UsageError(f"{path}: is not UTF-8 text{where}; save it as UTF-8") from None
    return Submission(path.resolve(), content, hashlib.sha256(content).hexdigest())


def _source_encoding(content: bytes) -> str:
    """UTF-8, or what a PEP 263 coding line declares (as Python itself reads it)."""
    import io
    import tokenize

    return tokenize.detect_encoding(io.BytesIO(content).readline)[0]


def assignment_from_filename(path: Path, known: list[str]) -> str:
    """hw2.py -> hw2; otherwise the one known assignment named in the file name
    (alice_hw2.py, hw2-final.py -> hw2); otherwise the bare stem."""
    import re

    stem = path.stem
    if stem in known:
        return stem
    tokens = set(re.split(r"[^A-Za-z0-9]+", stem.lower()))
    named = [a for a in known if a.lower() in tokens]
    return named[0] if len(named) == 1 else stem


class _Background:
    """Runs `fn` on a thread; `result()` re-raises its GraderError."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def start_sandbox(submission: Submission, launcher=None):
    """Start a submission's child process now, so that it imports numpy while
    the parent loads the assignment; `grade()` takes it over."""
    from grader.sandbox import Sandbox, default_launcher

    sandbox = Sandbox(submission.path.resolve(), filename=submission.filename, launcher=launcher or default_launcher(),
                      call_timeout=5.0, total_timeout=60.0)
    sandbox.start()
    return sandbox


@dataclass
class Plan:
    """What grading an assignment with one seed needs, built once and shared
    by every submission graded with it: the drawn cases, the reference's
    outputs and the finite-difference oracles (memoised in each grader)."""

    pack: Any
    seed: int
    problems: list  # [(ProblemSpec, ProblemGrader, [Case])]


def make_plan(pack, *, seed: int | None = None, only: list[str] | None = None) -> Plan:
    from grader.cases import draw_cases
    from grader.evaluate import ProblemGrader

    spec = pack.spec
    problems = spec.problems
    if only:
        unknown = [p for p in only if p not in {q.id for q in problems}]
        if unknown:
            raise UsageError(f"unknown problem {unknown[0]!r} in {spec.id}; known: "
                             f"{', '.join(p.id for p in problems)}")
        problems = [p for p in problems if p.id in only]
    seed = spec.default_seed if seed is None else seed
    return Plan(pack, seed, [(p, ProblemGrader(p, pack.function, seed), draw_cases(p, seed, pack.function))
                             for p in problems])


def grade(submission: Submission, pack, *, student: str, seed: int | None = None, only: list[str] | None = None,
          launcher=None, on_problem: Callable[[ProblemResult], None] | None = None, sandbox=None,
          plan: Plan | None = None) -> Report:
    """Grade `submission` against `pack` in a fresh sandbox (or the one
    `start_sandbox` began) and return the report. Pass a `plan` to reuse the
    cases and oracles of earlier submissions."""
    from grader.sandbox import Sandbox, default_launcher

    spec = pack.spec
    plan = plan or make_plan(pack, seed=seed, only=only)
    seed = plan.seed
    started = time.monotonic()
    if sandbox is None:
        sandbox = Sandbox(submission.path.resolve(), filename=submission.filename, launcher=launcher or default_launcher(),
                          call_timeout=spec.call_timeout, total_timeout=spec.total_timeout)
    else:
        sandbox.set_timeouts(call_timeout=spec.call_timeout, total_timeout=spec.total_timeout)
    results: list[ProblemResult] = []
    with sandbox:
        sandbox.start()
        first_load = sandbox.load()  # an import that fails once fails for every problem
        for problem, grader, cases in plan.problems:
            loaded = first_load if first_load.status != "ok" else sandbox.load()
            if loaded.status != "ok":
                result = _unloadable(grader, cases, loaded)
            else:
                result = _grade_problem(grader, problem, cases, sandbox, loaded.functions.get(problem.function),
                                        defined=list(loaded.functions))
            results.append(result)
            if on_problem is not None:
                on_problem(result)
        output = sandbox.output()
        layers = sandbox.layers
    return Report(
        assignment=spec.id, student=student, submission_sha256=submission.sha256,
        score=round(sum(r.score for r in results), 4), max_score=float(sum(r.max_score for r in results)),
        problems=results, grader_version=__version__, spec_version=spec.version, seed=seed, sandbox=layers,
        output=output, duration_s=round(time.monotonic() - started, 3), filename=submission.filename,
    )


def _grade_problem(grader, problem, cases, sandbox, info, defined: list[str] = ()) -> ProblemResult:
    from grader.evaluate import CaseResult

    if info is None:
        return grader.score(cases, [], None, False, len(cases), defined=defined)
    results: list[CaseResult] = []
    not_attempted = False
    for index, case in enumerate(cases):
        outcome = sandbox.call(problem.function, list(case.args.values()))
        if outcome.status == "error" and outcome.error is not None and outcome.error.not_implemented:
            not_attempted = True
            break
        results.append(grader.judge(index, case, outcome))
        if outcome.status in ("timeout", "crash", "violation"):
            break
    return grader.score(cases, results, info, not_attempted, len(cases),
                        call=lambda args: sandbox.call(problem.function, args))


def _unloadable(grader, cases, loaded) -> ProblemResult:
    """Every problem of a file that cannot be imported (syntax error, exit, timeout):
    all checks fail with the import's error."""
    if loaded.error is not None:
        err = loaded.error
        where = f"line {err.line}: " if err.line else ""
        message = f"your file cannot be imported: {where}{err.type}: {err.message}"
        if err.type in ("ModuleNotFoundError", "ImportError"):
            message += " (submissions may use numpy and the Python standard library only)"
    else:
        message = f"your file cannot be imported: {loaded.detail}"
    result = grader.score(cases, [], None, False, len(cases))
    checks = [c.model_copy(update={"message": message}) for c in result.checks]
    status = "timeout" if loaded.status == "timeout" else "error"
    return result.model_copy(update={"status": status, "checks": checks})


def grade_and_store(path: Path, *, assignment: str | None, student: str, db_url: str | None, seed: int | None,
                    only: list[str] | None, problems_root: Path | None, source: str = "local",
                    launcher=None, on_problem=None, submitted_at: datetime | None = None,
                    on_notice: Callable[[str], None] | None = None) -> Report:
    """Read, grade and store one submission. The submission is recorded as
    pending before grading starts, then its run is stored (or its error).

    `submitted_at` (aware) is the time that counts for lateness: an LMS
    export's timestamp or a commit's time; default now. `on_notice` is told,
    once the submission is recorded, whether it is late or past the
    assignment's submission limit (see grader/gradebook_policy.py).
    """
    import queue

    from grader.packs import list_assignments, load_pack, problems_root as find_root

    submission = read_submission(path)
    root = find_root(problems_root)
    if submitted_at is not None and submitted_at.tzinfo is None:
        raise UsageError(f"submission time {submitted_at.isoformat()} has no time zone; give a UTC offset")
    started_at = datetime.now(timezone.utc)
    submitted_at = submitted_at or started_at
    notices: list[str] = []
    packs: queue.Queue = queue.Queue()

    def open_and_record():
        from grader.store import open_store

        store = open_store(db_url)
        try:
            pack = packs.get()
            if pack is None:
                return store, None
            sid = store.record_submission(
                student=student, assignment=pack.spec.id, spec_version=pack.spec.version,
                spec_sha256=pack.spec_sha256, filename=submission.filename, content=submission.content,
                source=source, submitted_at=submitted_at)
            if on_notice is not None:
                notices.extend(_policy_notices(store, pack, student, sid))
        except BaseException:
            store.close()
            raise
        return store, sid

    pending = _Background(open_and_record)
    sandbox = None
    try:
        sandbox = start_sandbox(submission, launcher)
        pack = load_pack(assignment or assignment_from_filename(path, list_assignments(root)), root)
        packs.put(pack)
        report = grade(submission, pack, student=student, seed=seed, only=only, launcher=launcher,
                       on_problem=on_problem, sandbox=sandbox)
    except BaseException:
        packs.put(None)
        if sandbox is not None:
            sandbox.close()
        try:
            store, sid = pending.result()
            if sid is not None:
                store.record_error(sid, "grading was interrupted")
            store.close()
        except BaseException:  # noqa: BLE001 - the original failure matters more
            pass
        raise
    store, sid = pending.result()
    try:
        store.record_run(sid, report, started_at=started_at)
    finally:
        store.close()
    for notice in notices:
        on_notice(notice)
    return report


def _policy_notices(store, pack, student: str, submission_id: int) -> list[str]:
    """Whether a just-recorded submission is late or past the limit, in words."""
    from grader.gradebook_policy import ProblemColumn, submission_notices

    policy = pack.spec.policy
    if policy.due is None and policy.max_submissions is None:
        return []
    facts = store.gradebook_facts(pack.spec.id, student=student)
    problems = [ProblemColumn(p.id, p.points) for p in pack.spec.problems]
    return submission_notices(policy, problems, facts.submissions, submission_id, facts.extensions)


__all__ = ["GraderError", "Submission", "grade", "grade_and_store", "read_submission"]


def regrade_stored(submission_ids: list[int], *, pending: bool, db_url: str | None, seed: int | None,
                   problems_root: Path | None, launcher=None,
                   on_done: Callable[[int, Report | None, str], None] | None = None) -> list[tuple[int, Report | None]]:
    """Grade stored submissions again (e.g. after a spec fix, or the pending
    ones a crash left). Old runs are kept; each new run becomes the current one."""
    import tempfile

    from grader.packs import load_pack, problems_root as find_root
    from grader.sandbox import default_launcher, require_layers
    from grader.store import open_store

    launcher = launcher or default_launcher()
    require_layers(launcher)  # instructor grading never runs other people's code unconfined
    root = find_root(problems_root)
    done: list[tuple[int, Report | None]] = []
    with open_store(db_url) as store:
        ids = list(submission_ids) + (store.pending_submissions() if pending else [])
        plans: dict[str, Plan] = {}
        for sid in dict.fromkeys(ids):
            filename, content, student, assignment = store.submission_content(sid)
            if assignment not in plans:
                plans[assignment] = make_plan(load_pack(assignment, root), seed=seed)
            with tempfile.TemporaryDirectory(prefix="grader-regrade-") as tmp:
                path = Path(tmp) / Path(filename).name
                path.write_bytes(content)
                started_at = datetime.now(timezone.utc)
                try:
                    plan = plans[assignment]
                    report = grade(Submission(path, content, hashlib.sha256(content).hexdigest()), plan.pack,
                                   student=student, launcher=launcher, plan=plan)
                except GraderError as exc:
                    store.record_error(sid, str(exc))
                    done.append((sid, None))
                    if on_done is not None:
                        on_done(sid, None, str(exc))
                    continue
                store.record_run(sid, report, started_at=started_at)
            done.append((sid, report))
            if on_done is not None:
                on_done(sid, report, "")
    return done
