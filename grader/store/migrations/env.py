"""Alembic environment for the grader's database.

Used two ways:
- by the grader itself (grader.store.migrate), which passes an open
  connection in ``config.attributes["connection"]``, or a URL in
  ``config.attributes["url"]``;
- by developers running ``alembic upgrade head`` at the repository top
  (alembic.ini). The database is then $GRADER_DATABASE_URL if set, else
  ``sqlalchemy.url`` from alembic.ini if set, else the grader's default.
"""

from __future__ import annotations

import os

from alembic import context

from grader.store.engine import ENV_VAR, create_store_engine, default_database_url, normalize_url
from grader.store.models import Base

config = context.config
if config.config_file_name is not None:  # run from the alembic command line
    from logging.config import fileConfig

    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = Base.metadata


def _url() -> str:
    url = (
        config.attributes.get("url")
        or os.environ.get(ENV_VAR, "").strip()
        or config.get_main_option("sqlalchemy.url")
        or default_database_url()
    )
    return normalize_url(url)


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    # Our SQLite engines leave BEGIN to SQLAlchemy, which makes SQLite DDL transactional.
    sqlite = connection.dialect.name == "sqlite"
    _configure(connection=connection, transactional_ddl=True if sqlite else None)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_store_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
