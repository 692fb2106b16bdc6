"""The Store: submissions, grading runs and their results, read and written.

Every write method is one transaction (``BEGIN IMMEDIATE`` on SQLite, see
engine.py). Database failures become `StoreError` with a one-line message
naming the database; misuse (a naive datetime, an unknown source) is a
ValueError.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader.errors import StoreError, UsageError
from grader.gradebook_policy import ExtensionFact, OverrideFact, SubmissionFact
from grader.report import Report
from grader.store.engine import READONLY, describe, display_url
from grader.store.models import (
    SUBMISSION_SOURCES,
    Assignment,
    Blob,
    CheckResultRow,
    Extension,
    GradingRun,
    Override,
    ProblemResultRow,
    Student,
    Submission,
)

T = TypeVar("T")
SHA_PREFIX = 12
_RETRIES = 5  # get-or-create races (PostgreSQL) surface as IntegrityError; retry


@dataclass(frozen=True)
class HistoryRow:
    """One submission as listed by `Store.history`; scores are None until graded."""

    submission_id: int
    student: str
    assignment: str
    filename: str
    submitted_at: datetime
    status: str
    score: float | None
    max_score: float | None
    sha256_prefix: str


@dataclass(frozen=True)
class NewSubmission:
    """One file to record with `Store.record_submissions`."""

    student: str
    filename: str
    content: bytes
    submitted_at: datetime | None = None  # aware; default now


@dataclass(frozen=True)
class StoredState:
    """The latest stored submission of one student with one content (`Store.batch_state`)."""

    submission_id: int
    status: str
    spec_version: str | None  # of the current run; None until graded
    seed: int | None
    problems: frozenset[str]


class LeaseLost(StoreError):
    """A worker's lease on a submission expired and another worker took it over."""


@dataclass(frozen=True)
class GradebookFacts:
    """What the gradebook of one assignment is computed from (grader/gradebook_policy.py)."""

    submissions: list[SubmissionFact]
    extensions: list[ExtensionFact]
    overrides: list[OverrideFact]


def _utc(value: datetime | None, what: str) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    if value.tzinfo is None:
        raise ValueError(f"{what} must be time-zone aware, got naive {value!r}")
    return value.astimezone(timezone.utc)


