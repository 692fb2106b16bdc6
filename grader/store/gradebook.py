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
from datetime import datetime, timezone
from typing import TypeVar

from sqlalchemy import select
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
        if source not in SUBMISSION_SOURCES:
            raise ValueError(f"source must be one of {SUBMISSION_SOURCES}, got {source!r}")
        when = _utc(submitted_at, "submitted_at")
        sha256 = hashlib.sha256(content).hexdigest()

        def work(session: Session) -> int:
            student_row = session.scalar(select(Student).where(Student.name == student))
            if student_row is None:
                student_row = Student(name=student)
                session.add(student_row)
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
            if session.get(Blob, sha256) is None:
                session.add(Blob(sha256=sha256, content=content, size=len(content)))
                session.flush()
            submission = Submission(
                student=student_row,
                assignment=assignment_row,
                blob_sha256=sha256,
                filename=filename,
                submitted_at=when,
                source=source,
                status="pending",
            )
            session.add(submission)
            session.flush()
            return submission.id

        return self._write("recording a submission", work)

    def record_run(self, submission_id: int, report: Report, *, started_at: datetime) -> int:
        """Store a grading run with its results; it becomes the submission's current run.

        The submission's status becomes 'graded'; earlier runs are kept. Returns the run id.
        """
        started = _utc(started_at, "started_at")

        def work(session: Session) -> int:
            submission = self._submission(session, submission_id)
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
            return run.id

        return self._write(f"recording a grading run of submission {submission_id}", work)

    def record_error(self, submission_id: int, message: str) -> None:
        """Mark a submission as failed to grade (status 'error'), keeping `message`."""

        def work(session: Session) -> None:
            submission = self._submission(session, submission_id)
            submission.status = "error"
            submission.error = message

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

    def close(self) -> None:
        """Release all connections. The Store cannot be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
