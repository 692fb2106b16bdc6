"""`grader batch` discovery: every layout and its student id, LMS names and times,
duplicates / ambiguous / unreadable entries listed, and archives read safely
(no traversal, no symlinks, zip bombs and oversized archives refused)."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from grader.batch import discover as disc
from grader.batch.discover import discover, file_student, folder_student
from grader.cli import app
from grader.errors import UsageError

PACKS = Path(__file__).resolve().parent / "packs"
CUBE = "import numpy as np\n\ndef cube(x):\n    x = np.asarray(x, dtype=float)\n    return float(np.sum(x ** 3)), 3 * x ** 2\n"
STUB = "def cube(x):\n    raise NotImplementedError\n"
T = datetime(2025, 3, 14, 22, 30, tzinfo=timezone.utc)


def write(path: Path, text: str = CUBE, when: datetime = T) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def roster(path: Path, zone=timezone.utc):
    return discover(path, assignment="hw_tiny", problems_root=PACKS, zone=zone)


def by_student(r) -> dict:
    return {e.student: e for e in r.entries}


def kinds(r) -> dict[str, str]:
    return {i.origin.split("/")[-1].split(":")[-1]: i.kind for i in r.issues}


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("stem, student, lms_id", [
    ("alice", "alice", None),
    ("alice_hw_tiny", "alice", None),
    ("hw_tiny-bob", "bob", None),
    ("lastname_firstname_12345_67890_hw2", "lastname_firstname", "12345"),
    ("smithjohn_late_12345_67890_hw2", "smithjohn", "12345"),
    ("smithjohn_LATE_12345_67890_hw2-1", "smithjohn", "12345"),
])
def test_file_names_give_the_student(stem, student, lms_id):
    named = file_student(stem, assignment="hw_tiny")
    assert (named.student, named.lms_id) == (student, lms_id)


def test_blackboard_names_carry_the_time():
    named = file_student("HW2_jsmith_attempt_2025-03-14-23-10-05_hw2", assignment="hw2")
    assert named.student == "jsmith" and named.when == datetime(2025, 3, 14, 23, 10, 5)


def test_folder_names_give_the_student():
    assert folder_student("alice").student == "alice"
    assert folder_student("student_42").student == "student_42"  # folders are names, not LMS file names
    moodle = folder_student("Jane Doe_12345_assignsubmission_file_")
    assert (moodle.student, moodle.lms_id) == ("Jane Doe", "12345")


# -- folder layouts ----------------------------------------------------------------------


def test_every_folder_layout(tmp_path):
    write(tmp_path / "alice" / "hw_tiny.py")  # PATH/<student>/<assignment>.py
    write(tmp_path / "bob" / "src" / "solution.py")  # PATH/<student>/<any>.py, parsed
    write(tmp_path / "bob" / "notes.py", "x = 1\n")
    write(tmp_path / "carol.py")  # PATH/<student>.py
    write(tmp_path / "dave_hw_tiny.py")
    write(tmp_path / "doe_jane_12345_67890_hw_tiny.py")  # Canvas
    write(tmp_path / "Ed Smith_777_assignsubmission_file_" / "hw_tiny.py")  # Moodle
    write(tmp_path / "HW_fred_attempt_2025-03-14-23-10-05_hw_tiny.py")  # Blackboard
    with roster(tmp_path, zone=ZoneInfo("Europe/Berlin")) as r:
        found = by_student(r)
        assert set(found) == {"alice", "bob", "carol", "dave", "doe_jane", "Ed Smith", "fred"}, r.issues
        assert found["bob"].path.name == "solution.py"
        assert found["alice"].layout == "folder/hw_tiny.py" and found["bob"].layout == "folder/*.py (parsed)"
        assert found["alice"].submitted_at == T and found["alice"].time_from == "file time"
        assert found["fred"].submitted_at == datetime(2025, 3, 14, 22, 10, 5, tzinfo=timezone.utc)  # 23:10 CET
        assert found["fred"].time_from == "name"
        assert found["carol"].content == CUBE.encode()
        assert not r.issues


def test_same_name_different_lms_ids_are_two_students(tmp_path):
    write(tmp_path / "smith_john_111_1_hw_tiny.py")
    write(tmp_path / "smith_john_222_2_hw_tiny.py")
    with roster(tmp_path) as r:
        assert set(by_student(r)) == {"smith_john_111", "smith_john_222"}


def test_duplicates_ambiguous_and_unreadable_are_listed(tmp_path):
    write(tmp_path / "alice.py")
    write(tmp_path / "alice" / "hw_tiny.py")  # a second entry for alice
    write(tmp_path / "bob" / "a.py")
    write(tmp_path / "bob" / "b.py")  # both define cube equally: ambiguous
    (tmp_path / "carol.py").write_bytes(b"\x00\x01binary")
    write(tmp_path / "dave.ipynb", '{"nbformat": 4, "cells": []}')
    (tmp_path / "erin.py").write_bytes(b"# " + b"x" * (disc.MAX_SUBMISSION_BYTES + 10))
    (tmp_path / "frank").mkdir()
    write(tmp_path / "frank" / "readme.md", "nothing here")
    write(tmp_path / "gina.py")  # the one good entry
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    with roster(tmp_path) as r:
        assert set(by_student(r)) == {"gina"}
        k = kinds(r)
        assert k["alice.py"] == "duplicate" and k["hw_tiny.py"] == "duplicate"
        assert k["bob"] == "ambiguous"
        assert k["carol.py"] == "unreadable" and k["dave.ipynb"] == "unreadable" and k["erin.py"] == "unreadable"
        assert k["frank"] == "missing"
        ignored = [i for i in r.issues if i.kind == "ignored"]
        assert ignored and "notes.pdf" in ignored[0].reason
        assert all(i.reason for i in r.issues)


def test_stubs_lose_to_implemented_files(tmp_path):
    write(tmp_path / "alice" / "starter.py", STUB)
    write(tmp_path / "alice" / "mine.py", CUBE)
    with roster(tmp_path) as r:
        assert by_student(r)["alice"].path.name == "mine.py"


def test_symlinks_are_not_followed(tmp_path):
    secret = write(tmp_path / "outside" / "secret.py")
    cls = tmp_path / "class"
    write(cls / "alice.py")
    (cls / "mallory.py").symlink_to(secret)
    (cls / "trudy").symlink_to(secret.parent, target_is_directory=True)
    (cls / "oscar").mkdir()
    (cls / "oscar" / "hw_tiny.py").symlink_to(secret)  # leads out of the student's folder
    with roster(cls) as r:
        assert set(by_student(r)) == {"alice"}
        k = kinds(r)
        assert k["mallory.py"] == "unsafe" and k["trudy"] == "unsafe" and k["oscar"] == "missing"


def test_not_a_folder_or_zip_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not a folder or a .zip"):
        roster(write(tmp_path / "alice.py"))
    with pytest.raises(UsageError, match="no such"):
        roster(tmp_path / "nope")


# -- archives ----------------------------------------------------------------------------


def zip_with(path: Path, members: list[tuple], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for member in members:
            name, data, *rest = member
            info = zipfile.ZipInfo(name, date_time=rest[0] if rest else (2025, 3, 14, 23, 30, 0))
            info.compress_type = compression
            if len(rest) > 1:
                info.external_attr = rest[1]
                info.create_system = 3
            zf.writestr(info, data)
    return path


def test_canvas_zip_export(tmp_path):
    archive = zip_with(tmp_path / "submissions.zip", [
        ("doe_jane_12345_67890_hw_tiny.py", CUBE, (2025, 3, 14, 23, 30, 0)),
        ("roe_rick_late_222_333_hw_tiny.py", CUBE, (2025, 3, 16, 1, 0, 0)),
        ("index.html", "<html>"),
        ("__MACOSX/._doe_jane_12345_67890_hw_tiny.py", "junk"),
    ])
    with roster(archive, zone=ZoneInfo("America/New_York")) as r:
        found = by_student(r)
        assert set(found) == {"doe_jane", "roe_rick"}
        # the zip's local date-time, read in the assignment's time zone (EDT, UTC-4 after 9 March)
        assert found["doe_jane"].submitted_at == datetime(2025, 3, 15, 3, 30, tzinfo=timezone.utc)
        assert found["doe_jane"].time_from == "zip entry"
        assert found["doe_jane"].origin == "submissions.zip:doe_jane_12345_67890_hw_tiny.py"
        assert [i.kind for i in r.issues] == ["ignored"]
        workdir = found["doe_jane"].path.parent
    assert not workdir.exists()  # the private copies go with the roster


def test_moodle_and_gradescope_style_zips(tmp_path):
    moodle = zip_with(tmp_path / "moodle.zip", [
        ("Jane Doe_12345_assignsubmission_file_/hw_tiny.py", CUBE),
        ("Rick Roe_23456_assignsubmission_file_/work/my_solution.py", CUBE),
    ])
    with roster(moodle) as r:
        assert set(by_student(r)) == {"Jane Doe", "Rick Roe"}
    wrapped = zip_with(tmp_path / "gs.zip", [
        ("assignment_123_export/alice/hw_tiny.py", CUBE),
        ("assignment_123_export/bob/hw_tiny.py", CUBE),
    ])
    with roster(wrapped) as r:
        assert set(by_student(r)) == {"alice", "bob"}


def test_zip_extended_timestamp_is_utc(tmp_path):
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("alice.py", date_time=(2000, 1, 1, 0, 0, 0))
        info.extra = struct.pack("<HHBi", 0x5455, 5, 1, int(T.timestamp()))
        zf.writestr(info, CUBE)
    with roster(archive, zone=ZoneInfo("Asia/Tokyo")) as r:
        assert by_student(r)["alice"].submitted_at == T


def test_zip_traversal_and_symlinks_are_refused_and_nothing_escapes(tmp_path):
    target = tmp_path / "work"
    target.mkdir()
    archive = zip_with(tmp_path / "evil.zip", [
        ("../evil.py", CUBE),
        ("/tmp/abs_evil_grader_test.py", CUBE),
        ("alice/../../evil2.py", CUBE),
        ("C:/win.py", CUBE),
        ("bob/hw_tiny.py", "/etc/passwd", (2025, 1, 1, 0, 0, 0), (stat.S_IFLNK | 0o777) << 16),
        ("carol.py", CUBE),
    ])
    with roster(archive) as r:
        assert set(by_student(r)) == {"carol"}
        unsafe = sorted(i.origin for i in r.issues if i.kind == "unsafe")
        assert unsafe == sorted(f"evil.zip:{n}" for n in ("../evil.py", "/tmp/abs_evil_grader_test.py",
                                                           "alice/../../evil2.py", "C:/win.py", "bob/hw_tiny.py"))
        assert any("symbolic link" in i.reason for i in r.issues)
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "evil2.py").exists()
    assert not Path("/tmp/abs_evil_grader_test.py").exists()


def test_zip_bomb_is_refused(tmp_path):
    archive = zip_with(tmp_path / "bomb.zip", [("alice.py", "#" + "0" * (disc.RATIO_FLOOR * 40))])
    with pytest.raises(UsageError, match="zip bomb"):
        roster(archive)


def test_too_many_members_and_too_large_totals_are_refused(tmp_path, monkeypatch):
    archive = zip_with(tmp_path / "many.zip", [(f"s{i}.py", CUBE) for i in range(12)])
    monkeypatch.setattr(disc, "MAX_MEMBERS", 10)
    with pytest.raises(UsageError, match="12 members"):
        roster(archive)
    monkeypatch.setattr(disc, "MAX_MEMBERS", 100)
    monkeypatch.setattr(disc, "MAX_DECLARED_TOTAL", 200)
    with pytest.raises(UsageError, match="possible zip bomb"):
        roster(archive)


def test_oversized_member_is_listed_without_being_read(tmp_path):
    big = "".join(f"# line {i} {os.urandom(8).hex()}\n" for i in range(40000))  # > 1 MiB, incompressible-ish
    archive = zip_with(tmp_path / "big.zip", [("alice.py", big), ("bob.py", CUBE)])
    with roster(archive) as r:
        assert set(by_student(r)) == {"bob"}
        assert kinds(r)["alice.py"] == "unreadable"


def test_batch_cli_refuses_a_bomb_with_one_line(tmp_path):
    archive = zip_with(tmp_path / "bomb.zip", [("alice.py", "#" + "0" * (disc.RATIO_FLOOR * 40))])
    result = CliRunner().invoke(app, ["batch", str(archive), "--assignment", "hw_tiny", "--problems", str(PACKS),
                                      "--db", str(tmp_path / "g.db")])
    assert result.exit_code == 2, result.output
    assert "zip bomb" in result.stderr and len(result.stderr.strip().splitlines()) <= 3
