"""The database schema as SQLAlchemy declarative models.

This module only declares tables; `gradebook.py` reads and writes them and
`migrations/` creates them. Every column carries its documentation twice: as
`doc=` (for Python readers) and as `comment=` (stored in databases that keep
column comments, such as PostgreSQL).

Times are stored as UTC. SQLite has no time-zone type, so `UTCDateTime`
stores a naive UTC value there and hands back an aware UTC `datetime`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

SUBMISSION_SOURCES = ("local", "batch", "ci")
SUBMISSION_STATUSES = ("pending", "graded", "error")
RUN_STATUSES = ("passed", "failed")
PROBLEM_STATUSES = ("passed", "failed", "error", "timeout", "missing")

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator):
    """A time-zone-aware UTC datetime on every backend (naive UTC in SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a time-zone-aware datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def column(*args: Any, doc: str, **kwargs: Any) -> Any:
    """`mapped_column` with `doc` also stored as the database column comment."""
    return mapped_column(*args, doc=doc, comment=doc, **kwargs)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Student(Base):
    """A person who submits work, known by a unique name."""

    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("name"),
        {"comment": "People who submit work."},
    )

    id: Mapped[int] = column(Integer, primary_key=True, doc="Surrogate key.")
    name: Mapped[str] = column(String(255), nullable=False, doc="Student name or login, unique.")


class Assignment(Base):
    """One version of an assignment pack, identified by its spec's hash."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("name", "spec_sha256"),
        {"comment": "Assignment packs, one row per distinct spec file."},
    )

    id: Mapped[int] = column(Integer, primary_key=True, doc="Surrogate key.")
    name: Mapped[str] = column(String(255), nullable=False, doc="Assignment name, e.g. 'hw1'.")
    spec_version: Mapped[str] = column(
        String(64), nullable=False, doc="Version string declared in the spec."
    )
    spec_sha256: Mapped[str] = column(
        String(64), nullable=False, doc="SHA-256 (hex) of the spec file's bytes."
    )


class Blob(Base):
    """A submitted file's content, stored once however often it is submitted."""

    __tablename__ = "blobs"
    __table_args__ = (
        CheckConstraint("size >= 0", name="size_nonnegative"),
        {"comment": "File contents, deduplicated by SHA-256."},
    )

    sha256: Mapped[str] = column(String(64), primary_key=True, doc="SHA-256 (hex) of content.")
    content: Mapped[bytes] = column(LargeBinary, nullable=False, doc="The file's bytes.")
    size: Mapped[int] = column(Integer, nullable=False, doc="Length of content in bytes.")


class Submission(Base):
    """One act of submitting a file; resubmissions are new rows sharing a blob."""

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint(_in("source", SUBMISSION_SOURCES), name="source"),
        CheckConstraint(_in("status", SUBMISSION_STATUSES), name="status"),
        Index(None, "student_id", "assignment_id"),
        Index(None, "assignment_id"),
        Index(None, "blob_sha256"),
        Index(None, "status"),
        {"comment": "Submitted files, one row per submission (resubmissions included)."},
    )

    id: Mapped[int] = column(Integer, primary_key=True, doc="Surrogate key.")
    student_id: Mapped[int] = column(
        ForeignKey("students.id", ondelete="RESTRICT"), nullable=False, doc="Who submitted."
    )
    assignment_id: Mapped[int] = column(
        ForeignKey("assignments.id", ondelete="RESTRICT"),
        nullable=False,
        doc="Which assignment (and spec version) it was submitted for.",
    )
    blob_sha256: Mapped[str] = column(
        ForeignKey("blobs.sha256", ondelete="RESTRICT"), nullable=False, doc="The file's content."
    )
    filename: Mapped[str] = column(
        String(255), nullable=False, doc="File name as submitted."
    )
    submitted_at: Mapped[datetime] = column(
        UTCDateTime, nullable=False, doc="When it was submitted (UTC)."
    )
    source: Mapped[str] = column(
        String(16), nullable=False, doc="How it arrived: 'local', 'batch' or 'ci'."
    )
    status: Mapped[str] = column(
        String(16), nullable=False, doc="'pending' (not graded yet), 'graded' or 'error'."
    )
    current_run_id: Mapped[int | None] = column(
        ForeignKey("grading_runs.id", ondelete="SET NULL", use_alter=True),
        nullable=True,
        doc="The run whose report is shown; NULL until graded.",
    )
    error: Mapped[str | None] = column(
        Text, nullable=True, doc="Why grading failed, when status is 'error'."
    )
    leased_by: Mapped[str | None] = column(
        String(255),
        nullable=True,
        doc="The lease token of the `grader worker` grading it now (host:pid:random); NULL when none.",
    )
    lease_expires_at: Mapped[datetime | None] = column(
        UTCDateTime,
        nullable=True,
        doc="When that lease ends (UTC); after it the submission returns to the queue.",
    )

    student: Mapped[Student] = relationship()
    assignment: Mapped[Assignment] = relationship()
    blob: Mapped[Blob] = relationship()
    current_run: Mapped[GradingRun | None] = relationship(
        foreign_keys=[current_run_id], post_update=True
    )


