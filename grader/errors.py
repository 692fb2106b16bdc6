"""The grader's exception tree, and the exit code each branch maps to.

    GraderError            anything the grader reports to a user as one line
    ├── UsageError         exit 2: bad arguments or unreadable input (file, spec)
    │   └── SpecError      a problem pack that does not validate
    ├── UnsafeError        exit 3: this machine cannot grade safely
    └── StoreError         exit 4: the database cannot be used

Only `cli.py` turns these into messages and exit codes. Every message is one
line that names the file (or URL) at fault and says what to do about it.
"""

from __future__ import annotations


class GraderError(Exception):
    """Base class: a failure to report to the user as one line."""

    exit_code = 1


class UsageError(GraderError):
    """Bad command-line arguments or unreadable input."""

    exit_code = 2


class SpecError(UsageError):
    """An assignment pack (spec or reference) that cannot be loaded."""


class UnsafeError(GraderError):
    """The machine lacks an isolation layer that this command requires."""

    exit_code = 3


class StoreError(GraderError):
    """The database cannot be opened, migrated or written."""

    exit_code = 4
