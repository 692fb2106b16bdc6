"""Grading outcomes through grader.pipeline.grade_and_store: the bundled
examples, and hand-made submissions for each rule (exceptions, mutation,
non-finite outputs, the shape rule, loose return types, missing functions)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.pipeline import grade_and_store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions" / "examples" / "hw2"
CORRECT_SOURCE = (EXAMPLES / "correct_vectorized.py").read_text()
PROBLEMS = ["graph", "sigmoid_neuron", "add_gate_backward", "mul_gate_backward", "max_gate_backward", "l2_wx",
            "two_layer", "softmax_loss", "svm_loss"]
POINTS = {"graph": 5, "sigmoid_neuron": 10, "add_gate_backward": 5, "mul_gate_backward": 5, "max_gate_backward": 5,
          "l2_wx": 10, "two_layer": 20, "softmax_loss": 20, "svm_loss": 20}


def grade(path: Path, tmp_path: Path, only: list[str] | None = None, seed: int | None = None):
    return grade_and_store(Path(path), assignment="hw2", student="tester", db_url=str(tmp_path / "g.db"),
                           seed=seed, only=only, problems_root=None)


def grade_source(tmp_path: Path, source: str, only: list[str] | None = None, name: str = "hw2.py"):
    path = tmp_path / name
    path.write_text(source)
    return grade(path, tmp_path, only)


def with_override(override: str) -> str:
    """The correct submission with one function redefined at the end."""
    return CORRECT_SOURCE + "\n\n" + override.strip() + "\n"


def by_id(report):
    return {p.id: p for p in report.problems}


def failed_checks(problem):
    return {c.name: c.message for c in problem.checks if not c.passed}


def line_of(source: str, needle: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if needle in line)


# ----- the bundled examples -------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["correct_vectorized.py", "correct_loops.py", "correct_loose_types.py",
                                  "correct_styles.py"])
def test_correct_examples_get_full_marks(tmp_path, name):
    report = grade(EXAMPLES / name, tmp_path)
    assert report.max_score == 100.0
    assert report.score == 100.0, {p.id: failed_checks(p) for p in report.problems if p.status != "passed"}
    assert all(p.status == "passed" for p in report.problems)
    assert [p.id for p in report.problems] == PROBLEMS


@pytest.mark.slow
@pytest.mark.parametrize("broken", PROBLEMS)
def test_each_seeded_bug_loses_points_on_exactly_its_problem(tmp_path, broken):
    report = grade(EXAMPLES / f"bug_{broken}.py", tmp_path)
    problems = by_id(report)
    for pid, p in problems.items():
        if pid == broken:
            assert p.status == "failed" and 0 <= p.score < p.max_score, (pid, p.score)
            assert failed_checks(p) and all(failed_checks(p).values()), "every failed check says why"
        else:
            assert p.status == "passed" and p.score == p.max_score, (broken, pid, failed_checks(p))


def test_not_attempted_starter_scores_graph_only(tmp_path):
    report = grade(EXAMPLES / "not_attempted.py", tmp_path)
    problems = by_id(report)
    assert problems["graph"].status == "passed" and problems["graph"].score == 5.0
    for pid in PROBLEMS[1:]:
        assert problems[pid].status == "missing", pid
        assert problems[pid].score == 0.0
        assert "not attempted" in problems[pid].checks[0].message
    assert report.score == 5.0


def test_starter_file_is_all_missing_not_error(tmp_path):
    report = grade(ROOT / "problems" / "hw2" / "starter.py", tmp_path)
    assert {p.status for p in report.problems} == {"missing"}
    assert report.score == 0.0


def test_syntax_error_grades_every_problem_as_error_with_the_line(tmp_path):
    report = grade(EXAMPLES / "syntax_error.py", tmp_path)
    assert [p.id for p in report.problems] == PROBLEMS
    for p in report.problems:
        assert p.status == "error" and p.score == 0.0, p.id
        for check in p.checks:
            assert not check.passed
            assert "11" in check.message and "SyntaxError" in check.message, check.message
    assert report.score == 0.0 and report.max_score == 100.0


# ----- exceptions inside a call ---------------------------------------------------------------------
RAISES = """
def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    raise ValueError("shapes do not match: " + str(N))
"""


def test_function_that_raises_scores_0_with_the_exception_and_line(tmp_path):
    source = with_override(RAISES)
    report = grade_source(tmp_path, source, ["softmax_loss", "graph"])
    problems = by_id(report)
    p = problems["softmax_loss"]
    assert p.status == "error"
    line = line_of(source, "raise ValueError")
    for check in p.checks:
        if check.name == "signature":
            continue
        assert not check.passed and check.score == 0.0, check.name
        assert "ValueError" in check.message and "shapes do not match" in check.message, check.message
        assert f"line {line}" in check.message, check.message
    assert problems["graph"].score == 5.0


def test_function_that_raises_on_some_cases_only_keeps_other_credit(tmp_path):
    source = with_override("""
