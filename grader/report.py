"""The grading report: what a student sees, what the store keeps, what CI reads.

The report is a pydantic model; its JSON Schema is exported to
`grader/report.schema.json` (see `tests/test_report_schema.py`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ProblemStatus = Literal["passed", "failed", "error", "timeout", "missing"]


class CheckResult(BaseModel):
    """One check of one problem, e.g. "dW matches finite differences"."""

    name: str
    passed: bool
    score: float
    max_score: float
    message: str = Field("", description="What went wrong and what to do; empty when passed.")
    hint: str | None = Field(None, description="A recognised mistake, in one sentence.")
    case: str | None = Field(None, description="The case the message is about.")


class ProblemResult(BaseModel):
    id: str
    score: float
    max_score: float
    status: ProblemStatus
    checks: list[CheckResult]
    line: int | None = Field(None, description="Line of the function's def in the submission.")


class Report(BaseModel):
    assignment: str
    student: str
    submission_sha256: str
    score: float
    max_score: float
    problems: list[ProblemResult]
    grader_version: str = ""
    spec_version: str = ""
    seed: int = 0
    sandbox: list[str] = Field(
        default_factory=list,
        description="Isolation layers that were active; empty means unsandboxed.",
    )
    output: str = Field("", description="The submission's captured stdout/stderr (untrusted, capped).")
    duration_s: float = 0.0
    filename: str = ""


def report_schema() -> dict:
    return Report.model_json_schema()
