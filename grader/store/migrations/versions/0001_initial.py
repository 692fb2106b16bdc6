"""initial

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 14:30:22.273076

Hand-checked: dates are plain DateTime(timezone=True) (UTCDateTime is a
Python-side wrapper); the submissions -> grading_runs foreign key, which is
circular, is inline on SQLite and added by ALTER elsewhere; indexes are
created without batch mode.

After adding a revision, set HEAD_REVISION in grader/store/migrate.py to its id.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_RUN_FK = "fk_submissions_current_run_id_grading_runs"


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _current_run_fk(*, inline: bool) -> list[sa.ForeignKeyConstraint]:
    """submissions.current_run_id -> grading_runs.id, which is created later.

    SQLite accepts a reference to a table that does not exist yet (and cannot
    add a constraint by ALTER), so there it is declared inline.
    """
    if inline != _sqlite():
        return []
    return [
        sa.ForeignKeyConstraint(
            ["current_run_id"], ["grading_runs.id"], name=op.f(CURRENT_RUN_FK), ondelete="SET NULL"
        )
    ]


def upgrade() -> None:
    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False, comment='Surrogate key.'),
    sa.Column('name', sa.String(length=255), nullable=False, comment="Assignment name, e.g. 'hw1'."),
    sa.Column('spec_version', sa.String(length=64), nullable=False, comment='Version string declared in the spec.'),
    sa.Column('spec_sha256', sa.String(length=64), nullable=False, comment="SHA-256 (hex) of the spec file's bytes."),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments')),
    sa.UniqueConstraint('name', 'spec_sha256', name=op.f('uq_assignments_name_spec_sha256')),
    comment='Assignment packs, one row per distinct spec file.'
    )
    op.create_table('blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False, comment='SHA-256 (hex) of content.'),
    sa.Column('content', sa.LargeBinary(), nullable=False, comment="The file's bytes."),
    sa.Column('size', sa.Integer(), nullable=False, comment='Length of content in bytes.'),
    sa.CheckConstraint('size >= 0', name=op.f('ck_blobs_size_nonnegative')),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blobs')),
    comment='File contents, deduplicated by SHA-256.'
    )
    op.create_table('students',
    sa.Column('id', sa.Integer(), nullable=False, comment='Surrogate key.'),
    sa.Column('name', sa.String(length=255), nullable=False, comment='Student name or login, unique.'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_students')),
    sa.UniqueConstraint('name', name=op.f('uq_students_name')),
    comment='People who submit work.'
    )
    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False, comment='Surrogate key.'),
    sa.Column('student_id', sa.Integer(), nullable=False, comment='Who submitted.'),
    sa.Column('assignment_id', sa.Integer(), nullable=False, comment='Which assignment (and spec version) it was submitted for.'),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False, comment="The file's content."),
    sa.Column('filename', sa.String(length=255), nullable=False, comment='File name as submitted.'),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False, comment='When it was submitted (UTC).'),
    sa.Column('source', sa.String(length=16), nullable=False, comment="How it arrived: 'local', 'batch' or 'ci'."),
    sa.Column('status', sa.String(length=16), nullable=False, comment="'pending' (not graded yet), 'graded' or 'error'."),
    sa.Column('current_run_id', sa.Integer(), nullable=True, comment='The run whose report is shown; NULL until graded.'),
    sa.Column('error', sa.Text(), nullable=True, comment="Why grading failed, when status is 'error'."),
    sa.CheckConstraint("source IN ('local', 'batch', 'ci')", name=op.f('ck_submissions_source')),
    sa.CheckConstraint("status IN ('pending', 'graded', 'error')", name=op.f('ck_submissions_status')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_submissions_assignment_id_assignments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['blob_sha256'], ['blobs.sha256'], name=op.f('fk_submissions_blob_sha256_blobs'), ondelete='RESTRICT'),
    *_current_run_fk(inline=True),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_submissions_student_id_students'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    comment='Submitted files, one row per submission (resubmissions included).'
    )
    op.create_index(op.f('ix_submissions_assignment_id'), 'submissions', ['assignment_id'], unique=False)
    op.create_index(op.f('ix_submissions_blob_sha256'), 'submissions', ['blob_sha256'], unique=False)
    op.create_index(op.f('ix_submissions_status'), 'submissions', ['status'], unique=False)
    op.create_index(op.f('ix_submissions_student_id_assignment_id'), 'submissions', ['student_id', 'assignment_id'], unique=False)
    op.create_table('grading_runs',
    sa.Column('id', sa.Integer(), nullable=False, comment='Surrogate key.'),
    sa.Column('submission_id', sa.Integer(), nullable=False, comment='The submission that was graded.'),
    sa.Column('grader_version', sa.String(length=64), nullable=False, comment='Version of the grader that produced the report.'),
    sa.Column('spec_version', sa.String(length=64), nullable=False, comment='Version of the spec the run graded against.'),
    sa.Column('seed', sa.BigInteger(), nullable=False, comment='Random seed used by the checks.'),
    sa.Column('sandbox', sa.Text(), nullable=False, comment="JSON list of isolation layers that were active; '[]' if none."),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False, comment='When grading started (UTC).'),
    sa.Column('duration_s', sa.Float(), nullable=False, comment='Wall-clock seconds taken.'),
    sa.Column('status', sa.String(length=16), nullable=False, comment="'passed' if every problem passed, else 'failed'."),
    sa.Column('score', sa.Float(), nullable=False, comment='Points earned.'),
    sa.Column('max_score', sa.Float(), nullable=False, comment='Points available.'),
    sa.Column('report_json', sa.Text(), nullable=False, comment='The full grader.report.Report as JSON.'),
    sa.CheckConstraint("status IN ('passed', 'failed')", name=op.f('ck_grading_runs_status')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_grading_runs_submission_id_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grading_runs')),
    comment='Gradings of submissions, with the full report.'
    )
    op.create_index(op.f('ix_grading_runs_submission_id'), 'grading_runs', ['submission_id'], unique=False)
    for fk in _current_run_fk(inline=False):
        op.create_foreign_key(
            fk.name, "submissions", "grading_runs", ["current_run_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table('problem_results',
    sa.Column('id', sa.Integer(), nullable=False, comment='Surrogate key.'),
    sa.Column('run_id', sa.Integer(), nullable=False, comment='The grading run.'),
    sa.Column('problem_id', sa.String(length=128), nullable=False, comment="Problem id from the spec, e.g. 'linear_backward'."),
    sa.Column('status', sa.String(length=16), nullable=False, comment="'passed', 'failed', 'error', 'timeout' or 'missing'."),
    sa.Column('score', sa.Float(), nullable=False, comment='Points earned on this problem.'),
    sa.Column('max_score', sa.Float(), nullable=False, comment='Points available.'),
    sa.CheckConstraint("status IN ('passed', 'failed', 'error', 'timeout', 'missing')", name=op.f('ck_problem_results_status')),
    sa.ForeignKeyConstraint(['run_id'], ['grading_runs.id'], name=op.f('fk_problem_results_run_id_grading_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_results')),
    sa.UniqueConstraint('run_id', 'problem_id', name=op.f('uq_problem_results_run_id_problem_id')),
    comment='Per-problem outcomes of grading runs.'
    )
    op.create_table('check_results',
    sa.Column('id', sa.Integer(), nullable=False, comment='Surrogate key.'),
    sa.Column('problem_result_id', sa.Integer(), nullable=False, comment='The problem result this check belongs to.'),
    sa.Column('name', sa.String(length=255), nullable=False, comment='What the check verifies.'),
    sa.Column('passed', sa.Boolean(), nullable=False, comment='Whether the check passed.'),
    sa.Column('score', sa.Float(), nullable=False, comment='Points earned.'),
    sa.Column('max_score', sa.Float(), nullable=False, comment='Points available.'),
    sa.Column('message', sa.Text(), nullable=False, comment='What went wrong and what to do; empty when passed.'),
    sa.Column('hint', sa.Text(), nullable=True, comment='A recognised mistake, in one sentence, if any.'),
    sa.ForeignKeyConstraint(['problem_result_id'], ['problem_results.id'], name=op.f('fk_check_results_problem_result_id_problem_results'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_results')),
    comment='Per-check outcomes within problem results.'
    )
    op.create_index(op.f('ix_check_results_problem_result_id'), 'check_results', ['problem_result_id'], unique=False)


def downgrade() -> None:
    if not _sqlite():  # break the submissions <-> grading_runs cycle first
        op.drop_constraint(op.f(CURRENT_RUN_FK), "submissions", type_="foreignkey")
    op.drop_table('check_results')
    op.drop_table('problem_results')
    op.drop_table('grading_runs')
    op.drop_table('submissions')
    op.drop_table('students')
    op.drop_table('blobs')
    op.drop_table('assignments')