_real_svm = svm_loss
def svm_loss(W, X, y, reg):
    if X.shape[0] == 1:
        raise IndexError("edge case")
    return _real_svm(W, X, y, reg)
""")
    p = by_id(grade_source(tmp_path, source, ["svm_loss"]))["svm_loss"]
    assert p.status == "error"
    assert 0 < p.score < p.max_score
    assert any("IndexError" in m and "edge case" in m for m in failed_checks(p).values())


def test_crash_in_one_problem_does_not_zero_the_others(tmp_path):
    source = with_override("""
def l2_wx(W, x):
    import os
    os._exit(3)
""")
    problems = by_id(grade_source(tmp_path, source, ["graph", "l2_wx", "svm_loss"]))
    l2 = problems["l2_wx"]
    assert l2.status == "error"
    assert all(c.score == 0.0 for c in l2.checks if c.name != "signature"), l2.checks
    assert all("exited with code 3" in c.message for c in l2.checks if c.name != "signature")
    assert problems["graph"].score == 5.0 and problems["svm_loss"].score == 20.0


# ----- no input mutation ----------------------------------------------------------------------------
MUTATES = """
_real_softmax = softmax_loss
def softmax_loss(W, X, y, reg):
    loss, dW = _real_softmax(W.copy(), X.copy(), y, reg)
    X *= 2.0
    return loss, dW
"""
HARMLESS_IN_PLACE = """
_real_softmax = softmax_loss
def softmax_loss(W, X, y, reg):
    X *= 1.0
    W += 0.0
    return _real_softmax(W, X, y, reg)
"""


def test_input_mutation_is_detected(tmp_path):
    p = by_id(grade_source(tmp_path, with_override(MUTATES), ["softmax_loss"]))["softmax_loss"]
    failed = failed_checks(p)
    assert "unmodified" in failed, failed
    assert "X" in failed["unmodified"] and "modified" in failed["unmodified"]
    assert not {"value: loss", "shape: dW", "gradient: dW", "finite"} & failed.keys(), failed
    assert p.status == "failed"


def test_input_mutation_fails_only_the_unmodified_check(tmp_path):
    p = by_id(grade_source(tmp_path, with_override(MUTATES), ["softmax_loss"]))["softmax_loss"]
    assert list(failed_checks(p)) == ["unmodified"]


def test_mutating_y_or_a_vector_is_detected(tmp_path):
    source = with_override("""
_real_svm = svm_loss
def svm_loss(W, X, y, reg):
    out = _real_svm(W, X, y.copy(), reg)
    y[0] = (y[0] + 1) % W.shape[1]
    return out
""")
    failed = failed_checks(by_id(grade_source(tmp_path, source, ["svm_loss"]))["svm_loss"])
    assert "unmodified" in failed and "y" in failed["unmodified"]


def test_in_place_operations_that_change_nothing_are_not_mutation(tmp_path):
    p = by_id(grade_source(tmp_path, with_override(HARMLESS_IN_PLACE), ["softmax_loss"]))["softmax_loss"]
    assert p.score == 20.0, failed_checks(p)


# ----- finite outputs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("override", [
    "loss, dW = _real_softmax(W, X, y, reg)\n    dW = dW.copy()\n    dW[0, 0] = float('nan')\n    return loss, dW",
    "loss, dW = _real_softmax(W, X, y, reg)\n    return float('inf'), dW",
])
def test_non_finite_outputs_are_detected(tmp_path, override):
    source = with_override(f"_real_softmax = softmax_loss\ndef softmax_loss(W, X, y, reg):\n    {override}\n")
    p = by_id(grade_source(tmp_path, source, ["softmax_loss"]))["softmax_loss"]
    failed = failed_checks(p)
    assert "finite" in failed and ("NaN" in failed["finite"] or "infinity" in failed["finite"])
    assert p.status == "failed"


def test_naive_softmax_fails_only_the_stability_check(tmp_path):
    source = with_override("""
def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    e = np.exp(X @ W)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).mean() + reg * np.sum(W * W)
    p[np.arange(N), y] -= 1.0
    return float(loss), X.T @ p / N + 2.0 * reg * W
""")
    p = by_id(grade_source(tmp_path, source, ["softmax_loss"]))["softmax_loss"]
    failed = failed_checks(p)
    assert list(failed) == ["numerically stable at scores 700 to 1000"], failed


def test_regularisation_mistake_fails_only_the_regularisation_check(tmp_path):
    source = with_override("""
_real_softmax = softmax_loss
def softmax_loss(W, X, y, reg):
    loss, dW = _real_softmax(W, X, y, reg)
    return loss, dW - reg * W
