"""submission leases for grader worker

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00

Two nullable columns on submissions for the work queue of `grader worker`
(grader/batch/worker.py): the token of the worker holding a pending
submission, and when that lease ends. An expired lease returns the
submission to the queue; a result is written only by the lease's holder.

Hand-written: plain ADD/DROP COLUMN (no batch copy; SQLite 3.35+ drops a
column without constraints in place), so existing rows keep NULL (no lease).

After adding a revision, set HEAD_REVISION in grader/store/migrate.py to its id.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('submissions', sa.Column(
        'leased_by', sa.String(length=255), nullable=True,
        comment='The lease token of the `grader worker` grading it now (host:pid:random); NULL when none.'))
    op.add_column('submissions', sa.Column(
        'lease_expires_at', sa.DateTime(timezone=True), nullable=True,
        comment='When that lease ends (UTC); after it the submission returns to the queue.'))


def downgrade() -> None:
    op.drop_column('submissions', 'lease_expires_at')
    op.drop_column('submissions', 'leased_by')
