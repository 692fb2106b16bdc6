"""`grader ci`: find the submission, grade it through the pipeline (source "ci"),
and produce what each CI system reads. Printing and exit codes stay in cli.py.

The gradebook in CI: `--db` or `GRADER_DATABASE_URL`, as everywhere, and a
failure to write it is exit 4. Without either, the submission goes to the
default gradebook, which on a CI runner is a local file thrown away with the
runner; if even that cannot be written, the submission is graded without
being stored and a notice says so (the grade is what the student's CI needs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from grader.ci.discover import Found, find_submission
from grader.ci.environment import CiEnvironment, detect
from grader.errors import StoreError, UsageError
from grader.report import Report

SCORE_EPSILON = 1e-6


@dataclass
class CiRun:
    found: Found
    env: CiEnvironment
    report: Report
    threshold: float
    stored: bool = True
    notices: list[str] = field(default_factory=list)

    @property
    def below_threshold(self) -> bool:
        return self.report.score < self.threshold - SCORE_EPSILON


def locate(path: Path, *, assignment: str | None, problems: Path | None) -> tuple[Path, Found]:
    from grader.packs import problems_root

    root = problems_root(problems)
    return root, find_submission(path, assignment=assignment, problems_root=root)


def missing_layers_notice(layers: list[str]) -> str | None:
    from grader.sandbox import INSTRUCTOR_LAYERS

    missing = [layer for layer in INSTRUCTOR_LAYERS if layer not in layers]
    if not missing:
        return None
    return (f"notice: your code ran without {' and '.join(missing)} isolation on this machine "
            "(fine for your own code; run `grader doctor` to see why and how to fix it)")


def check_fail_under(value: float | None) -> None:
    import math

    if value is not None and (not math.isfinite(value) or value < 0):
        raise UsageError(f"--fail-under {value}: give a score from 0 up to the assignment's full marks")


def grade_found(found: Found, *, problems_root: Path, student: str | None, db_url: str | None,
                only: list[str] | None, fail_under: float | None, environ: Mapping[str, str] | None = None,
                launcher=None) -> CiRun:
    from grader.pipeline import grade, grade_and_store, read_submission

    environ = os.environ if environ is None else environ
    check_fail_under(fail_under)
    env = detect(environ)
    who = student or env.student
    notices: list[str] = []
    stored = True
    explicit_db = bool(db_url or environ.get("GRADER_DATABASE_URL"))
    try:
        report = grade_and_store(found.path, assignment=found.assignment, student=who, db_url=db_url, seed=None,
                                 only=only, problems_root=problems_root, source="ci", launcher=launcher)
    except StoreError as exc:
        if explicit_db:
            raise
        from grader.packs import load_pack

        report = grade(read_submission(found.path), load_pack(found.assignment, problems_root), student=who,
                       only=only, launcher=launcher)
        stored = False
        notices.append(f"notice: graded without storing: the default gradebook cannot be written ({exc})")
    layers = missing_layers_notice(report.sandbox)
    if layers:
        notices.append(layers)
    threshold = report.max_score if fail_under is None else fail_under
    return CiRun(found, env, report, threshold, stored, notices)


def render_text(report: Report, width: int = 120) -> str:
    """The text report as plain text (for --output with --format text)."""
    import io

    from rich.console import Console

    from grader.render import report_renderable

    buffer = io.StringIO()
    Console(file=buffer, width=width, no_color=True, color_system=None, soft_wrap=False).print(
        report_renderable(report))
    return buffer.getvalue()


def payload(run: CiRun, fmt: str, environ: Mapping[str, str] | None = None) -> str:
    """The report in `fmt` (json, gradescope or junit) as the text to write."""
    import json

    from grader.ci import formats
    from grader.ci.github import repo_relative

    environ = os.environ if environ is None else environ
    if fmt == "json":
        return run.report.model_dump_json(indent=2) + "\n"
    if fmt == "gradescope":
        return json.dumps(formats.gradescope_results(run.report, found=run.found.describe(), notices=run.notices),
                          indent=2) + "\n"
    if fmt == "junit":
        return formats.junit_xml(run.report, file=repo_relative(run.found.path, environ))
    if fmt == "text":
        return render_text(run.report)
    raise UsageError(f"unknown format {fmt!r}")


def github_outputs(run: CiRun, environ: Mapping[str, str] | None = None) -> tuple[list[str], str | None]:
    """(annotation lines, where the job summary went) when running in GitHub Actions."""
    from grader.ci import github

    environ = os.environ if environ is None else environ
    lines = github.annotations(run.report, github.repo_relative(run.found.path, environ))
    summary = github.job_summary(run.report, found=run.found.describe(), fail_under=run.threshold,
                                 notices=run.notices)
    try:
        where = github.write_summary(summary, environ)
    except OSError as exc:
        run.notices.append(f"notice: cannot write the job summary to $GITHUB_STEP_SUMMARY ({exc.strerror})")
        where = None
    return lines, (str(where) if where else None)


def write_output(path: Path, text: str) -> None:
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot be written ({exc.strerror}); choose another --output") from None
