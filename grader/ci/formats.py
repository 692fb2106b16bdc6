"""The report in other systems' formats: Gradescope's results.json and JUnit XML.

Gradescope (autograder specification, "Output format"): a top-level `score`
(it overrides the sum of the tests), `execution_time`, `output`,
`visibility`, `stdout_visibility`, `extra_data` and `tests[]`, each with
`name`, `score`, `max_score`, `status` ("passed"/"failed"), `output`,
`output_format`, `tags` and `visibility`. One test per check, named
"<problem>: <check>".

JUnit: `<testsuites>` for the report, one `<testsuite>` per problem, one
`<testcase>` per check with `classname` = the problem id (and `file`/`line`
of the function's `def`, which several report viewers link to). A failed
check of a problem that errored or timed out is an `<error>`; any other
failed check, including a problem not attempted, is a `<failure>`; nothing
is skipped. Every `message` carries the grader's message and its hint.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from grader.report import CheckResult, ProblemResult, Report

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")

# characters XML 1.0 cannot hold (a student's exception message may contain any)
_XML_ILLEGAL = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_text(check: CheckResult) -> str:
    """A check's message and, when the grader recognised the mistake, its hint."""
    text = check.message or ""
    if check.hint:
        text = f"{text}\nhint: {check.hint}" if text else f"hint: {check.hint}"
    return text


def summary_line(report: Report) -> str:
    return f"{report.assignment}: {report.score:g} / {report.max_score:g}"


# ----- Gradescope ---------------------------------------------------------------------------------
def gradescope_results(report: Report, *, found: str = "", notices: list[str] | None = None,
                       visibility: str = "visible") -> dict:
    """results.json for Gradescope from a report."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    tests = []
    for problem in report.problems:
        for check in problem.checks:
            tests.append({
                "name": f"{problem.id}: {check.name}",
                "score": check.score,
                "max_score": check.max_score,
                "status": "passed" if check.passed else "failed",
                "output": check_text(check),
                "output_format": "text",
                "tags": [problem.id],
                "visibility": visibility,
            })
    lines = [summary_line(report)]
    if found:
        lines.append(found)
    lines.append("sandbox: " + (", ".join(report.sandbox) if report.sandbox else "none (unsandboxed)"))
    lines.extend(notices or [])
    return {
        "score": report.score,
        "execution_time": int(math.ceil(report.duration_s)),
        "output": "\n".join(lines),
        "output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "extra_data": {
            "assignment": report.assignment, "student": report.student, "max_score": report.max_score,
            "submission_sha256": report.submission_sha256, "grader_version": report.grader_version,
            "spec_version": report.spec_version, "seed": report.seed, "sandbox": report.sandbox,
            "filename": report.filename,
        },
        "tests": tests,
    }


def gradescope_error(message: str) -> dict:
    """results.json when nothing could be graded: score 0 and the reason, so the
    student sees why instead of Gradescope's "the autograder failed"."""
    return {"score": 0.0, "output": f"could not grade this submission: {message}", "output_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


# ----- JUnit ---------------------------------------------------------------------------------------
def _x(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _outcome(problem: ProblemResult, check: CheckResult) -> str:
    if check.passed:
        return "passed"
    return "error" if problem.status in ("error", "timeout") else "failure"


def junit_counts(report: Report) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for problem in report.problems:
        for check in problem.checks:
            counts["tests"] += 1
            outcome = _outcome(problem, check)
            if outcome == "failure":
                counts["failures"] += 1
            elif outcome == "error":
                counts["errors"] += 1
    return counts


def junit_xml(report: Report, *, file: str | None = None) -> str:
    """JUnit XML: one testsuite per problem, one testcase per check."""
    totals = junit_counts(report)
    root = ET.Element("testsuites", {
        "name": _x(f"grader {report.assignment}"), "time": f"{report.duration_s:.3f}",
        **{k: str(v) for k, v in totals.items()},
    })
    for problem in report.problems:
        sub = Report(assignment=report.assignment, student=report.student,
                     submission_sha256=report.submission_sha256, score=problem.score,
                     max_score=problem.max_score, problems=[problem])
        counts = junit_counts(sub)
        suite = ET.SubElement(root, "testsuite", {
            "name": _x(problem.id), "time": "0", **{k: str(v) for k, v in counts.items()},
        })
        props = ET.SubElement(suite, "properties")
        for name, value in (("score", _fmt(problem.score)), ("max_score", _fmt(problem.max_score)),
                            ("status", problem.status), ("student", report.student),
                            ("submission_sha256", report.submission_sha256)):
            ET.SubElement(props, "property", {"name": name, "value": _x(value)})
        for check in problem.checks:
            attrs = {"name": _x(check.name), "classname": _x(problem.id), "time": "0"}
            if file:
                attrs["file"] = _x(file)
                if problem.line:
                    attrs["line"] = str(problem.line)
            case = ET.SubElement(suite, "testcase", attrs)
            outcome = _outcome(problem, check)
            points = f"{_fmt(check.score)} / {_fmt(check.max_score)} points"
            if outcome == "passed":
                if check.message:
                    ET.SubElement(case, "system-out").text = _x(f"{points}: {check.message}")
                continue
            text = check_text(check)
            kind = "not-attempted" if problem.status == "missing" else problem.status
            element = ET.SubElement(case, outcome, {"message": _x(text.replace("\n", " ")), "type": _x(kind)})
            element.text = _x(f"{points}\n{text}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
