"""problems/hw2/reference.py: the trusted reference agrees with centered
finite differences of its own forwards, and reproduces the lecture's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from grader.cases import draw_cases, forward_args
from grader.packs import bundled_root, load_pack


@pytest.fixture(scope="module")
def pack():
    return load_pack("hw2", bundled_root())


def numeric_gradient(phi, x, h=1e-6):
    """Plain coordinate-wise centered differences (independent of grader.check)."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (phi(up) - phi(down)) / (2 * h)
    return grad


@pytest.mark.parametrize("problem_id", ["graph", "sigmoid_neuron", "add_gate_backward", "mul_gate_backward",
                                        "max_gate_backward", "l2_wx", "two_layer", "softmax_loss", "svm_loss"])
def test_reference_agrees_with_finite_differences_of_the_forward(pack, problem_id):
    problem = pack.spec.problem(problem_id)
    forward, reference = pack.function(problem.forward), pack.function(problem.reference)
    checked = 0
    for seed in range(8):
        for case in draw_cases(problem, seed, pack.function):
            args = case.args
            outputs = reference(*[v.copy() if isinstance(v, np.ndarray) else v for v in args.values()])
            assert len(outputs) == len(problem.outputs)
            fargs = forward_args(problem, args)
            upstream = args.get(problem.upstream) if problem.upstream else None
            for spec, out in zip(problem.outputs, outputs):
                if spec.kind == "value":
                    np.testing.assert_allclose(out, forward(**fargs), rtol=1e-12, atol=1e-12)
                    continue
                wrt = args[spec.wrt]
                scalar = not isinstance(wrt, np.ndarray)

                def phi(x, wrt_name=spec.wrt, scalar=scalar):
                    call = dict(fargs)
                    call[wrt_name] = float(x) if scalar else x
                    value = np.asarray(forward(**call), dtype=np.float64)
                    return float(np.sum(upstream * value)) if upstream is not None else float(value)

                numeric = numeric_gradient(phi, wrt)
                assert np.shape(out) == np.shape(wrt), (problem_id, spec.name)
                scale = max(1.0, float(np.max(np.abs(numeric))))
                err = float(np.max(np.abs(np.asarray(out) - numeric), initial=0.0)) / scale
                assert err < 1e-5, (problem_id, case.name, spec.name, err)
                checked += 1
    assert checked


def test_reference_leaves_its_arguments_alone(pack):
    for problem in pack.spec.problems:
        reference = pack.function(problem.reference)
        for case in draw_cases(problem, 3, pack.function):
            before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in case.args.items()}
            reference(*case.args.values())
            for k, v in case.args.items():
                assert np.array_equal(v, before[k]), (problem.id, k)


def test_lecture_graph_example(pack):
    f, dx, dy, dz = pack.function("graph")(-2.0, 5.0, -4.0)
    assert (f, dx, dy, dz) == (-12.0, -4.0, -4.0, 3.0)
    assert pack.function("graph_forward")(-2.0, 5.0, -4.0) == -12.0


def test_lecture_sigmoid_example(pack):
    f, dw, dx = pack.function("sigmoid_neuron")(np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0]))
    assert f == pytest.approx(0.7311, abs=1e-4)
    assert f == pytest.approx(1 / (1 + np.exp(-1.0)), rel=1e-15)
    np.testing.assert_allclose(dw, [-0.197, -0.393, 0.197], atol=1e-3)
    np.testing.assert_allclose(dx, [0.393, -0.590], atol=1e-3)


def test_reference_softmax_is_stable_at_large_scores(pack):
    rng = np.random.default_rng(0)
    args = pack.function("softmax_large_scores")(rng, {"N": 6, "D": 4, "C": 5})
    loss, dW = pack.function("softmax_loss")(**args)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    # the shift-invariant answer: subtracting a constant from every score changes nothing
    X, W, y = args["X"], args["W"].copy(), args["y"]
    W_shifted = W.copy()
    W_shifted[-1] -= 850.0  # the bias column of X is 1, so every score drops by 850
    loss2, dW2 = pack.function("softmax_loss")(W_shifted, X, y, 0.0)
    assert loss == pytest.approx(loss2, rel=1e-9)
    np.testing.assert_allclose(dW, dW2, rtol=1e-8, atol=1e-12)
