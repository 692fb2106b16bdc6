"""GitHub Actions: workflow-command escaping, `::error` annotations at the def
line of each failing function (path relative to GITHUB_WORKSPACE), and the
Markdown job summary appended to $GITHUB_STEP_SUMMARY; the environment and
files are simulated (monkeypatched variables, temporary files)."""

from __future__ import annotations

import json
import re

import pytest

from grader.ci import github
from grader.ci.environment import detect
from grader.report import CheckResult, ProblemResult, Report
from test_ci_util import EXAMPLES, clean_env, graded, invoke, make_repo  # noqa: F401 - clean_env is a fixture

ANNOTATION = re.compile(r"^::(error|warning) (?P<props>[^:]*)::(?P<message>.*)$")


def parse_annotation(line: str) -> tuple[str, dict[str, str], str]:
    match = ANNOTATION.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group("props").split(","))
    return match.group(1), props, match.group("message")


def unescape(text: str) -> str:
    return (text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
            .replace("%25", "%"))


# ----- escaping ---------------------------------------------------------------------------------
def test_escaping_follows_the_workflow_command_rules():
    assert github.escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert github.escape_property("a: b, c%\n") == "a%3A b%2C c%25%0A"
    line = github.workflow_command("error", "50% of\nit", file="dir/my file,v2.py", line=3, title="p: 1/2, ok")
    assert line == "::error file=dir/my file%2Cv2.py,line=3,title=p%3A 1/2%2C ok::50%25 of%0Ait"
    assert "\n" not in line


def test_escaping_round_trips():
    text = "x%0A: y,\n%25 z\r"
    assert unescape(github.escape_property(text)) == text
    assert unescape(github.escape_data("%0A literal")) == "%0A literal"


def test_a_line_is_left_out_when_unknown():
    assert github.workflow_command("warning", "m", file="a.py", line=None, title="t") == "::warning file=a.py,title=t::m"


# ----- annotations ------------------------------------------------------------------------------
def test_one_error_per_failing_function_at_its_def_line():
    report = graded("bug_svm_loss.py")
    svm = next(p for p in report.problems if p.id == "svm_loss")
    lines = github.annotations(report, "src/hw2.py")
    assert len(lines) == 1
    kind, props, message = parse_annotation(lines[0])
    source = (EXAMPLES / "bug_svm_loss.py").read_text().splitlines()
    assert kind == "error" and props["file"] == "src/hw2.py"
    assert source[int(props["line"]) - 1].startswith("def svm_loss(") and int(props["line"]) == svm.line
    assert unescape(props["title"]).startswith(f"hw2 svm_loss: {svm.score:g}/20 points (failed)")
    text = unescape(message)
    for check in svm.checks:
        if not check.passed:
            assert check.name in text
    assert text.count("hint: ") == 1  # the same hint for three checks is given once


def test_no_annotation_when_everything_passes():
    assert github.annotations(graded("correct_vectorized.py"), "hw2.py") == []


def test_an_import_error_is_annotated_once_at_its_line():
    lines = github.annotations(graded("syntax_error.py"), "hw2.py")
    assert len(lines) == 1
    _, props, message = parse_annotation(lines[0])
    assert props["line"] == "11" and "SyntaxError" in unescape(message)


def test_not_attempted_is_a_warning():
    checks = [CheckResult(name="value: f", passed=False, score=0, max_score=1, message="not attempted")]
    report = Report(assignment="hw2", student="s", submission_sha256="0" * 64, score=0, max_score=1,
                    problems=[ProblemResult(id="graph", score=0, max_score=1, status="missing", checks=checks,
                                            line=5)])
    kind, props, message = parse_annotation(github.annotations(report, "hw2.py")[0])
    assert (kind, props["line"], message) == ("warning", "5", "not attempted")


def test_repo_relative(tmp_path, monkeypatch):
    repo = make_repo(tmp_path, {"a/b/hw2.py": "x = 1\n"})
    monkeypatch.chdir(tmp_path)
    assert github.repo_relative(repo / "a" / "b" / "hw2.py", {"GITHUB_WORKSPACE": str(repo)}) == "a/b/hw2.py"
    assert github.repo_relative(repo / "a" / "b" / "hw2.py", {}) == "repo/a/b/hw2.py"


# ----- the job summary --------------------------------------------------------------------------
def test_summary_has_the_table_and_failed_checks_with_hints():
    report = graded("bug_svm_loss.py")
    md = github.job_summary(report, found="found src/hw2.py", fail_under=report.max_score)
    assert md.startswith(f"## grader: hw2 — {report.score:g} / {report.max_score:g}")
    assert "| problem | status | score |" in md
    assert "| graph | ✅ passed | 5 / 5 |" in md
    svm = next(p for p in report.problems if p.id == "svm_loss")
    assert f"| svm_loss | ❌ failed | {svm.score:g} / 20 |" in md
    assert f"| **total** | | **{report.score:g} / {report.max_score:g}** |" in md
    assert "This check **fails**" in md
    for check in svm.checks:
        if not check.passed:
            assert f"**{check.name.replace('>', '&gt;')}**" in md
    assert md.count("  - hint: ") == 1


