"""Unusable databases give a one-line StoreError, never a traceback."""

from __future__ import annotations

import os
import sqlite3

import pytest

from grader.errors import StoreError
from grader.store import default_database_url, normalize_url, open_store


def one_line_naming(exc: pytest.ExceptionInfo, what: str) -> None:
    message = str(exc.value)
    assert "\n" not in message
    assert what in message


def test_corrupt_file(tmp_path):
    db = tmp_path / "grader.db"
    db.write_bytes(b"this is not a database, just some text " * 200)
    with pytest.raises(StoreError) as info:
        open_store(str(db))
    one_line_naming(info, str(db))
    assert "not a database" in str(info.value)


def test_truncated_sqlite_file(tmp_path):
    db = tmp_path / "grader.db"
    open_store(str(db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    (tmp_path / "grader.db-wal").unlink(missing_ok=True)
    (tmp_path / "grader.db-shm").unlink(missing_ok=True)
    db.write_bytes(data[:100] + b"\xff" * (len(data) - 100))
    with pytest.raises(StoreError) as info:
        open_store(str(db))
    one_line_naming(info, str(db))


def test_parent_is_a_file(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    db = blocker / "grader.db"
    with pytest.raises(StoreError) as info:
        open_store(str(db))
    one_line_naming(info, str(db))


def test_database_path_is_a_directory(tmp_path):
    db = tmp_path / "grader.db"
    db.mkdir()
    with pytest.raises(StoreError) as info:
        open_store(str(db))
    one_line_naming(info, str(db))


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(StoreError) as info:
            open_store(str(ro / "grader.db"))
        one_line_naming(info, "grader.db")
    finally:
        ro.chmod(0o700)


def test_bad_url():
    with pytest.raises(StoreError):
        open_store("nosuchdialect://x/y")


def test_normalize_url(tmp_path):
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalize_url(str(tmp_path / "g.db")) == f"sqlite:///{tmp_path / 'g.db'}"
    assert normalize_url("rel.db").startswith("sqlite:////")


def test_default_database_url(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADER_DATABASE_URL", str(tmp_path / "env.db"))
    assert default_database_url() == f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.delenv("GRADER_DATABASE_URL")
    url = default_database_url()
    assert url.startswith("sqlite:///") and url.endswith("/grader.db")


def test_open_store_uses_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADER_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    open_store().close()
    assert (tmp_path / "env.db").exists()