class Store:
    """The grader's database. Make one with `grader.store.open_store`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.url = url
        self._engine = engine
        self._writer = sessionmaker(engine, expire_on_commit=False)
        self._reader = sessionmaker(engine.execution_options(**{READONLY: True}))

    # -- plumbing -------------------------------------------------------------

    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(
                f"database {display_url(self.url)} failed while {doing}: {describe(exc)}; "
                "check that no other program holds it locked and that it is writable"
            ) from None

    def _write(self, doing: str, work: Callable[[Session], T]) -> T:
        with self._failures(doing):
            for attempt in range(_RETRIES):
                try:
                    with self._writer.begin() as session:
                        return work(session)
                except IntegrityError:
                    if attempt == _RETRIES - 1:
                        raise
        raise AssertionError("unreachable")

    def _submission(self, session: Session, submission_id: int) -> Submission:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise StoreError(
                f"no submission with id {submission_id} in database {display_url(self.url)}; "
                "list them with `grader history`"
            )
        return submission

    def _leased(self, session: Session, submission_id: int, lease: str | None) -> Submission:
        """The submission, row-locked (SELECT ... FOR UPDATE) when `lease` must still hold it."""
        if lease is None:
            return self._submission(session, submission_id)
        submission = session.scalars(
            select(Submission).where(Submission.id == submission_id).with_for_update()
        ).first()
        if submission is None:
            return self._submission(session, submission_id)
        if submission.leased_by != lease or submission.status != "pending":
            raise LeaseLost(
                f"submission {submission_id}: the lease {lease} expired and another worker took it over; "
                "its result is not written"
            )
        return submission

    # -- writes ---------------------------------------------------------------

    def record_submission(
        self,
        *,
        student: str,
        assignment: str,
        spec_version: str,
        spec_sha256: str,
        filename: str,
        content: bytes,
        source: str = "local",
        submitted_at: datetime | None = None,
    ) -> int:
        """Store a submitted file (content kept once per sha256); status 'pending'. Returns its id."""
        item = NewSubmission(student=student, filename=filename, content=content, submitted_at=submitted_at)
        return self.record_submissions([item], assignment=assignment, spec_version=spec_version,
                                       spec_sha256=spec_sha256, source=source)[0]

    def record_submissions(self, items: list[NewSubmission], *, assignment: str, spec_version: str,
                           spec_sha256: str, source: str = "local") -> list[int]:
        """Store many submissions of one assignment version in one transaction (a batch's
        class), each as by `record_submission`. Returns their ids, in order."""
        if source not in SUBMISSION_SOURCES:
            raise ValueError(f"source must be one of {SUBMISSION_SOURCES}, got {source!r}")
        prepared = [(item, _utc(item.submitted_at, "submitted_at"), hashlib.sha256(item.content).hexdigest())
                    for item in items]

        def work(session: Session) -> list[int]:
            assignment_row = session.scalar(
                select(Assignment).where(
                    Assignment.name == assignment, Assignment.spec_sha256 == spec_sha256
                )
            )
            if assignment_row is None:
                assignment_row = Assignment(
                    name=assignment, spec_version=spec_version, spec_sha256=spec_sha256
                )
                session.add(assignment_row)
            students: dict[str, Student] = {}
            blobs: set[str] = set()
            rows = []
            for item, when, sha256 in prepared:
                student_row = students.get(item.student)
                if student_row is None:
                    student_row = session.scalar(select(Student).where(Student.name == item.student))
                    if student_row is None:
                        student_row = Student(name=item.student)
                        session.add(student_row)
                    students[item.student] = student_row
                if sha256 not in blobs and session.get(Blob, sha256) is None:
                    session.add(Blob(sha256=sha256, content=item.content, size=len(item.content)))
                    session.flush()
                blobs.add(sha256)
                submission = Submission(
                    student=student_row,
                    assignment=assignment_row,
                    blob_sha256=sha256,
                    filename=item.filename,
                    submitted_at=when,
                    source=source,
                    status="pending",
                )
                session.add(submission)
                rows.append(submission)
            session.flush()
            return [r.id for r in rows]

        what = "recording a submission" if len(items) == 1 else f"recording {len(items)} submissions"
        return self._write(what, work)

    def record_run(self, submission_id: int, report: Report, *, started_at: datetime,
                   lease: str | None = None) -> int:
        """Store a grading run with its results; it becomes the submission's current run.

        The submission's status becomes 'graded'; earlier runs are kept. Returns the run id.
        With `lease` (a `grader worker`'s token from `claim`), the run is written only if that
        lease still holds the submission, checked under a row lock in the same transaction;
        otherwise `LeaseLost` is raised and nothing is written.
        """
        started = _utc(started_at, "started_at")

        def work(session: Session) -> int:
            submission = self._leased(session, submission_id, lease)
            run = GradingRun(
                submission_id=submission.id,
                grader_version=report.grader_version,
                spec_version=report.spec_version,
                seed=report.seed,
                sandbox=json.dumps(report.sandbox),
                started_at=started,
                duration_s=report.duration_s,
                status="passed" if all(p.status == "passed" for p in report.problems) else "failed",
                score=report.score,
                max_score=report.max_score,
                report_json=report.model_dump_json(),
                problems=[
                    ProblemResultRow(
                        problem_id=p.id,
                        status=p.status,
                        score=p.score,
                        max_score=p.max_score,
                        checks=[
                            CheckResultRow(
                                name=c.name,
                                passed=c.passed,
                                score=c.score,
                                max_score=c.max_score,
                                message=c.message,
                                hint=c.hint,
                            )
                            for c in p.checks
                        ],
                    )
                    for p in report.problems
                ],
            )
            session.add(run)
            session.flush()
            submission.current_run_id = run.id
            submission.status = "graded"
            submission.error = None
            submission.leased_by = None
            submission.lease_expires_at = None
            return run.id

        return self._write(f"recording a grading run of submission {submission_id}", work)

    def record_error(self, submission_id: int, message: str, *, lease: str | None = None) -> None:
        """Mark a submission as failed to grade (status 'error'), keeping `message`.
        With `lease`, only while that lease holds it (else `LeaseLost`)."""

        def work(session: Session) -> None:
            submission = self._leased(session, submission_id, lease)
            submission.status = "error"
            submission.error = message
            submission.leased_by = None
            submission.lease_expires_at = None

        self._write(f"recording an error for submission {submission_id}", work)

    def _student_for_grant(self, session: Session, name: str, create: bool) -> Student:
        row = session.scalar(select(Student).where(Student.name == name))
        if row is not None:
            return row
        if not create:
            import difflib

            known = list(session.scalars(select(Student.name)))
            close = difflib.get_close_matches(name, known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UsageError(
                f"no student {name!r} in database {display_url(self.url)}{hint}; check the spelling "
                "(`grader history` lists students), or pass --new-student for one with no submission yet"
            )
        row = Student(name=name)
        session.add(row)
        return row

    @staticmethod
    def _who_why(who: str, why: str) -> tuple[str, str]:
        who, why = " ".join(who.split()), " ".join(why.split())
        if not who or not why:
            raise ValueError("record who (--by) and why (--reason); neither may be empty")
        return who, why

    def add_extension(self, *, student: str, assignment: str, due: datetime, granted_by: str, reason: str,
                      new_student: bool = False, created_at: datetime | None = None) -> int:
        """Record a new due date for one student (the latest one is in force). Returns its id.

        An unknown student is a UsageError unless `new_student`.
        """
        due_at = _utc(due, "due")
        when = _utc(created_at, "created_at")
        granted_by, reason = self._who_why(granted_by, reason)

        def work(session: Session) -> int:
            row = Extension(student=self._student_for_grant(session, student, new_student), assignment=assignment,
                            due_at=due_at, granted_by=granted_by, reason=reason, created_at=when)
            session.add(row)
            session.flush()
            return row.id

        return self._write(f"recording an extension for {student}", work)

    def add_override(self, *, student: str, assignment: str, problem_id: str | None, score: float, set_by: str,
                     reason: str, new_student: bool = False, created_at: datetime | None = None) -> int:
        """Record a manual score: one problem's (`problem_id`) or the total's (None). Returns its id.

        The latest override per student, assignment and problem is in force.
        An unknown student is a UsageError unless `new_student`.
        """
        if not score >= 0:
            raise ValueError(f"score must be a number >= 0, got {score!r}")
        when = _utc(created_at, "created_at")
        set_by, reason = self._who_why(set_by, reason)

        def work(session: Session) -> int:
            row = Override(student=self._student_for_grant(session, student, new_student), assignment=assignment,
                           problem_id=problem_id, score=float(score), set_by=set_by, reason=reason, created_at=when)
            session.add(row)
            session.flush()
            return row.id

        return self._write(f"recording an override for {student}", work)

    # -- reads ----------------------------------------------------------------

    def gradebook_facts(self, assignment: str, student: str | None = None) -> GradebookFacts:
        """Every submission (with its current run's problem scores), extension and
        override of assignment `assignment` (all spec versions), optionally of one student."""
        subs = (
            select(Submission.id, Student.name, Submission.submitted_at, Submission.status,
                   Submission.current_run_id)
            .join(Student, Submission.student_id == Student.id)
            .join(Assignment, Submission.assignment_id == Assignment.id)
            .where(Assignment.name == assignment)
            .order_by(Submission.submitted_at, Submission.id)
        )
        scores = (
            select(Submission.id, ProblemResultRow.problem_id, ProblemResultRow.score)
            .join(Assignment, Submission.assignment_id == Assignment.id)
            .join(ProblemResultRow, ProblemResultRow.run_id == Submission.current_run_id)
            .where(Assignment.name == assignment)
        )
        extensions = (
            select(Extension.id, Student.name, Extension.due_at, Extension.granted_by, Extension.reason,
                   Extension.created_at)
            .join(Student, Extension.student_id == Student.id)
            .where(Extension.assignment == assignment)
            .order_by(Extension.id)
        )
        overrides = (
            select(Override.id, Student.name, Override.problem_id, Override.score, Override.set_by,
                   Override.reason, Override.created_at)
            .join(Student, Override.student_id == Student.id)
            .where(Override.assignment == assignment)
            .order_by(Override.id)
        )
        if student is not None:
            subs = subs.where(Student.name == student)
            scores = scores.join(Student, Submission.student_id == Student.id).where(Student.name == student)
            extensions = extensions.where(Student.name == student)
            overrides = overrides.where(Student.name == student)
        with self._failures(f"reading the gradebook of {assignment}"):
            with self._reader() as session:  # one read transaction: a consistent snapshot
                sub_rows = session.execute(subs).all()
                score_rows = session.execute(scores).all()
                ext_rows = session.execute(extensions).all()
                ovr_rows = session.execute(overrides).all()
        by_submission: dict[int, dict[str, float]] = {}
        for sid, problem_id, score in score_rows:
            by_submission.setdefault(sid, {})[problem_id] = score
        return GradebookFacts(
            submissions=[
                SubmissionFact(id=r[0], student=r[1], submitted_at=r[2], status=r[3],
                               scores=by_submission.get(r[0], {}) if r[4] is not None else None)
                for r in sub_rows
            ],
            extensions=[ExtensionFact(*r) for r in ext_rows],
            overrides=[OverrideFact(*r) for r in ovr_rows],
        )

    def students(self) -> list[str]:
        """Every student's name, sorted."""
        with self._failures("listing students"):
            with self._reader() as session:
                return list(session.scalars(select(Student.name).order_by(Student.name)))


    def get_report(self, submission_id: int) -> Report:
        """The report of the submission's current run."""
        with self._failures(f"reading the report of submission {submission_id}"):
            with self._reader() as session:
                submission = self._submission(session, submission_id)
                run = submission.current_run
                if run is None:
                    raise StoreError(
                        f"submission {submission_id} in database {display_url(self.url)} has no "
                        f"report yet (status {submission.status}); grade it with `grader regrade`"
                    )
                text = run.report_json
        return Report.model_validate_json(text)

    def history(self, student: str | None = None, assignment: str | None = None) -> list[HistoryRow]:
        """Submissions, oldest first, optionally for one student and/or assignment name."""
        query = (
            select(
                Submission.id,
                Student.name,
                Assignment.name,
                Submission.filename,
                Submission.submitted_at,
                Submission.status,
                GradingRun.score,
                GradingRun.max_score,
                Submission.blob_sha256,
            )
            .join(Student, Submission.student_id == Student.id)
            .join(Assignment, Submission.assignment_id == Assignment.id)
            .outerjoin(GradingRun, Submission.current_run_id == GradingRun.id)
            .order_by(Submission.submitted_at, Submission.id)
        )
        if student is not None:
            query = query.where(Student.name == student)
        if assignment is not None:
            query = query.where(Assignment.name == assignment)
        with self._failures("reading the submission history"):
            with self._reader() as session:
                rows = session.execute(query).all()
        return [
            HistoryRow(
                submission_id=r[0],
                student=r[1],
                assignment=r[2],
                filename=r[3],
                submitted_at=r[4],
                status=r[5],
                score=r[6],
                max_score=r[7],
                sha256_prefix=r[8][:SHA_PREFIX],
            )
            for r in rows
        ]

    def pending_submissions(self) -> list[int]:
        """Ids of submissions not graded yet, oldest first."""
        query = select(Submission.id).where(Submission.status == "pending").order_by(Submission.id)
        with self._failures("listing pending submissions"):
            with self._reader() as session:
                return list(session.scalars(query))

    def submission_content(self, submission_id: int) -> tuple[str, bytes, str, str]:
        """(filename, content, student, assignment name) of a submission, for regrading."""
        query = (
            select(Submission.filename, Blob.content, Student.name, Assignment.name)
            .join(Blob, Submission.blob_sha256 == Blob.sha256)
            .join(Student, Submission.student_id == Student.id)
            .join(Assignment, Submission.assignment_id == Assignment.id)
            .where(Submission.id == submission_id)
        )
        with self._failures(f"reading submission {submission_id}"):
            with self._reader() as session:
                row = session.execute(query).first()
        if row is None:
            raise StoreError(
                f"no submission with id {submission_id} in database {display_url(self.url)}; "
                "list them with `grader history`"
            )
        return row[0], bytes(row[1]), row[2], row[3]

    # -- batch grading and the work queue (grader/batch) -----------------------

    def batch_state(self, assignment: str) -> dict[tuple[str, str], StoredState]:
        """The latest submission per (student, content sha256) of assignment `assignment`
        (any spec version), with its current run's spec version, seed and problems."""
        subs = (
            select(Submission.id, Student.name, Submission.blob_sha256, Submission.status,
                   GradingRun.spec_version, GradingRun.seed)
            .join(Student, Submission.student_id == Student.id)
            .join(Assignment, Submission.assignment_id == Assignment.id)
            .outerjoin(GradingRun, Submission.current_run_id == GradingRun.id)
            .where(Assignment.name == assignment)
            .order_by(Submission.id)
        )
        problems = (
            select(Submission.id, ProblemResultRow.problem_id)
            .join(Assignment, Submission.assignment_id == Assignment.id)
            .join(ProblemResultRow, ProblemResultRow.run_id == Submission.current_run_id)
            .where(Assignment.name == assignment)
        )
        with self._failures(f"reading the stored submissions of {assignment}"):
            with self._reader() as session:
                rows = session.execute(subs).all()
                problem_rows = session.execute(problems).all()
        by_id: dict[int, set[str]] = {}
        for sid, pid in problem_rows:
            by_id.setdefault(sid, set()).add(pid)
        return {(r[1], r[2]): StoredState(r[0], r[3], r[4], r[5], frozenset(by_id.get(r[0], ())))
                for r in rows}  # ordered by id: the latest wins

    def requeue(self, submission_ids: list[int]) -> None:
        """Make submissions pending again (to be graded by a worker); their runs are kept."""
        if not submission_ids:
            return

        def work(session: Session) -> None:
            session.execute(update(Submission).where(Submission.id.in_(submission_ids))
                            .values(status="pending", leased_by=None, lease_expires_at=None))

        self._write(f"queueing {len(submission_ids)} submission(s)", work)

    def claim(self, lease: str, seconds: float, *, assignments: list[str] | None = None) -> int | None:
        """Take the oldest pending submission that no live lease holds, for `seconds`:
        SELECT ... FOR UPDATE SKIP LOCKED, so concurrent workers never take the same one
        (on SQLite the write transaction is exclusive anyway). An expired lease counts as
        none: its submission returns to the queue. Returns the id, or None when none is free."""
        def work(session: Session) -> int | None:
            now = datetime.now(timezone.utc)
            query = (
                select(Submission.id)
                .where(Submission.status == "pending",
                       or_(Submission.leased_by.is_(None), Submission.lease_expires_at < now))
                .order_by(Submission.id)
                .limit(1)
                .with_for_update(skip_locked=True, of=Submission)
            )
            if assignments:
                query = query.join(Assignment, Submission.assignment_id == Assignment.id).where(
                    Assignment.name.in_(assignments))
            sid = session.scalar(query)
            if sid is None:
                return None
            session.execute(update(Submission).where(Submission.id == sid)
                            .values(leased_by=lease, lease_expires_at=now + timedelta(seconds=seconds)))
            return sid

        return self._write("claiming a pending submission", work)

    def renew(self, submission_id: int, lease: str, seconds: float) -> bool:
        """Extend a lease this worker still holds; False if it was lost."""
        def work(session: Session) -> bool:
            result = session.execute(
                update(Submission)
                .where(Submission.id == submission_id, Submission.leased_by == lease,
                       Submission.status == "pending")
                .values(lease_expires_at=datetime.now(timezone.utc) + timedelta(seconds=seconds))
            )
            return result.rowcount == 1

        return self._write(f"renewing the lease on submission {submission_id}", work)

    def release(self, submission_id: int, lease: str) -> None:
        """Give a submission back to the queue (a worker stopping before it finished)."""
        def work(session: Session) -> None:
            session.execute(update(Submission)
                            .where(Submission.id == submission_id, Submission.leased_by == lease)
                            .values(leased_by=None, lease_expires_at=None))

        self._write(f"releasing submission {submission_id}", work)

    def queue_counts(self, assignments: list[str] | None = None) -> dict[str, int]:
        """How many submissions are pending (`pending`), and of them held by a live lease (`leased`)."""
        now = datetime.now(timezone.utc)
        query = select(func.count(Submission.id),
                       func.count(Submission.id).filter(Submission.leased_by.is_not(None),
                                                        Submission.lease_expires_at >= now)) \
            .where(Submission.status == "pending")
        if assignments:
            query = query.join(Assignment, Submission.assignment_id == Assignment.id).where(
                Assignment.name.in_(assignments))
        with self._failures("counting pending submissions"):
            with self._reader() as session:
                pending, leased = session.execute(query).one()
        return {"pending": int(pending), "leased": int(leased)}

    def close(self) -> None:
        """Release all connections. The Store cannot be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
