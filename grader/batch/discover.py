"""Who handed in which file: a class folder or an LMS export (.zip) as a roster.

Files are recognised by their names and by parsing them (ast, via
grader/ci/discover.py); nothing is ever imported here.

Layouts and the student id each gives (also in `grader batch --help` and the README):

1. ``PATH/<student>/hw2.py``: the folder's name. Moodle's folders
   ``Full Name_12345_assignsubmission_file_`` give ``Full Name``.
2. ``PATH/<student>/<any>.py`` (no ``hw2.py``; e.g. a cloned repository): the
   folder's name; the file is the one defining the most of the assignment's
   functions (a file named ``hw2.py`` anywhere below wins), as `grader ci` finds it.
3. ``PATH/<student>.py``: the file name without ``.py``, and without the
   assignment's name when it is a separate word (``alice_hw2.py`` -> ``alice``).
4. LMS file names (flat, in a folder or a .zip): ``<name>_<id>_..._<file>.py``
   gives ``<name>``: everything before the first all-digit word, with a
   ``late`` word dropped (Canvas ``lastname_firstname_12345_67890_hw2.py`` ->
   ``lastname_firstname``; ``smithjohn_late_12345_67890_hw2.py`` -> ``smithjohn``).
   Blackboard's ``<assignment>_<user>_attempt_<yyyy-mm-dd-hh-mm-ss>_<file>.py``
   gives ``<user>``.
5. A ``.zip`` is read as the folder it holds (one wrapping folder without
   Python files directly inside, e.g. ``assignment_1234_export/``, is looked through).

Two students whose names are equal but whose LMS ids differ get ``<name>_<id>``
each, so they are never merged. Two entries of one student (``alice.py`` and
``alice/hw2.py``) are duplicates: both are listed and neither is graded.

The submission time (for late penalties) is an LMS timestamp in the name when
there is one (Blackboard's), else the zip entry's time (its UTC extended
timestamp when present, else its local date-time read in the assignment's time
zone), else the file's modification time.

Archives are never extracted wholesale: members are vetted (no absolute paths
or ``..``, no symlinks, no encrypted members), counted and size-capped, and
only the Python files are read into memory, at most their declared size plus
one byte, then written to a private temporary folder. An archive with too many
members, too large a declared total or a member compressed more than
MAX_RATIO times (a zip bomb), or members sharing data, is refused whole.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Literal

from grader.errors import UsageError
from grader.pipeline import MAX_SUBMISSION_BYTES, read_submission

# Archive caps (module constants so that tests can lower them).
MAX_MEMBERS = 20_000
MAX_DECLARED_TOTAL = 2 << 30  # bytes, all members as declared
MAX_READ_TOTAL = 256 << 20  # bytes actually decompressed
MAX_RATIO = 100  # uncompressed / compressed, for members above RATIO_FLOOR bytes
RATIO_FLOOR = 64 << 10
MAX_DEPTH = 12
SKIP_NAMES = frozenset({"__MACOSX", "__pycache__", ".DS_Store", "Thumbs.db", "desktop.ini"})

IssueKind = Literal["duplicate", "ambiguous", "unreadable", "unsafe", "missing", "ignored"]


@dataclass(frozen=True)
class Entry:
    """One student's submission, ready to grade."""

    student: str
    path: Path  # the file on disk (for an archive: a private copy of the member)
    origin: str  # where it came from, as shown to the instructor
    layout: str
    submitted_at: datetime  # aware
    time_from: str  # "name", "zip entry" or "file time"
    content: bytes = field(repr=False)
    sha256: str = ""


@dataclass(frozen=True)
class Issue:
    """An entry that is not graded, and why."""

    kind: IssueKind
    origin: str
    reason: str
    student: str | None = None


@dataclass
class Roster:
    entries: list[Entry]
    issues: list[Issue]
    source: Path
    _workdir: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Roster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------------------------
# names


_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[A-Za-z]+_?$")
_BLACKBOARD = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_]+)_attempt_(?P<time>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})"
                         r"(?:_(?P<file>.*))?$")
_LATE = {"late", "LATE", "Late"}


