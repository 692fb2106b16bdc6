"""Database URLs and engines: where the database lives and how to connect.

SQLite files get, on every new connection: a 30 s busy timeout, WAL
journalling and foreign keys. Transactions are begun by SQLAlchemy rather
than by the sqlite3 driver, using SQLAlchemy's documented pysqlite recipe,
so that a writing transaction starts with ``BEGIN IMMEDIATE``: it takes the
write lock at once (waiting up to the busy timeout) instead of failing with
"database is locked" when it later tries to upgrade a read lock. Engines made
with ``execution_options(grader_readonly=True)`` begin with a plain ``BEGIN``
so readers never wait for writers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from grader.errors import StoreError

ENV_VAR = "GRADER_DATABASE_URL"
BUSY_TIMEOUT_MS = 30_000
READONLY = "grader_readonly"


def default_database_url() -> str:
    """$GRADER_DATABASE_URL if set, else a SQLite file in the user data directory."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return normalize_url(env)
    import platformdirs

    return "sqlite:///" + str(Path(platformdirs.user_data_dir("grader")) / "grader.db")


def normalize_url(text: str) -> str:
    """A SQLAlchemy URL stays as is; a plain filesystem path means a SQLite file.

    A PostgreSQL URL without a driver (``postgresql://`` or ``postgres://``)
    gets psycopg 3, the driver the grader installs (SQLAlchemy would pick psycopg2).
    """
    text = text.strip()
    for scheme in ("postgresql://", "postgres://"):
        if text.startswith(scheme):
            return "postgresql+psycopg://" + text[len(scheme):]
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().absolute())


def display_url(url: str) -> str:
    """The URL for messages, with any password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other backends and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_store_engine(url: str) -> Engine:
    """An Engine for `url`, with the SQLite settings above. Raises StoreError."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL {url!r}: {describe(exc)}; fix {ENV_VAR} or --db") from None
    path = sqlite_path(url)
    if path is not None:
        _make_parent(path)
    try:
        engine = create_engine(parsed)
    except Exception as exc:  # missing driver, bad options
        raise StoreError(
            f"cannot use database {display_url(url)}: {describe(exc)}; "
            f"install its driver or fix the URL ({ENV_VAR} or --db)"
        ) from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is not a directory" if blocker else (exc.strerror or str(exc))
        raise StoreError(
            f"cannot create the directory for database {path}: {reason}; "
            f"choose a writable location with {ENV_VAR} or --db"
        ) from None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() not in ("wal", "memory"):
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        readonly = connection.get_execution_options().get(READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def describe(exc: BaseException) -> str:
    """A one-line description of a database error, without SQL or links."""
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    text = text.split("\n[SQL:")[0].split("(Background on this error")[0]
    return " ".join(text.split()) or type(exc).__name__