""")
    failed = failed_checks(by_id(grade_source(tmp_path, source, ["softmax_loss"]))["softmax_loss"])
    assert list(failed) == ["regularisation: loss and dW with reg > 0"], failed


# ----- the shape rule ---------------------------------------------------------------------------------
def test_gradient_of_wrong_shape_fails_the_shape_rule_naming_both_shapes(tmp_path):
    source = with_override("""
_real_softmax = softmax_loss
def softmax_loss(W, X, y, reg):
    loss, dW = _real_softmax(W, X, y, reg)
    return loss, dW.T
""")
    p = by_id(grade_source(tmp_path, source, ["softmax_loss"]))["softmax_loss"]
    failed = failed_checks(p)
    assert "shape: dW" in failed
    shapes = re.findall(r"\((\d+), (\d+)\)", failed["shape: dW"])
    assert len(shapes) >= 2, failed["shape: dW"]
    assert shapes[0] == shapes[1][::-1], failed["shape: dW"]
    assert p.score < p.max_score


def test_flattened_gradient_fails_the_shape_rule(tmp_path):
    source = with_override("""
_real_l2 = l2_wx
def l2_wx(W, x):
    f, dW, dx = _real_l2(W, x)
    return f, dW.ravel(), dx
""")
    failed = failed_checks(by_id(grade_source(tmp_path, source, ["l2_wx"]))["l2_wx"])
    assert "shape: dW" in failed and "shape: dx" not in failed


def test_column_vector_gradient_fails_the_shape_rule(tmp_path):
    source = with_override("""
_real_l2 = l2_wx
def l2_wx(W, x):
    f, dW, dx = _real_l2(W, x)
    return f, dW, dx[:, None]
""")
    failed = failed_checks(by_id(grade_source(tmp_path, source, ["l2_wx"]))["l2_wx"])
    assert "shape: dx" in failed and "shape: dW" not in failed


# ----- loose return types ---------------------------------------------------------------------------
LOOSE = """
def graph(x, y, z):
    q = x + y
    return [q * z, z, z, q]


_real_l2 = l2_wx
def l2_wx(W, x):
    f, dW, dx = _real_l2(W, x)
    return [np.float32(f).item() if False else np.array(f), dW.tolist(), list(dx)]


_real_softmax = softmax_loss
def softmax_loss(W, X, y, reg):
    loss, dW = _real_softmax(W, X, y, reg)
    return np.array([loss]), dW


_real_svm = svm_loss
def svm_loss(W, X, y, reg):
    loss, dW = _real_svm(W, X, y, reg)
    return float(loss), dW
"""


def test_lists_python_floats_and_0d_arrays_are_accepted(tmp_path):
    report = grade_source(tmp_path, with_override(LOOSE), ["graph", "l2_wx", "softmax_loss", "svm_loss"])
    for p in report.problems:
        assert p.score == p.max_score, (p.id, failed_checks(p))


def test_wrong_number_of_outputs_is_reported(tmp_path):
    source = with_override("""
_real_l2 = l2_wx
def l2_wx(W, x):
    f, dW, dx = _real_l2(W, x)
    return dW, dx
""")
    p = by_id(grade_source(tmp_path, source, ["l2_wx"]))["l2_wx"]
    assert p.score < p.max_score
    assert any("(f, dW, dx)" in m for m in failed_checks(p).values()), failed_checks(p)


def test_a_string_output_is_rejected_without_crashing(tmp_path):
    source = with_override("""
def graph(x, y, z):
    return "f", z, z, x + y
""")
    p = by_id(grade_source(tmp_path, source, ["graph"]))["graph"]
    assert "value: f" in failed_checks(p)
    assert p.status == "failed"


# ----- presence and signature ---------------------------------------------------------------------------
def test_missing_function_is_missing_and_says_what_to_define(tmp_path):
    source = CORRECT_SOURCE.replace("def svm_loss(", "def svm_loss_draft(")
    p = by_id(grade_source(tmp_path, source, ["svm_loss", "graph"]))["svm_loss"]
    assert p.status == "missing" and p.score == 0.0
    assert "svm_loss(W, X, y, reg)" in p.checks[0].message


def test_wrong_signature_fails_the_signature_check(tmp_path):
    source = with_override("""
def l2_wx(W):
    return 0.0, W, W[0]
""")
    p = by_id(grade_source(tmp_path, source, ["l2_wx"]))["l2_wx"]
    assert p.score < p.max_score
    assert "signature" in failed_checks(p)


def test_points_are_split_across_checks(tmp_path):
    report = grade(EXAMPLES / "bug_softmax_loss.py", tmp_path, ["softmax_loss"])
    (p,) = report.problems
    assert sum(c.max_score for c in p.checks) == pytest.approx(p.max_score, abs=1e-3)
    assert sum(c.score for c in p.checks) == pytest.approx(p.score, abs=1e-3)
    assert len(p.checks) >= 5 and all(c.max_score > 0 for c in p.checks)