@dataclass(frozen=True)
class Named:
    student: str
    lms_id: str | None = None
    when: datetime | None = None  # an LMS timestamp in the name (naive: in the assignment's zone)
    how: str = ""


def folder_student(name: str) -> Named:
    """The student a folder's name gives (layouts 1 and 2, Moodle folders)."""
    m = _MOODLE.match(name)
    if m:
        return Named(m.group("name").strip() or name, m.group("id"), how="Moodle folder")
    return Named(name, how="folder name")


def file_student(stem: str, *, assignment: str | None, plain_how: str = "file name") -> Named:
    """The student a flat file's name (without .py) gives (layouts 3 and 4)."""
    m = _BLACKBOARD.match(stem)
    if m:
        when = datetime.strptime(m.group("time"), "%Y-%m-%d-%H-%M-%S")
        return Named(m.group("user"), None, when, "Blackboard name")
    words = stem.split("_")
    for i, word in enumerate(words):
        if word.isdigit() and i > 0:
            name = [w for w in words[:i] if w not in _LATE]
            if name:
                return Named("_".join(name), word, how="LMS name")
            break
    if assignment:
        pattern = rf"(?:^|(?<=[_\-. ])){re.escape(assignment)}(?=$|[_\-. ])"
        trimmed = re.sub(pattern, "", stem, count=1, flags=re.IGNORECASE)
        trimmed = re.sub(r"([_\-. ])[_\-. ]+", r"\1", trimmed).strip("_-. ")
        if trimmed and trimmed != stem:
            return Named(trimmed, how=plain_how)
    return Named(stem, how=plain_how)


# ----------------------------------------------------------------------------------------------
# archives


def _safe_parts(name: str) -> list[str] | None:
    """The path parts of a member name, or None if it is unsafe (absolute, .., drive, NUL)."""
    name = name.replace("\\", "/")
    if name.startswith("/") or "\0" in name or re.match(r"^[A-Za-z]:", name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts) or len(parts) > MAX_DEPTH:
        return None
    if any(len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts):
        return None
    return parts


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def _unix_mtime(extra: bytes) -> int | None:
    """The UTC modification time of an extended-timestamp extra field (0x5455), if any."""
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4:i + 4 + size]
        if tag == 0x5455 and len(body) >= 5 and body[0] & 1:
            return struct.unpack_from("<i", body, 1)[0]
        i += 4 + size
    return None


def _member_time(info: zipfile.ZipInfo, zone: tzinfo) -> datetime:
    mtime = _unix_mtime(info.extra)
    if mtime is not None:
        return datetime.fromtimestamp(mtime, timezone.utc)
    try:
        return datetime(*info.date_time, tzinfo=zone).astimezone(timezone.utc)
    except ValueError:
        return datetime(1980, 1, 1, tzinfo=timezone.utc)


