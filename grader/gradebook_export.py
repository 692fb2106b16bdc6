"""`grader export`: gradebook rows (grader/gradebook_policy.py) as CSV or JSON.

CSV is made to open as-is in a spreadsheet and in an LMS grade import:
UTF-8 (no byte-order mark), comma-separated, a header row, no index column,
one row per student, numbers as plain decimals (``86.6667``, ``100``: no
exponent, no thousands separator, at most 4 decimals), times as ISO 8601 with
their UTC offset in the assignment's time zone, CRLF line ends (RFC 4180).
A text cell that starts like a formula (=, +, @) gets a leading ' so that a
spreadsheet shows it instead of running it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from grader.gradebook_policy import GradeRow, ProblemColumn, plain_number
from grader.spec import Policy

FIXED_BEFORE = ("student",)
FIXED_AFTER = ("total", "max_score", "submission_id", "submitted_at", "due", "late_days", "penalty",
               "submissions", "note")


FORMULA_STARTS = ("=", "+", "@", "\t", "\r")


def _text(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (a leading ' added)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def problem_headers(problems: Sequence[ProblemColumn]) -> list[str]:
    """Column names of the problems: their ids (suffixed if one equals a fixed column)."""
    fixed = set(FIXED_BEFORE) | set(FIXED_AFTER)
    return [f"{p.id} (problem)" if p.id in fixed else p.id for p in problems]


def to_csv(rows: Sequence[GradeRow], problems: Sequence[ProblemColumn]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIXED_BEFORE, *problem_headers(problems), *FIXED_AFTER])
    for r in rows:
        writer.writerow([
            _text(r.student),
            *(plain_number(r.scores[p.id]) for p in problems),
            plain_number(r.total),
            plain_number(r.max_score),
            "" if r.submission_id is None else str(r.submission_id),
            _iso(r.submitted_at) or "",
            _iso(r.due) or "",
            str(r.late_days),
            plain_number(r.penalty),
            str(r.submissions),
            _text("; ".join(r.notes)),
        ])
    return out.getvalue()


def to_json(rows: Sequence[GradeRow], problems: Sequence[ProblemColumn], *, assignment: str, spec_version: str,
            policy: Policy) -> str:
    document: dict[str, Any] = {
        "assignment": assignment,
        "spec_version": spec_version,
        "policy": policy.model_dump(mode="json"),
        "due": _iso(policy.due_at),
        "problems": [{"id": p.id, "points": p.points} for p in problems],
        "max_score": float(sum(p.points for p in problems)),
        "students": [
            {
                "student": r.student,
                "scores": r.scores,
                "total": r.total,
                "max_score": r.max_score,
                "submission_id": r.submission_id,
                "submitted_at": _iso(r.submitted_at),
                "due": _iso(r.due),
                "late_days": r.late_days,
                "penalty": r.penalty,
                "submissions": r.submissions,
                "over_limit": r.over_limit,
                "pending": r.pending,
                "extension": None if r.extension is None else {
                    "due": _iso(r.extension.due.astimezone(policy.zone)),
                    "granted_by": r.extension.granted_by,
                    "reason": r.extension.reason,
                    "created_at": _iso(r.extension.created_at),
                },
                "overrides": [
                    {"problem": o.problem_id, "score": o.score, "set_by": o.set_by, "reason": o.reason,
                     "created_at": _iso(o.created_at)}
                    for o in r.overrides
                ],
                "notes": list(r.notes),
            }
            for r in rows
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
