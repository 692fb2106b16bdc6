"""Schema migrations: head constant, up/down, models vs. migrations, backups."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from grader.errors import StoreError
from grader.report import Report
from grader.store import open_store
from grader.store.engine import create_store_engine
from grader.store.migrate import HEAD_REVISION, MIGRATIONS_DIR, alembic_config
from grader.store.models import Base

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def version(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]


def fill(path: Path) -> int:
    with open_store(str(path)) as s:
        sid = s.record_submission(
            student="alice", assignment="hw1", spec_version="1", spec_sha256="0" * 64,
            filename="a.py", content=b"x = 1\n",
        )
        report = Report(assignment="hw1", student="alice", submission_sha256="0" * 64,
                        score=0.0, max_score=1.0, problems=[])
        s.record_run(sid, report, started_at=T0)
        s.submission_content(sid)
        s.add_extension(student="alice", assignment="hw1", due=T0, granted_by="prof", reason="ill")
        s.add_override(student="alice", assignment="hw1", problem_id=None, score=1.0, set_by="ta", reason="x")
    return sid


def test_head_constant_matches_alembic():
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD_REVISION]


def test_repo_alembic_ini_points_at_packaged_migrations(tmp_path):
    config = Config(str(REPO / "alembic.ini"))
    script = ScriptDirectory.from_config(config)
    assert Path(script.dir).resolve() == MIGRATIONS_DIR
    assert script.get_heads() == [HEAD_REVISION]


def test_alembic_command_line_uses_env_var(tmp_path):
    db = tmp_path / "cli.db"
    env = dict(os.environ, GRADER_DATABASE_URL=url_of(db))
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), "upgrade", "head"],
        cwd=tmp_path, env=env, check=True, capture_output=True,
    )
    assert version(db) == [HEAD_REVISION]


@pytest.mark.parametrize("with_data", [False, True], ids=["empty", "with-data"])
def test_every_migration_up_and_down(tmp_path, with_data):
    db = tmp_path / "m.db"
    config = alembic_config(url=url_of(db))
    revisions = revisions_oldest_first()
    if with_data:
        fill(db)  # at head, holding rows in every table that has a foreign key
        for previous in reversed([None, *revisions[:-1]]):
            command.downgrade(config, previous or "base")
            command.upgrade(config, "head")
            command.downgrade(config, previous or "base")
        assert version(db) == []
        assert tables(db) == {"alembic_version"}
    for rev in revisions:
        command.upgrade(config, rev)
        assert version(db) == [rev]
        if with_data:
            fill(db)  # open_store migrates to head; step back to keep going one revision at a time
            command.downgrade(config, rev)
    for previous in reversed([None, *revisions[:-1]]):
        command.downgrade(config, previous or "base")
    assert tables(db) == {"alembic_version"}
    command.upgrade(config, "head")
    assert version(db) == [HEAD_REVISION]


def test_models_match_migrations(tmp_path):
    db = tmp_path / "m.db"
    command.upgrade(alembic_config(url=url_of(db)), "head")
    engine = create_store_engine(url_of(db))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_open_store_creates_schema_and_stamps_head(tmp_path):
    db = tmp_path / "deep" / "dir" / "grader.db"
    open_store(str(db)).close()
    assert version(db) == [HEAD_REVISION]
    assert {"students", "blobs", "submissions", "grading_runs"} <= tables(db)
    assert not list(db.parent.glob("*.bak-*"))  # a new file needs no backup
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_backup_before_migrating_existing_file(tmp_path):
    db = tmp_path / "grader.db"
    fill(db)
    command.downgrade(alembic_config(url=url_of(db)), "base")
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    open_store(str(db)).close()
    backup = tmp_path / "grader.db.bak-base"
    assert backup.exists()
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("keep me",)]
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (0,)
    assert version(db) == [HEAD_REVISION]
    # A second migration from the same revision does not overwrite the first backup.
    command.downgrade(alembic_config(url=url_of(db)), "base")
    open_store(str(db)).close()
    assert (tmp_path / "grader.db.bak-base.1").exists()


def test_newer_database_is_refused(tmp_path):
    db = tmp_path / "grader.db"
    open_store(str(db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    with pytest.raises(StoreError, match="newer grader.*upgrade grader") as info:
        open_store(str(db))
    assert str(db) in str(info.value)
    assert "\n" not in str(info.value)
    assert version(db) == ["ffff_from_the_future"]  # untouched
    assert not list(tmp_path.glob("*.bak-*"))


def test_alembic_not_imported_when_schema_is_current(tmp_path):
    db = tmp_path / "grader.db"
    open_store(str(db)).close()
    code = (
        "import sys; from grader.store import open_store; "
        f"open_store({str(db)!r}).close(); "
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
