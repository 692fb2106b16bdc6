"""Several graders writing one SQLite file at once: nothing lost, nothing locked."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

WRITER = textwrap.dedent(
    """
    import sys
    from grader.store import open_store

    db, worker = sys.argv[1], int(sys.argv[2])
    store = open_store(db)
    for i in range(25):
        store.record_submission(
            student=f"student{i % 5}",  # shared students: get-or-create races
            assignment="hw1",
            spec_version="1",
            spec_sha256="ab" * 32,
            filename="hw1.py",
            content=f"# file {i % 10}".encode(),  # shared blobs too
            source="batch",
        )
    store.close()
    """
)


def test_four_processes_write_at_once(tmp_path):
    db = tmp_path / "shared.db"  # does not exist yet: the processes race to create it
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    for code, err in results:
        assert "database is locked" not in err
        assert code == 0, err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM submissions").fetchone() == (100,)
        assert conn.execute("SELECT count(*) FROM students").fetchone() == (5,)
        assert conn.execute("SELECT count(*) FROM blobs").fetchone() == (10,)
        assert conn.execute("SELECT count(*) FROM assignments").fetchone() == (1,)