class GradingRun(Base):
    """One grading of one submission; regrading adds a run, old runs are kept."""

    __tablename__ = "grading_runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        Index(None, "submission_id"),
        {"comment": "Gradings of submissions, with the full report."},
    )

    id: Mapped[int] = column(Integer, primary_key=True, doc="Surrogate key.")
    submission_id: Mapped[int] = column(
        ForeignKey("submissions.id", ondelete="CASCADE"),
        nullable=False,
        doc="The submission that was graded.",
    )
    grader_version: Mapped[str] = column(
        String(64), nullable=False, doc="Version of the grader that produced the report."
    )
    spec_version: Mapped[str] = column(
        String(64), nullable=False, doc="Version of the spec the run graded against."
    )
    seed: Mapped[int] = column(BigInteger, nullable=False, doc="Random seed used by the checks.")
    sandbox: Mapped[str] = column(
        Text, nullable=False, doc="JSON list of isolation layers that were active; '[]' if none."
    )
    started_at: Mapped[datetime] = column(
        UTCDateTime, nullable=False, doc="When grading started (UTC)."
    )
    duration_s: Mapped[float] = column(Float, nullable=False, doc="Wall-clock seconds taken.")
    status: Mapped[str] = column(
        String(16), nullable=False, doc="'passed' if every problem passed, else 'failed'."
    )
    score: Mapped[float] = column(Float, nullable=False, doc="Points earned.")
    max_score: Mapped[float] = column(Float, nullable=False, doc="Points available.")
    report_json: Mapped[str] = column(
        Text, nullable=False, doc="The full grader.report.Report as JSON."
    )

    problems: Mapped[list[ProblemResultRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class ProblemResultRow(Base):
    """One problem's outcome within one run."""

    __tablename__ = "problem_results"
    __table_args__ = (
        UniqueConstraint("run_id", "problem_id"),
        CheckConstraint(_in("status", PROBLEM_STATUSES), name="status"),
        {"comment": "Per-problem outcomes of grading runs."},
    )

    id: Mapped[int] = column(Integer, primary_key=True, doc="Surrogate key.")
    run_id: Mapped[int] = column(
        ForeignKey("grading_runs.id", ondelete="CASCADE"), nullable=False, doc="The grading run."
    )
    problem_id: Mapped[str] = column(
        String(128), nullable=False, doc="Problem id from the spec, e.g. 'linear_backward'."
    )
    status: Mapped[str] = column(
        String(16), nullable=False, doc="'passed', 'failed', 'error', 'timeout' or 'missing'."
    )
    score: Mapped[float] = column(Float, nullable=False, doc="Points earned on this problem.")
    max_score: Mapped[float] = column(Float, nullable=False, doc="Points available.")

    checks: Mapped[list[CheckResultRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class CheckResultRow(Base):
    """One check's outcome within one problem result."""

    __tablename__ = "check_results"
    __table_args__ = (
        Index(None, "problem_result_id"),
        {"comment": "Per-check outcomes within problem results."},
    )

    id: Mapped[int] = column(Integer, primary_key=True, doc="Surrogate key.")
    problem_result_id: Mapped[int] = column(
        ForeignKey("problem_results.id", ondelete="CASCADE"),
        nullable=False,
        doc="The problem result this check belongs to.",
    )
    name: Mapped[str] = column(String(255), nullable=False, doc="What the check verifies.")
    passed: Mapped[bool] = column(Boolean, nullable=False, doc="Whether the check passed.")
    score: Mapped[float] = column(Float, nullable=False, doc="Points earned.")
    max_score: Mapped[float] = column(Float, nullable=False, doc="Points available.")
    message: Mapped[str] = column(
        Text, nullable=False, doc="What went wrong and what to do; empty when passed."
    )
    hint: Mapped[str | None] = column(
        Text, nullable=True, doc="A recognised mistake, in one sentence, if any."
    )


class Extension(Base):
    """A new due date granted to one student for one assignment, with who and why.

    Rows are never changed: a later grant for the same student and assignment
    supersedes the earlier ones (the latest `created_at` is in force).
    """

    __tablename__ = "extensions"
    __table_args__ = (
        CheckConstraint("granted_by <> ''", name="granted_by_nonempty"),
        CheckConstraint("reason <> ''", name="reason_nonempty"),
        Index(None, "student_id", "assignment"),
        {"comment": "Per-student due-date extensions; the latest per student and assignment is in force."},
    )

    id: Mapped[int] = column(Integer, primary_key=True, doc="Surrogate key.")
    student_id: Mapped[int] = column(
        ForeignKey("students.id", ondelete="RESTRICT"), nullable=False, doc="Who gets the extension."
    )
    assignment: Mapped[str] = column(
        String(255), nullable=False, doc="Assignment name, e.g. 'hw2' (every spec version)."
    )
    due_at: Mapped[datetime] = column(
        UTCDateTime, nullable=False, doc="The student's new due date (UTC)."
    )
    granted_by: Mapped[str] = column(String(255), nullable=False, doc="Who granted it.")
    reason: Mapped[str] = column(Text, nullable=False, doc="Why it was granted.")
    created_at: Mapped[datetime] = column(
        UTCDateTime, nullable=False, doc="When it was recorded (UTC)."
    )

    student: Mapped[Student] = relationship()


class Override(Base):
    """A manual score for one student: one problem's, or the total's, with who and why.

    Rows are never changed: the latest per (student, assignment, problem) is in
    force. A problem override replaces that problem's points before the late
    penalty; a total override replaces the final total.
    """

    __tablename__ = "overrides"
    __table_args__ = (
        CheckConstraint("score >= 0", name="score_nonnegative"),
        CheckConstraint("set_by <> ''", name="set_by_nonempty"),
        CheckConstraint("reason <> ''", name="reason_nonempty"),
        Index(None, "student_id", "assignment"),
        {"comment": "Manual scores; the latest per student, assignment and problem is in force."},
    )

    id: Mapped[int] = column(Integer, primary_key=True, doc="Surrogate key.")
    student_id: Mapped[int] = column(
        ForeignKey("students.id", ondelete="RESTRICT"), nullable=False, doc="Whose score."
    )
    assignment: Mapped[str] = column(
        String(255), nullable=False, doc="Assignment name, e.g. 'hw2' (every spec version)."
    )
    problem_id: Mapped[str | None] = column(
        String(128), nullable=True, doc="Problem id from the spec; NULL overrides the total."
    )
    score: Mapped[float] = column(Float, nullable=False, doc="The points to record.")
    set_by: Mapped[str] = column(String(255), nullable=False, doc="Who set it.")
    reason: Mapped[str] = column(Text, nullable=False, doc="Why.")
    created_at: Mapped[datetime] = column(
        UTCDateTime, nullable=False, doc="When it was recorded (UTC)."
    )

    student: Mapped[Student] = relationship()