def test_summary_escapes_untrusted_text():
    checks = [CheckResult(name="value: f", passed=True, score=1, max_score=1),
              CheckResult(name="gradient: x", passed=False, score=0, max_score=1,
                          message="<img src=x onerror=alert(1)> a | b\nline two")]
    report = Report(assignment="hw2", student="<b>me</b>", submission_sha256="0" * 64, score=1, max_score=2,
                    problems=[ProblemResult(id="graph", score=1, max_score=2, status="failed", checks=checks)])
    md = github.job_summary(report)
    assert "<img" not in md and "&lt;img" in md and "<b>me" not in md
    assert "a \\| b<br>line two" in md


def test_summary_is_appended_to_the_step_summary_file(tmp_path):
    target = tmp_path / "step_summary.md"
    target.write_text("earlier step\n")
    assert github.write_summary("## mine\n", {"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert target.read_text() == "earlier step\n## mine\n"
    assert github.write_summary("x", {}) is None


# ----- who the student is -----------------------------------------------------------------------
def test_student_from_github_variables():
    env = {"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "alice", "GITHUB_REPOSITORY_OWNER": "cs231-fall"}
    assert (detect(env).kind, detect(env).student) == ("github", "alice")
    env["GITHUB_ACTOR"] = "dependabot[bot]"
    assert detect(env).student == "cs231-fall"
    assert detect({"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY_OWNER": "bob"}).student == "bob"


def test_student_from_gradescope_metadata(tmp_path):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"id": 1, "users": [{"email": "carol@uni.edu", "id": 7, "name": "Carol"}],
                                "assignment": {"title": "hw2"}}))
    env = detect({"GRADER_GRADESCOPE_METADATA": str(meta)})
    assert (env.kind, env.student) == ("gradescope", "carol@uni.edu")
    meta.write_text(json.dumps({"users": [{"name": "Dan"}]}))
    assert detect({"GRADER_GRADESCOPE_METADATA": str(meta)}).student == "Dan"
    meta.write_text("not json")
    assert detect({"GRADER_GRADESCOPE_METADATA": str(meta)}).kind == "gradescope"


def test_student_elsewhere_is_the_os_user(tmp_path):
    env = detect({"GRADER_GRADESCOPE_METADATA": str(tmp_path / "none.json")})
    assert env.kind == "local" and env.student


# ----- end to end through the CLI ---------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_grader_ci_in_github_actions(tmp_path, clean_env, fmt):
    repo = make_repo(tmp_path, {"src/hw2.py": EXAMPLES / "bug_svm_loss.py"})
    summary = tmp_path / "summary.md"
    summary.write_text("")
    clean_env.setenv("GITHUB_ACTIONS", "true")
    clean_env.setenv("GITHUB_ACTOR", "alice")
    clean_env.setenv("GITHUB_REPOSITORY_OWNER", "course-org")
    clean_env.setenv("GITHUB_WORKSPACE", str(repo))
    clean_env.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = invoke("ci", repo, "--db", tmp_path / "g.db", "--problem", "graph", "--problem", "svm_loss",
                    "--format", fmt)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    stream = result.stdout if fmt == "text" else result.stderr  # stdout stays pure JSON
    errors = [line for line in stream.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1
    _, props, _ = parse_annotation(errors[0])
    assert props["file"] == "src/hw2.py"
    assert (repo / "src" / "hw2.py").read_text().splitlines()[int(props["line"]) - 1].startswith("def svm_loss(")
    if fmt == "json":
        report = json.loads(result.stdout)
        assert report["student"] == "alice"
    md = summary.read_text()
    expected = graded("bug_svm_loss.py")  # the same seed and file: the same report
    svm = next(p for p in expected.problems if p.id == "svm_loss")
    assert f"## grader: hw2 — {expected.score:g} / 25" in md
    assert f"| svm_loss | ❌ failed | {svm.score:g} / 20 |" in md
    assert "student alice" in md


def test_grader_ci_error_in_github_actions_is_annotated(tmp_path, clean_env):
    clean_env.setenv("GITHUB_ACTIONS", "true")
    repo = make_repo(tmp_path, {"README.md": "nothing here"})
    result = invoke("ci", repo, "--db", tmp_path / "g.db", "--assignment", "hw2")
    assert result.exit_code == 2
    assert any(line.startswith("::error title=grader::") for line in result.stdout.splitlines())


def test_no_github_output_outside_github(tmp_path, clean_env):
    repo = make_repo(tmp_path, {"hw2.py": EXAMPLES / "bug_svm_loss.py"})
    summary = tmp_path / "summary.md"
    clean_env.setenv("GITHUB_STEP_SUMMARY", str(summary))  # set, but GITHUB_ACTIONS is not
    result = invoke("ci", repo, "--db", tmp_path / "g.db", "--problem", "svm_loss")
    assert result.exit_code == 1
    assert "::error" not in result.stdout + result.stderr
    assert not summary.exists()