def unpack_archive(archive: Path, target: Path, zone: tzinfo) -> tuple[list[Issue], int]:
    """Write the vetted Python members of `archive` under `target`, each with its
    member time as mtime. Returns the members refused or skipped, and the number
    of other (non-Python) members ignored. Refuses a dangerous archive whole."""
    label = archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{archive}: not a readable .zip archive ({exc}); give the LMS export as downloaded") from None
    issues: list[Issue] = []
    ignored = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise UsageError(f"{archive}: {len(infos)} members is more than the {MAX_MEMBERS} a class export "
                             "may hold; refused (split the export)")
        declared = sum(i.file_size for i in infos)
        if declared > MAX_DECLARED_TOTAL:
            raise UsageError(f"{archive}: its members unpack to {declared} bytes, more than the "
                             f"{MAX_DECLARED_TOTAL} allowed; refused as a possible zip bomb")
        offsets = [i.header_offset for i in infos]
        if len(set(offsets)) != len(offsets):
            raise UsageError(f"{archive}: several members share the same data (overlapping entries, a zip bomb "
                             "technique); refused")
        for info in infos:
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise UsageError(f"{archive}: member {info.filename!r} is compressed "
                                 f"{info.file_size // max(info.compress_size, 1)}x (limit {MAX_RATIO}x); "
                                 "refused as a zip bomb")
        read_total = 0
        written: set[str] = set()
        for info in infos:
            origin = f"{label}:{info.filename}"
            parts = _safe_parts(info.filename)
            if parts is None:
                issues.append(Issue("unsafe", origin, "unsafe path in the archive (absolute or with ..); not unpacked"))
                continue
            if any(p in SKIP_NAMES or p.startswith(".") for p in parts):
                continue
            if _is_symlink(info):
                issues.append(Issue("unsafe", origin, "a symbolic link in the archive; not followed"))
                continue
            if info.is_dir():
                (target.joinpath(*parts)).mkdir(parents=True, exist_ok=True)
                continue
            lower = parts[-1].lower()
            if not lower.endswith((".py", ".ipynb")):
                if lower.endswith(".zip") and len(parts) <= 2:
                    issues.append(Issue("unreadable", origin, "an archive inside the archive; not opened "
                                                              "(unpack it and add its file)"))
                else:
                    ignored += 1
                continue
            if info.flag_bits & 0x1:
                issues.append(Issue("unreadable", origin, "encrypted in the archive; cannot be read"))
                continue
            if info.file_size > MAX_SUBMISSION_BYTES:
                issues.append(Issue("unreadable", origin, f"{info.file_size} bytes is too large for a submission "
                                                          f"(limit {MAX_SUBMISSION_BYTES})"))
                continue
            if read_total + info.file_size > MAX_READ_TOTAL:
                raise UsageError(f"{archive}: its Python files add up to more than {MAX_READ_TOTAL} bytes; refused")
            try:
                with zf.open(info) as member:
                    data = member.read(info.file_size + 1)
            except (zipfile.BadZipFile, NotImplementedError, OSError, RuntimeError, EOFError) as exc:
                issues.append(Issue("unreadable", origin, f"cannot be read from the archive ({exc})"))
                continue
            if len(data) > info.file_size:
                raise UsageError(f"{archive}: member {info.filename!r} holds more than the {info.file_size} bytes "
                                 "it declares; refused as a zip bomb")
            read_total += len(data)
            rel = "/".join(parts)
            if rel.lower() in written:
                issues.append(Issue("duplicate", origin, "the same path appears twice in the archive; neither is "
                                                         "graded"))
                continue
            written.add(rel.lower())
            path = target.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            when = _member_time(info, zone).timestamp()
            os.utime(path, (when, when))
    return issues, ignored


def _unwrap(root: Path) -> Path:
    """Look through one wrapping folder (e.g. Gradescope's assignment_1234_export/)."""
    while True:
        items = [p for p in root.iterdir() if not p.name.startswith(".") and p.name not in SKIP_NAMES]
        if len(items) != 1 or not items[0].is_dir() or items[0].is_symlink():
            return root
        inner = items[0]
        if any(p.suffix == ".py" for p in inner.iterdir()) and not re.search(r"export|submissions", inner.name, re.I):
            return root
        root = inner


# ----------------------------------------------------------------------------------------------
# the roster


@dataclass
class _Candidate:
    named: Named
    path: Path
    origin: str
    layout: str


