"""extensions and overrides

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:03:58.517341

Per-student due-date extensions and manual score overrides, each recorded
with who and why. Both name the assignment by its name (not an assignments
row, which is one spec version), so they hold across spec versions.

Hand-checked: dates are plain DateTime(timezone=True) (UTCDateTime is a
Python-side wrapper); indexes are created without batch mode.

After adding a revision, set HEAD_REVISION in grader/store/migrate.py to its id.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('extensions',
    sa.Column('id', sa.Integer(), nullable=False, comment='Surrogate key.'),
    sa.Column('student_id', sa.Integer(), nullable=False, comment='Who gets the extension.'),
    sa.Column('assignment', sa.String(length=255), nullable=False, comment="Assignment name, e.g. 'hw2' (every spec version)."),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False, comment="The student's new due date (UTC)."),
    sa.Column('granted_by', sa.String(length=255), nullable=False, comment='Who granted it.'),
    sa.Column('reason', sa.Text(), nullable=False, comment='Why it was granted.'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, comment='When it was recorded (UTC).'),
    sa.CheckConstraint("granted_by <> ''", name=op.f('ck_extensions_granted_by_nonempty')),
    sa.CheckConstraint("reason <> ''", name=op.f('ck_extensions_reason_nonempty')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_extensions_student_id_students'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extensions')),
    comment='Per-student due-date extensions; the latest per student and assignment is in force.'
    )
    op.create_index(op.f('ix_extensions_student_id_assignment'), 'extensions', ['student_id', 'assignment'], unique=False)
    op.create_table('overrides',
    sa.Column('id', sa.Integer(), nullable=False, comment='Surrogate key.'),
    sa.Column('student_id', sa.Integer(), nullable=False, comment='Whose score.'),
    sa.Column('assignment', sa.String(length=255), nullable=False, comment="Assignment name, e.g. 'hw2' (every spec version)."),
    sa.Column('problem_id', sa.String(length=128), nullable=True, comment='Problem id from the spec; NULL overrides the total.'),
    sa.Column('score', sa.Float(), nullable=False, comment='The points to record.'),
    sa.Column('set_by', sa.String(length=255), nullable=False, comment='Who set it.'),
    sa.Column('reason', sa.Text(), nullable=False, comment='Why.'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, comment='When it was recorded (UTC).'),
    sa.CheckConstraint("reason <> ''", name=op.f('ck_overrides_reason_nonempty')),
    sa.CheckConstraint("set_by <> ''", name=op.f('ck_overrides_set_by_nonempty')),
    sa.CheckConstraint('score >= 0', name=op.f('ck_overrides_score_nonnegative')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_overrides_student_id_students'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overrides')),
    comment='Manual scores; the latest per student, assignment and problem is in force.'
    )
    op.create_index(op.f('ix_overrides_student_id_assignment'), 'overrides', ['student_id', 'assignment'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_overrides_student_id_assignment'), table_name='overrides')
    op.drop_table('overrides')
    op.drop_index(op.f('ix_extensions_student_id_assignment'), table_name='extensions')
    op.drop_table('extensions')
