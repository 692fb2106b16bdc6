"""grader.check.fd: centered finite differences along chosen directions.

What a user relies on: a correct gradient is never reported as wrong (smooth
functions, kinks near the point, CIFAR-like SVM data); a wrong gradient is
reported, and located (column or entry); a crossed kink is "inconclusive",
never "disagree"; large arrays cost a bounded number of evaluations.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from grader.check import fd
from grader.spec import Tolerance

ROOT = Path(__file__).resolve().parent.parent
TOL = Tolerance()
KW = dict(step=TOL.fd_step, rtol=TOL.fd_rtol, noise=TOL.fd_noise, kink_rtol=TOL.kink_rtol,
          max_coordinates=TOL.max_coordinates, random_directions=TOL.random_directions,
          min_conclusive=TOL.min_conclusive)
PROBE_KW = dict(step=TOL.fd_step, rtol=TOL.fd_rtol, noise=TOL.fd_noise, kink_rtol=TOL.kink_rtol)
FULL_FD_COST = 2 * 3073 * 10  # 61,460: what plain coordinate-wise differences would cost


def check(phi, x, g, seed=0, **over):
    return fd.check_gradient(phi, np.asarray(x, dtype=np.float64), np.asarray(g, dtype=np.float64),
                             np.random.default_rng(seed), **{**KW, **over})


class Counted:
    """phi with a call counter, to hold `evaluations` to the truth."""

    def __init__(self, phi):
        self.phi, self.calls = phi, 0

    def __call__(self, x):
        self.calls += 1
        return self.phi(x)


# ----- SVM on CIFAR-like data (the measured failure mode) -------------
def svm_forward(W, X, y):
    n = X.shape[0]
    s = X @ W
    m = s - s[np.arange(n), y][:, None] + 1.0
    m[np.arange(n), y] = 0.0
    return np.maximum(0.0, m).sum() / n, m


def svm_grad(W, X, y):
    n = X.shape[0]
    _, m = svm_forward(W, X, y)
    ds = (m > 0).astype(float)
    ds[np.arange(n), y] = -ds.sum(axis=1)
    return X.T @ ds / n


def cifar_like(rng, n=50, d=3073, c=10):
    """X (N, D) of centred pixel values with a bias column, W ~ 1e-4 N(0, 1)."""
    X = np.hstack([rng.uniform(-128.0, 128.0, size=(n, d - 1)), np.ones((n, 1))])
    W = 1e-4 * rng.standard_normal((d, c))
    y = rng.integers(0, c, size=n)
    return W, X, y


# ----- correct gradients agree ------------------------------------------------
SMOOTH = {
    "quadratic form": (lambda A: (lambda x: float(x @ A @ x)), lambda A: (lambda x: (A + A.T) @ x)),
    "tanh sum": (lambda A: (lambda x: float(np.tanh(A @ x).sum())),
                 lambda A: (lambda x: A.T @ (1.0 - np.tanh(A @ x) ** 2))),
    "log-sum-exp": (lambda A: (lambda x: float(np.log(np.exp(A @ x).sum()))),
                    lambda A: (lambda x: A.T @ (np.exp(A @ x) / np.exp(A @ x).sum()))),
    "cubic, large value": (lambda A: (lambda x: float(1e6 + (x ** 3).sum())), lambda A: (lambda x: 3 * x ** 2)),
}


@pytest.mark.parametrize("name", SMOOTH)
def test_correct_gradient_of_smooth_function_agrees(name):
    make_phi, make_grad = SMOOTH[name]
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 90))  # both regimes: every coordinate, and sampled directions
        A = rng.standard_normal((n, n)) * rng.choice([0.1, 1.0, 3.0])
        x = rng.standard_normal(n) * rng.choice([1e-3, 1.0, 10.0 if name != "log-sum-exp" else 1.0])
        result = check(make_phi(A), x, make_grad(A)(x), seed)
        assert result.verdict == "agree", (name, seed, [(p.label, p.expected, p.got) for p in result.probes
                                                        if p.verdict != "agree"])


def test_correct_gradient_of_matrix_function_agrees():
    """l2_wx-like f = ||W x||^2 for W of several non-square shapes."""
    for seed in range(30):
        rng = np.random.default_rng(seed)
        W = rng.standard_normal((int(rng.integers(1, 40)), int(rng.integers(1, 9))))
        x = rng.standard_normal(W.shape[1])
        q = W @ x
        result = check(lambda M: float((M @ x) @ (M @ x)), W, 2 * np.outer(q, x), seed)
        assert result.verdict == "agree"


def test_relu_net_with_preactivations_near_kinks_never_disagrees():
    """Pre-activations placed at 1e-3 ... 1e-10 from the ReLU kink: correct
    gradients may be inconclusive (every probe of x crosses a kink) but never
    'disagree'."""
    verdicts = {"W1": set(), "x": set()}
    for seed in range(120):
        rng = np.random.default_rng(seed)
        W1, W2 = rng.standard_normal((7, 5)), rng.standard_normal((3, 7))
        x, dout = rng.standard_normal(5), rng.standard_normal(3)
        for k, gap in enumerate([1e-3, -1e-5, 3e-6, -1e-7, 1e-8, -1e-10]):
            W1[k, 0] += (gap - W1[k] @ x) / x[0]
        da = (W2.T @ dout) * (W1 @ x > 0)
        for name, phi, at, g in [("W1", lambda M: dout @ W2 @ np.maximum(0.0, M @ x), W1, np.outer(da, x)),
                                 ("x", lambda z: dout @ W2 @ np.maximum(0.0, W1 @ z), x, W1.T @ da)]:
            result = check(phi, at, g, seed)
            assert result.verdict != "disagree", (seed, name, [(p.label, p.expected, p.got)
                                                               for p in result.disagreeing])
            verdicts[name].add(result.verdict)
    assert "agree" in verdicts["W1"]


def test_abs_sum_with_entries_near_zero_never_disagrees():
    for seed in range(100):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(12)
        x[:6] = rng.choice([-1, 1], size=6) * np.array([1e-4, 1e-5, 4e-6, 1e-7, 1e-9, 1e-10])
        result = check(lambda z: float(np.abs(z).sum()), x, np.sign(x), seed)
        assert result.verdict != "disagree", (seed, [(p.label, p.expected, p.got) for p in result.disagreeing])


def cifar_svm_verdicts(count):
    verdicts, near_kink = {}, 0
    for seed in range(count):
        W, X, y = cifar_like(np.random.default_rng(seed))
        _, margins = svm_forward(W, X, y)
        margins[np.arange(len(y)), y] = np.inf
        near_kink += bool(np.abs(margins).min() < 1e-3)  # a probe at h = 1e-5 moves scores by ~1e-3
        result = check(lambda M: svm_forward(M, X, y)[0], W, svm_grad(W, X, y), seed)
        verdicts.setdefault(result.verdict, []).append(seed)
    return verdicts, near_kink


@pytest.mark.slow
def test_correct_svm_gradient_on_cifar_like_data_never_fails():
    """The issue's measured case: plain differences falsely fail 22-92% of these
    data sets. Here: 0 false fails over 300 data sets, most of them conclusive."""
    count = 300
    verdicts, near_kink = cifar_svm_verdicts(count)
    assert "disagree" not in verdicts, f"false fails on data sets {verdicts['disagree']}"
    assert len(verdicts.get("agree", [])) >= 0.95 * count, {k: len(v) for k, v in verdicts.items()}
    assert near_kink >= 0.1 * count, "the data must put margins within a probe's reach of a kink"


# ----- wrong gradients disagree -----------------------------------------------
WRONG = {
    "factor 2": lambda g: 2.0 * g,
    "sign": lambda g: -g,
    "half": lambda g: 0.5 * g,
    "transposed-like (rolled)": lambda g: np.roll(g, 1),
}


@pytest.mark.parametrize("mistake", WRONG)
def test_wrong_gradient_of_smooth_function_disagrees(mistake):
    for seed in range(20):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(2, 90))
        A = rng.standard_normal((n, n))
        x = rng.standard_normal(n)
        g = np.tanh(A @ x)
        result = check(lambda z: float(np.log(np.cosh(A @ z)).sum()), x, WRONG[mistake](A.T @ g), seed)
        assert result.verdict == "disagree", (mistake, seed)


@pytest.mark.parametrize("mistake", ["factor 2", "sign"])
def test_wrong_svm_gradient_on_cifar_like_data_disagrees(mistake):
    for seed in range(5):
        W, X, y = cifar_like(np.random.default_rng(seed))
        result = check(lambda M: svm_forward(M, X, y)[0], W, WRONG[mistake](svm_grad(W, X, y)), seed)
        assert result.verdict == "disagree"


@pytest.mark.parametrize("where", [(0, 0), (2, 1), (3, 2)])
def test_one_wrong_entry_in_small_array_is_found_and_named(where):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((4, 3))
    g = 3 * A ** 2
    g[where] *= 1.01  # one percent off, in one entry
    result = check(lambda M: float((M ** 3).sum()), A, g, 1)
    assert result.verdict == "disagree"
    entries = [p.label for p in result.disagreeing if p.label.startswith("entry")]
    assert entries == [f"entry {where}"]


def test_one_wrong_entry_in_a_vector_is_found():
    x = np.random.default_rng(3).standard_normal(10)
    g = np.cos(x)
    g[6] = 0.0
    result = check(lambda z: float(np.sin(z).sum()), x, g)
    assert [p.label for p in result.disagreeing if p.label.startswith("entry")] == ["entry (6,)"]


def test_wrong_scalar_derivative_disagrees():
    result = check(lambda t: float(t) ** 2, np.float64(1.5), np.float64(2.0))
    assert result.verdict == "disagree"
    assert result.disagreeing[0].label == "value"
    assert math.isclose(result.disagreeing[0].expected, 3.0, rel_tol=1e-6)


# ----- kinks: inconclusive, never disagree -------------------------------------
@pytest.mark.parametrize("claimed", [0.0, 1.0, -3.0])
def test_crossed_kink_is_inconclusive_not_disagree(claimed):
    """relu(x) at x = -1e-10: every step h, h/100, h/10000 straddles the kink,
    so the probe cannot tell, whatever gradient is claimed. (A kink closer
    than ~kink_rtol * h goes unnoticed; specs keep drawn data kink_gap away.)"""
    relu = lambda t: max(0.0, float(t))  # noqa: E731
    p = fd.probe(relu, np.float64(-1e-10), np.float64(claimed), np.float64(1.0), "value", **PROBE_KW)
    assert p.verdict == "inconclusive"


def test_kink_crossed_at_h_but_not_at_smaller_steps_is_conclusive():
    relu = lambda t: max(0.0, float(t))  # noqa: E731
    right = fd.probe(relu, np.float64(-3e-6), np.float64(0.0), np.float64(1.0), "value", **PROBE_KW)
    wrong = fd.probe(relu, np.float64(-3e-6), np.float64(1.0), np.float64(1.0), "value", **PROBE_KW)
    assert (right.verdict, wrong.verdict) == ("agree", "disagree")


def test_all_probes_inconclusive_does_not_pass():
    """A wrong gradient must not pass because no probe could decide."""
    x = np.full(3, -1e-10 / 3)
    result = check(lambda z: float(np.maximum(0.0, z.sum())), x, np.full(3, 7.0))
    assert result.conclusive < TOL.min_conclusive
    assert result.verdict == "inconclusive"


# ----- relative error: no NaN ----------------------------------------------------
def test_both_sides_zero_agree_without_nan():
    result = check(lambda z: 0.0, np.zeros((3, 2)), np.zeros((3, 2)))
    assert result.verdict == "agree"
    for p in result.probes:
        assert np.isfinite(p.expected) and np.isfinite(p.got)


def test_zero_gradient_claimed_for_nonzero_one_disagrees():
    result = check(lambda z: float(z.sum()), np.zeros(4), np.zeros(4))
    assert result.verdict == "disagree"


def test_tiny_but_correct_gradient_agrees_and_tiny_wrong_one_does_not():
    """Scale matters: a gradient of size 1e-9 is checked relative to itself."""
    x = np.random.default_rng(0).standard_normal(5)
    phi = lambda z: float(1e-9 * (z ** 2).sum())  # noqa: E731
    assert check(phi, x, 2e-9 * x).verdict == "agree"
    assert check(phi, x, 4e-9 * x).verdict == "disagree"


# ----- large arrays: bounded cost, named column -------------------------------------
def test_large_W_costs_bounded_evaluations_and_names_the_wrong_column(capsys):
    W, X, y = cifar_like(np.random.default_rng(11), n=40)
    assert W.shape == (3073, 10)
    g = svm_grad(W, X, y)

    right = Counted(lambda M: svm_forward(M, X, y)[0])
    result = check(right, W, g, 3)
    assert result.verdict == "agree"
    assert result.evaluations == right.calls, "the reported cost must be the true number of loss evaluations"
    assert right.calls <= 150, right.calls

    for column in (0, 4, 9):
        bad = g.copy()
        bad[:, column] *= 1.2
        wrong = Counted(lambda M: svm_forward(M, X, y)[0])
        result = check(wrong, W, bad, 3)
        assert result.verdict == "disagree"
        assert result.evaluations == wrong.calls <= 300
        columns = sorted(p.label for p in result.disagreeing if p.label.startswith("column"))
        assert columns == [f"column {column}"]
    with capsys.disabled():
        print(f"\n[fd cost] W (3073, 10): {right.calls} loss evaluations for a correct gradient, "
              f"{wrong.calls} for one wrong column (full differences: {FULL_FD_COST})")
    assert right.calls * 100 < FULL_FD_COST


def test_directions_are_unit_and_labelled():
    for shape in [(), (1,), (5,), (4, 3), (3073, 10), (70,), (2, 3, 4)]:
        found = fd.directions(shape, np.random.default_rng(0), max_coordinates=64, random_directions=4)
        assert found
        labels = [label for label, _ in found]
        assert len(set(labels)) == len(labels)
        for _, v in found:
            assert np.shape(v) == shape
            assert math.isclose(float(np.linalg.norm(v)), 1.0, rel_tol=1e-12)