def discover(path: Path, *, assignment: str, problems_root: Path, zone: tzinfo = timezone.utc) -> Roster:
    """The roster of a class folder or an LMS export (.zip) for `assignment`."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such folder or file; give the class's folder or the LMS export (.zip)")
    workdir = None
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise UsageError(f"{path}: not a folder or a .zip; give the class's folder, or the LMS export as a .zip "
                             "(one file is graded with `grader submit`)")
        workdir = tempfile.TemporaryDirectory(prefix="grader-batch-")
        root = Path(workdir.name) / "export"
        root.mkdir(mode=0o700)
        try:
            issues, ignored = unpack_archive(path, root, zone)
        except BaseException:
            workdir.cleanup()
            raise
        root = _unwrap(root)
        prefix = f"{path.name}:"
        base = Path(workdir.name) / "export"
    else:
        root, issues, ignored = _unwrap(path), [], 0
        prefix, base = "", path
    try:
        roster = _roster(root, base, prefix, path, assignment, problems_root, zone, issues, ignored)
    except BaseException:
        if workdir is not None:
            workdir.cleanup()
        raise
    roster._workdir = workdir
    return roster


def _origin(path: Path, base: Path, prefix: str) -> str:
    try:
        rel = path.relative_to(base).as_posix()
    except ValueError:
        rel = str(path)
    return prefix + rel if prefix else str(base / rel)


def _roster(root: Path, base: Path, prefix: str, source: Path, assignment: str, problems_root: Path, zone: tzinfo,
            issues: list[Issue], ignored: int) -> Roster:
    from grader.ci.discover import find_submission

    candidates: list[_Candidate] = []
    other_files: list[str] = []
    for item in sorted(root.iterdir(), key=lambda p: p.name):
        name = item.name
        if name.startswith(".") or name in SKIP_NAMES:
            continue
        origin = _origin(item, base, prefix)
        if item.is_symlink():
            issues.append(Issue("unsafe", origin, "a symbolic link; not followed"))
            continue
        if item.is_dir():
            named = folder_student(name)
            try:
                found = find_submission(item, assignment=assignment, problems_root=problems_root)
            except UsageError as exc:
                notebooks = list(item.rglob("*.ipynb"))[:1]
                text = str(exc).replace(str(item), origin)
                if notebooks and "no " in text and "found" in text:
                    issues.append(Issue("unreadable", origin, "only a Jupyter notebook; export it as a Python file",
                                        named.student))
                elif "several files" in text or "equally well" in text:
                    issues.append(Issue("ambiguous", origin, text, named.student))
                else:
                    issues.append(Issue("missing", origin, text, named.student))
                continue
            how = "folder/" + (f"{assignment}.py" if found.how.startswith("by its file name") else "*.py (parsed)")
            if named.how == "Moodle folder":
                how = "Moodle folder"
            candidates.append(_Candidate(named, found.path, _origin(found.path, base, prefix), how))
        elif item.is_file():
            lower = name.lower()
            if lower.endswith(".py"):
                named = file_student(item.stem, assignment=assignment)
                candidates.append(_Candidate(named, item, origin,
                                             "LMS file name" if named.how != "file name" else "<student>.py"))
            elif lower.endswith(".ipynb"):
                issues.append(Issue("unreadable", origin, "a Jupyter notebook; export it as a Python file "
                                                          "(File > Download as > Python (.py))",
                                    file_student(Path(name).stem, assignment=assignment).student))
            else:
                other_files.append(origin)
    ignored += len(other_files)
    if ignored:
        example = f" (e.g. {other_files[0]})" if other_files else ""
        issues.append(Issue("ignored", prefix.rstrip(":") or str(source),
                            f"{ignored} file(s) that are not Python submissions{example}"))
    # Same name, different LMS ids: two students, never merged.
    ids: dict[str, set[str]] = {}
    for c in candidates:
        if c.named.lms_id is not None:
            ids.setdefault(c.named.student, set()).add(c.named.lms_id)
    by_student: dict[str, list[_Candidate]] = {}
    for c in candidates:
        student = c.named.student
        if c.named.lms_id is not None and len(ids.get(student, ())) > 1:
            student = f"{student}_{c.named.lms_id}"
        by_student.setdefault(student, []).append(c)
    entries: list[Entry] = []
    for student, group in sorted(by_student.items()):
        if len(group) > 1:
            others = ", ".join(c.origin for c in group)
            for c in group:
                issues.append(Issue("duplicate", c.origin, f"{len(group)} entries for student {student!r} ({others}); "
                                                           "none is graded: keep one", student))
            continue
        c = group[0]
        try:
            submission = read_submission(c.path)
        except UsageError as exc:
            issues.append(Issue("unreadable", c.origin, str(exc).replace(str(c.path), c.origin), student))
            continue
        if c.named.when is not None:
            when = c.named.when.replace(tzinfo=zone).astimezone(timezone.utc)
            time_from = "name"
        else:
            when = datetime.fromtimestamp(c.path.stat().st_mtime, timezone.utc)
            time_from = "zip entry" if prefix else "file time"
        entries.append(Entry(student, c.path, c.origin, c.layout, when, time_from, submission.content,
                             hashlib.sha256(submission.content).hexdigest()))
    return Roster(entries, issues, source)
