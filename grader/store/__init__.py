"""The grader's database: the only code in the product that speaks SQL.

Public API:

    default_database_url() -> str
        $GRADER_DATABASE_URL if set, else sqlite:///<user data dir>/grader/grader.db.
    normalize_url(text) -> str
        A SQLAlchemy URL stays as is; a plain filesystem path means a SQLite file.
    open_store(url=None) -> Store
        Connect (creating a SQLite file and its directory if needed) and bring
        the schema up to date, backing up an existing SQLite file first.
    Store
        record_submission(*, student, assignment, spec_version, spec_sha256,
                          filename, content, source="local", submitted_at=None) -> int
        record_submissions(items: list[NewSubmission], *, assignment, spec_version, spec_sha256,
                           source="local") -> list[int]     (many in one transaction)
        record_run(submission_id, report, *, started_at, lease=None) -> int
        record_error(submission_id, message, *, lease=None) -> None
            With `lease`, written only while that worker's lease holds (else LeaseLost).
        get_report(submission_id) -> Report
        history(student=None, assignment=None) -> list[HistoryRow]
        pending_submissions() -> list[int]
        submission_content(submission_id) -> (filename, content, student, assignment)
        add_extension(*, student, assignment, due, granted_by, reason, new_student=False) -> int
        add_override(*, student, assignment, problem_id, score, set_by, reason, new_student=False) -> int
        gradebook_facts(assignment, student=None) -> GradebookFacts
            Rows for grader/gradebook_policy.py, which applies the assignment's policy.
        students() -> list[str]
        batch_state(assignment) -> {(student, sha256): StoredState}   (what a batch may skip)
        requeue(ids) · claim(lease, seconds) -> id | None · renew(id, lease, seconds) -> bool
        release(id, lease) · queue_counts() -> {"pending", "leased"}   (grader worker's queue)
        close()   (a Store is also a context manager)
    HistoryRow
        A frozen dataclass: one line of `Store.history`.

Every database failure raises grader.errors.StoreError with a one-line message
naming the database. SQLite (the default) and PostgreSQL (psycopg 3, by URL)
are supported. Layout: models.py (tables), engine.py (URLs, connections),
migrate.py + migrations/ (schema upgrades), gradebook.py (the Store).
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from grader.errors import StoreError
from grader.store.engine import (
    ENV_VAR,
    create_store_engine,
    default_database_url,
    describe,
    display_url,
    normalize_url,
)
from grader.store.gradebook import GradebookFacts, HistoryRow, LeaseLost, NewSubmission, StoredState, Store
from grader.store.migrate import upgrade_to_head

__all__ = ["GradebookFacts", "HistoryRow", "LeaseLost", "NewSubmission", "Store", "StoredState", "default_database_url", "normalize_url", "open_store"]


def open_store(url: str | None = None) -> Store:
    """Open the database at `url` (default: `default_database_url()`), migrated to the latest schema."""
    url = normalize_url(url) if url else default_database_url()
    engine = create_store_engine(url)
    try:
        upgrade_to_head(engine, url)
    except StoreError:
        engine.dispose()
        raise
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise StoreError(
            f"cannot open database {display_url(url)}: {describe(exc)}; "
            f"check that it is a grader database you can write, or set {ENV_VAR} to another"
        ) from None
    return Store(engine, url)
