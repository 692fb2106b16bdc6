"""The pytest plugin (grader/pytest_plugin.py), run with pytester in a subprocess
as a student would run it: one item per check, node ids like
`grader::svm_loss::gradient: dW`, the grader's message and hint as the failure
text, and nothing at all unless --grader is given."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest

from test_ci_util import EXAMPLES, ROOT, clean_env, graded  # noqa: F401 - clean_env is a fixture

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def reports():
    """Graded before pytester's fixture snapshots sys.modules: numpy must be imported
    outside it (pytester drops modules a test imported, and numpy cannot load twice)."""
    return {"bug": graded("bug_svm_loss.py"), "correct": graded("correct_vectorized.py", ("graph",))}

STUDENT_TEST = "def test_my_own_check():\n    assert 1 + 1 == 2\n"


def plugin_installed() -> bool:
    return any(ep.name == "grader" and ep.value == "grader.pytest_plugin"
               for ep in metadata.entry_points(group="pytest11"))


@pytest.fixture
def student(pytester, clean_env):
    """A student repository; the grader importable from this tree, the plugin
    loaded through its entry point (or -p when this environment's install predates it)."""
    clean_env.setenv("PYTHONPATH", str(ROOT))
    clean_env.delenv("PYTEST_ADDOPTS", raising=False)
    clean_env.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    pytester.makepyfile(test_mine=STUDENT_TEST)

    def run(*args: str, example: str | None = "bug_svm_loss.py", name: str = "hw2.py"):
        if example is not None:
            (pytester.path / name).write_text((EXAMPLES / example).read_text())
        extra = () if plugin_installed() else ("-p", "grader.pytest_plugin")
        return pytester.runpytest_subprocess(*extra, "-p", "no:cacheprovider", *args, timeout=120)

    return run


def test_the_entry_point_is_declared():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["entry-points"]["pytest11"] == {"grader": "grader.pytest_plugin"}


def test_one_item_per_check_with_the_graders_message(reports, student):
    result = student("--grader", "hw2", "--grader-problem", "graph", "--grader-problem", "svm_loss", "-v",
                     "-rf")
    report = reports["bug"]
    checks = [(p.id, c) for p in report.problems for c in p.checks]
    failed = [(pid, c) for pid, c in checks if not c.passed]
    assert failed
    result.assert_outcomes(passed=len(checks) - len(failed) + 1, failed=len(failed))
    assert result.ret == 1
    out = result.stdout.str()
    for pid, check in checks:
        assert f"grader::{pid}::{check.name} {'PASSED' if check.passed else 'FAILED'}" in out
    for pid, check in failed:
        assert check.message[:60] in out
        if check.hint:
            assert f"hint: {check.hint}" in out
    assert "test_mine.py::test_my_own_check PASSED" in out
    assert "found hw2.py for hw2 (by its file name" in out
    assert f"hw2: {report.score:g} / 25" in out


def test_a_correct_submission_passes(reports, student):
    result = student("--grader", "hw2", "--grader-problem", "graph", example="correct_vectorized.py")
    result.assert_outcomes(passed=len(reports["correct"].problems[0].checks) + 1)
    assert result.ret == 0


def test_inert_without_the_option(student):
    result = student()
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "grader::" not in out and not re.search(r"=+ grader =+", out)
    assert "found hw2.py" not in out


def test_path_option_and_keyword_selection(student, pytester):
    (pytester.path / "work").mkdir()
    (pytester.path / "work" / "answers.py").write_text((EXAMPLES / "bug_svm_loss.py").read_text())
    result = student("--grader", "hw2", "--grader-path", "work/answers.py", "-k", "svm_loss and gradient",
                     "-v", example=None)
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and "passed" not in outcomes and outcomes["deselected"] > 1
    out = result.stdout.str()
    assert "grader::svm_loss::gradient: dW FAILED" in out
    assert "grader::graph::" not in out
    assert "found answers.py for hw2 (as given" in out


def test_no_submission_is_one_failing_item(student):
    result = student("--grader", "hw2", example=None)
    result.assert_outcomes(passed=1, failed=1)
    assert "no hw2.py found" in result.stdout.str()
