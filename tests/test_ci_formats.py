"""The report in other systems' formats, validated: Gradescope's results.json
against a JSON Schema of Gradescope's autograder specification, JUnit XML parsed
back with counts checked, our JSON against grader/report.schema.json."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from grader.ci.formats import gradescope_error, gradescope_results, junit_counts, junit_xml
from grader.report import CheckResult, ProblemResult, Report
from test_ci_util import ROOT, graded

# Gradescope autograder specification, "Output format" of /autograder/results/results.json:
# score is required unless every test has one; tests[] carry score/max_score/name/output/visibility
# and may carry status, name_format, number, output_format, tags, extra_data.
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
GRADESCOPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string"},
                    "name_format": FORMAT,
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": FORMAT,
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": VISIBILITY,
                    "extra_data": {"type": "object"},
                },
                "required": ["name", "score", "max_score"],
                "additionalProperties": False,
            },
        },
        "leaderboard": {"type": "array"},
    },
    "anyOf": [
        {"required": ["score"]},
        {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}},
    ],
    "additionalProperties": False,
}


def validate_gradescope(data: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(GRADESCOPE_SCHEMA)
    jsonschema.validate(data, GRADESCOPE_SCHEMA, cls=jsonschema.Draft202012Validator)


def synthetic(status: str = "failed", message: str = "dW is wrong", hint: str | None = "use the chain rule") -> Report:
    checks = [CheckResult(name="value: f", passed=True, score=2.0, max_score=2.0),
              CheckResult(name="gradient: dW", passed=False, score=0.0, max_score=3.0, message=message, hint=hint)]
    problems = [ProblemResult(id="p1", score=2.0, max_score=5.0, status=status, checks=checks, line=7),
                ProblemResult(id="p2", score=4.0, max_score=4.0, status="passed",
                              checks=[CheckResult(name="value: g", passed=True, score=4.0, max_score=4.0)])]
    return Report(assignment="hw2", student="s", submission_sha256="0" * 64, score=6.0, max_score=9.0,
                  problems=problems, sandbox=["process"])


# ----- Gradescope -------------------------------------------------------------------------
@pytest.mark.parametrize("example", ["correct_vectorized.py", "bug_svm_loss.py", "syntax_error.py",
                                     "not_attempted.py"])
def test_gradescope_results_match_the_specification(example):
    report = graded(example)
    data = json.loads(json.dumps(gradescope_results(report, found="found hw2.py")))
    validate_gradescope(data)
    assert data["score"] == report.score
    assert len(data["tests"]) == sum(len(p.checks) for p in report.problems)
    assert data["output"].startswith(f"hw2: {report.score:g} / {report.max_score:g}")
    for test in data["tests"]:
        assert test["score"] <= test["max_score"] + 1e-9
        assert test["visibility"] == "visible"
    assert abs(sum(t["max_score"] for t in data["tests"]) - report.max_score) < 0.01


def test_gradescope_failed_checks_carry_message_and_hint():
    data = gradescope_results(graded("bug_svm_loss.py"))
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and all(t["name"].startswith("svm_loss: ") for t in failed)
    assert all("hint: " in t["output"] for t in failed)
    assert all(t["output"] for t in failed)
    passed = [t for t in data["tests"] if t["name"].startswith("graph: ")]
    assert passed and all(t["status"] == "passed" and t["score"] == t["max_score"] for t in passed)


def test_gradescope_error_results_match_the_specification():
    data = gradescope_error("no hw2.py found")
    validate_gradescope(data)
    assert data["score"] == 0 and "no hw2.py found" in data["output"]


def test_the_schema_rejects_what_gradescope_would():
    for bad in ({"tests": [{"name": "x", "max_score": 1}]},  # no score anywhere
                {"score": 1, "visibility": "sometimes"},
                {"score": 1, "tests": [{"name": "x", "score": 1, "max_score": 1, "status": "ok"}]}):
        with pytest.raises(jsonschema.ValidationError):
            validate_gradescope(bad)


def test_gradescope_visibility_option():
    data = gradescope_results(synthetic(), visibility="after_published")
    validate_gradescope(data)
    assert {t["visibility"] for t in data["tests"]} == {"after_published"}
    with pytest.raises(ValueError):
        gradescope_results(synthetic(), visibility="later")


# ----- JUnit ------------------------------------------------------------------------------
def parse(xml_text: str) -> ET.Element:
    return ET.fromstring(xml_text.encode("utf-8"))


def count(element: ET.Element, tag: str) -> int:
    return len(element.findall(f".//testcase/{tag}"))


@pytest.mark.parametrize("example", ["correct_vectorized.py", "bug_svm_loss.py", "syntax_error.py",
                                     "not_attempted.py"])
def test_junit_parses_and_counts_are_right(example):
    report = graded(example)
    root = parse(junit_xml(report, file="src/hw2.py"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [p.id for p in report.problems]
    cases = root.findall(".//testcase")
    assert int(root.get("tests")) == len(cases) == sum(len(p.checks) for p in report.problems)
    assert int(root.get("failures")) == count(root, "failure")
    assert int(root.get("errors")) == count(root, "error")
    assert int(root.get("skipped")) == count(root, "skipped") == 0
    for suite, problem in zip(suites, report.problems):
        assert int(suite.get("tests")) == len(suite.findall("testcase")) == len(problem.checks)
        assert int(suite.get("failures")) == count(suite, "failure")
        assert int(suite.get("errors")) == count(suite, "error")
        for case, check in zip(suite.findall("testcase"), problem.checks):
            assert case.get("classname") == problem.id and case.get("name") == check.name
            assert case.get("file") == "src/hw2.py"
            bad = case.find("failure") if case.find("failure") is not None else case.find("error")
            assert (bad is None) == check.passed
            if bad is not None:
                assert check.message.split("\n")[0][:40] in bad.get("message")
                if check.hint:
                    assert f"hint: {check.hint}" in bad.get("message") and f"hint: {check.hint}" in bad.text
    assert junit_counts(report)["tests"] == len(cases)


def test_junit_failure_kinds():
    bug = parse(junit_xml(graded("bug_svm_loss.py")))
    assert int(bug.get("failures")) > 0 and int(bug.get("errors")) == 0
    broken = parse(junit_xml(graded("syntax_error.py")))
    assert int(broken.get("errors")) == int(broken.get("tests")) and int(broken.get("failures")) == 0
    assert "SyntaxError" in broken.find(".//error").get("message")
    ok = parse(junit_xml(graded("correct_vectorized.py")))
    assert (ok.get("failures"), ok.get("errors")) == ("0", "0")


def test_junit_line_and_properties():
    root = parse(junit_xml(synthetic(), file="hw2.py"))
    suite = root.find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["score"] == "2" and props["max_score"] == "5" and props["status"] == "failed"
    assert suite.find("testcase").get("line") == "7"
    failure = root.find(".//failure")
    assert failure.get("message") == "dW is wrong hint: use the chain rule"
    assert failure.get("type") == "failed"


def test_junit_missing_is_a_failure_and_timeouts_are_errors():
    root = parse(junit_xml(synthetic(status="missing")))
    assert root.find(".//failure").get("type") == "not-attempted"
    root = parse(junit_xml(synthetic(status="timeout")))
    assert root.get("errors") == "1" and root.find(".//error").get("type") == "timeout"


def test_junit_survives_characters_xml_cannot_hold():
    nasty = "bad \x00\x1b[31m\x08 <tag> & \"quotes\" \ud800 ]]> end"
    root = parse(junit_xml(synthetic(message=nasty, hint="\x07ring")))
    message = root.find(".//failure").get("message")
    assert "<tag> & \"quotes\"" in message and "]]> end" in message
    assert "\x00" not in message and "\x1b" not in message


# ----- our own JSON ----------------------------------------------------------------------------
def test_json_payload_matches_the_report_schema(tmp_path):
    from grader.ci.discover import find_submission
    from grader.ci.environment import CiEnvironment
    from grader.ci.run import CiRun, payload
    from grader.packs import problems_root

    report = graded("bug_svm_loss.py")
    found = find_submission(ROOT / "submissions" / "examples" / "hw2" / "bug_svm_loss.py", assignment="hw2",
                            problems_root=problems_root())
    run = CiRun(found, CiEnvironment("local", "alice", "test"), report, report.max_score)
    data = json.loads(payload(run, "json", {}))
    jsonschema.validate(data, json.loads((ROOT / "grader" / "report.schema.json").read_text()))
    validate_gradescope(json.loads(payload(run, "gradescope", {})))
    parse(payload(run, "junit", {}))
    assert "svm_loss" in payload(run, "text", {})
