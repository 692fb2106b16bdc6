"""GitHub Actions: the Markdown job summary and `::error` annotations.

Workflow commands are lines `::error file=F,line=L,title=T::MESSAGE` on the
step's output. Following GitHub's rules (as the actions toolkit implements
them), the message escapes `%`, `\\r` and `\\n` as `%25`, `%0D`, `%0A`, and
property values additionally escape `:` and `,` as `%3A` and `%2C`. The file
is relative to the repository root (`GITHUB_WORKSPACE`), the line is the
`def` line of the failing function, so the annotation appears on the
student's code in the commit and pull request. One annotation per failing
problem (GitHub shows at most 10 error annotations per step); a problem not
attempted is a warning.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Mapping

from grader.report import ProblemResult, Report

MAX_MESSAGE = 3000
STATUS_MARK = {"passed": "✅", "failed": "❌", "error": "💥", "timeout": "⏱️", "missing": "➖"}
_IMPORT_LINE = re.compile(r"your file cannot be imported: line (\d+):")


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: object) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v not in (None, ""))
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def repo_relative(path: Path, environ: Mapping[str, str]) -> str:
    """`path` relative to GITHUB_WORKSPACE (else to the working directory), as GitHub wants it."""
    resolved = path.resolve()
    for base in (environ.get("GITHUB_WORKSPACE"), os.getcwd()):
        if not base:
            continue
        try:
            return resolved.relative_to(Path(base).resolve()).as_posix()
        except ValueError:
            continue
    return resolved.as_posix()


def _failed_lines(problem: ProblemResult) -> list[str]:
    failed = [c for c in problem.checks if not c.passed]
    if failed and len({c.message for c in failed}) == 1 and len(failed) == len(problem.checks):
        hint = next((c.hint for c in failed if c.hint), None)
        return [failed[0].message] + ([f"hint: {hint}"] if hint else [])
    lines = [f"{c.name} ({c.score:g}/{c.max_score:g}): {c.message}" for c in failed]
    lines += [f"hint: {hint}" for hint in dict.fromkeys(c.hint for c in failed if c.hint)]
    return lines


def _cap(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def annotations(report: Report, file: str) -> list[str]:
    """`::error`/`::warning` lines, one per problem that did not pass."""
    out = []
    seen_import_error = False
    for problem in report.problems:
        if problem.status == "passed":
            continue
        lines = _failed_lines(problem)
        if not lines:
            continue
        line = problem.line
        if line is None and lines:
            match = _IMPORT_LINE.search(lines[0])
            if match:
                if seen_import_error:
                    continue  # the same import error for every problem: annotate it once
                seen_import_error = True
                line = int(match.group(1))
                out.append(workflow_command("error", _cap(lines[0]), file=file, line=line,
                                            title=f"{report.assignment}: your file cannot be imported"))
                continue
        command = "warning" if problem.status == "missing" else "error"
        title = f"{report.assignment} {problem.id}: {problem.score:g}/{problem.max_score:g} points ({problem.status})"
        out.append(workflow_command(command, _cap("\n".join(lines)), file=file, line=line, title=title))
    return out


# ----- the job summary -----------------------------------------------------------------------------
def _md(text: str) -> str:
    """Untrusted text for Markdown: no HTML, no table breaks."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", "")


def _md_block(text: str) -> str:
    return _md(text).replace("\n", "<br>")


def job_summary(report: Report, *, found: str = "", fail_under: float | None = None,
                notices: list[str] | None = None) -> str:
    """A Markdown job summary: the score table, then each failed check with its message and hint."""
    title = f"## grader: {_md(report.assignment)} — {report.score:g} / {report.max_score:g}"
    lines = [title, ""]
    if found:
        lines += [_md(found), ""]
    if fail_under is not None:
        verdict = "passes" if report.score + 1e-9 >= fail_under else "**fails**"
        lines += [f"This check {verdict}: the threshold is {fail_under:g} (`--fail-under`).", ""]
    lines += ["| problem | status | score |", "| --- | --- | ---: |"]
    for p in report.problems:
        lines.append(f"| {_md(p.id)} | {STATUS_MARK.get(p.status, '')} {p.status} | {p.score:g} / {p.max_score:g} |")
    lines.append(f"| **total** | | **{report.score:g} / {report.max_score:g}** |")
    lines.append("")
    for p in report.problems:
        failed = [c for c in p.checks if not c.passed]
        if not failed:
            continue
        where = f", line {p.line}" if p.line else ""
        lines.append(f"### {_md(p.id)}: {p.score:g} / {p.max_score:g} ({p.status}{where})")
        lines.append("")
        if len(failed) == len(p.checks) and len({c.message for c in failed}) == 1:
            lines.append(f"- {_md_block(_cap(failed[0].message))}")
        else:
            hints_shown: set[str] = set()
            for c in failed:
                lines.append(f"- **{_md(c.name)}** ({c.score:g} / {c.max_score:g}): {_md_block(_cap(c.message))}")
                if c.hint and c.hint not in hints_shown:
                    hints_shown.add(c.hint)
                    lines.append(f"  - hint: {_md_block(c.hint)}")
        lines.append("")
    layers = ", ".join(report.sandbox) if report.sandbox else "none (unsandboxed)"
    for notice in notices or []:
        lines += [f"> {_md(notice)}", ""]
    lines.append(f"<sub>student {_md(report.student)} · seed {report.seed} · spec {_md(report.spec_version)} · "
                 f"grader {_md(report.grader_version)} · sandbox: {_md(layers)} · {report.duration_s:.2f} s</sub>")
    return "\n".join(lines) + "\n"


def write_summary(markdown: str, environ: Mapping[str, str]) -> Path | None:
    """Append to $GITHUB_STEP_SUMMARY; None when it is not set."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown)
    return path
