"""Bring a database's schema up to date, cheaply when it already is.

`upgrade_to_head` reads the stored revision with one plain SELECT and returns
at once when it equals `HEAD_REVISION`; only otherwise is alembic imported
(which costs most of a second). Before migrating an existing SQLite file
that holds tables, a consistent copy is written beside it
(``grader.db.bak-<old revision>``). Migrations run inside one write
transaction (on PostgreSQL holding an advisory lock), so concurrent graders
opening a new database migrate it once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from grader.errors import StoreError
from grader.store.engine import READONLY, describe, display_url, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions; tests check it against alembic.
HEAD_REVISION = "0003"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# PostgreSQL advisory lock taken while migrating, so concurrent graders migrate once.
MIGRATION_LOCK_KEY = 0x67726164  # "grad"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An alembic Config for the packaged migrations (no alembic.ini needed).

    Pass `connection` to migrate over an open connection (and its transaction),
    or `url` to let env.py make its own engine.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def stored_revision(connection: Connection) -> str | None:
    """The schema revision recorded in the database; None for a fresh one."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    revisions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if not revisions:
        return None
    if len(revisions) == 1:
        return revisions[0]
    # Several heads: none of this grader's own making. Report one that is not ours.
    return next((r for r in revisions if r != HEAD_REVISION), revisions[0])


def upgrade_to_head(engine: Engine, url: str) -> None:
    """Migrate the database at `url` to HEAD_REVISION. Raises StoreError."""
    with engine.execution_options(**{READONLY: True}).connect() as connection:
        if stored_revision(connection) == HEAD_REVISION:
            return
    with engine.begin() as connection:  # BEGIN IMMEDIATE on SQLite: one migrator at a time
        if connection.dialect.name == "postgresql":  # and a lock held to the end of the transaction
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        revision = stored_revision(connection)
        if revision == HEAD_REVISION:
            return
        config = alembic_config(connection=connection)
        if revision is not None and not _is_known(config, revision):
            raise StoreError(
                f"database {display_url(url)} was written by a newer grader "
                f"(schema revision {revision!r}); upgrade grader"
            )
        backup = None
        path = sqlite_path(url)
        if path is not None and inspect(connection).get_table_names():
            backup = _backup(path, revision or "base")
        try:
            from alembic import command

            command.upgrade(config, "head")
        except StoreError:
            raise
        except Exception as exc:
            kept = f"; a copy from before the attempt is at {backup}" if backup else ""
            raise StoreError(
                f"cannot migrate database {display_url(url)} from revision "
                f"{revision or 'base'} to {HEAD_REVISION}: {describe(exc)}{kept}"
            ) from None


def _is_known(config: Config, revision: str) -> bool:
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except Exception:
        return False


def _backup(path: Path, revision: str) -> Path:
    """Copy the SQLite file (WAL content included) to <name>.bak-<revision>."""
    target = path.with_name(f"{path.name}.bak-{revision}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bak-{revision}.{n}")
        n += 1
    try:
        source = sqlite3.connect(str(path), timeout=30)
        try:
            dest = sqlite3.connect(str(target))
            try:
                source.backup(dest)
            finally:
                dest.close()
        finally:
            source.close()
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(
            f"cannot back up database {path} to {target} before migrating it: {exc}; "
            "free some space or make the directory writable"
        ) from None
    return target
