"""grader.cases on the bundled hw2 pack: the data every student is graded on."""

from __future__ import annotations

import numpy as np
import pytest

from grader.cases import draw_cases
from grader.packs import bundled_root, load_pack

SEEDS = range(60)


@pytest.fixture(scope="module")
def pack():
    return load_pack("hw2", bundled_root())


def cases(pack, problem_id, seed):
    return draw_cases(pack.spec.problem(problem_id), seed, pack.function)


def random_cases(pack, problem_id, seed):
    """Cases drawn at random (not the lecture's fixed values, not hand-built probes)."""
    problem = pack.spec.problem(problem_id)
    fixed = {c.name for c in problem.cases if c.build or set(c.values) >= set(problem.arg_names)}
    return [c for c in cases(pack, problem_id, seed) if c.name.split(" #")[0] not in fixed]


def same(a, b):
    return type(a) is type(b) and np.shape(a) == np.shape(b) and np.array_equal(a, b) and (
        not isinstance(a, np.ndarray) or a.dtype == b.dtype)


# ----- determinism ------------------------------------------------------------------
def test_same_seed_gives_identical_cases(pack):
    for problem in pack.spec.problems:
        first, again = cases(pack, problem.id, 12345), cases(pack, problem.id, 12345)
        assert [c.name for c in first] == [c.name for c in again]
        for a, b in zip(first, again):
            assert a.args.keys() == b.args.keys()
            for k in a.args:
                assert same(a.args[k], b.args[k]), (problem.id, a.name, k)


def test_different_seed_gives_different_random_cases(pack):
    for problem in pack.spec.problems:
        a = random_cases(pack, problem.id, 1)
        b = random_cases(pack, problem.id, 2)
        assert a, problem.id
        differs = any(not same(x.args[k], y.args[k]) for x, y in zip(a, b) for k in x.args)
        assert differs, problem.id


def test_repeats_of_a_case_differ(pack):
    for problem in pack.spec.problems:
        drawn = [c for c in cases(pack, problem.id, 5) if c.name.startswith("random")]
        firsts = [c.args[problem.arg_names[0]] for c in drawn]
        assert len(drawn) >= 2, problem.id
        assert not all(same(firsts[0], f) for f in firsts[1:]), problem.id


def test_default_seed_is_fixed_and_depends_on_version(pack):
    spec = pack.spec
    assert spec.default_seed == load_pack("hw2", bundled_root()).spec.default_seed
    bumped = spec.model_copy(update={"version": spec.version + "-next"})
    assert bumped.default_seed != spec.default_seed


# ----- shapes -----------------------------------------------------------------------------
DIMS = {  # problem -> function of the args giving its named dims
    "softmax_loss": lambda a: {"N": a["X"].shape[0], "D": a["W"].shape[0], "C": a["W"].shape[1]},
    "svm_loss": lambda a: {"N": a["X"].shape[0], "D": a["W"].shape[0], "C": a["W"].shape[1]},
    "two_layer": lambda a: {"h": a["W1"].shape[0], "d": a["W1"].shape[1], "c": a["W2"].shape[0]},
    "l2_wx": lambda a: {"n": a["W"].shape[0], "d": a["W"].shape[1]},
    "add_gate_backward": lambda a: {"M": a["x"].shape[0], "K": a["x"].shape[1]},
    "mul_gate_backward": lambda a: {"M": a["x"].shape[0], "K": a["x"].shape[1]},
    "max_gate_backward": lambda a: {"M": a["x"].shape[0], "K": a["x"].shape[1]},
}


@pytest.mark.parametrize("problem_id", DIMS)
def test_random_cases_have_distinct_dim_sizes(pack, problem_id):
    """Non-square shapes of distinct sizes hide no transposes."""
    for seed in SEEDS:
        for case in random_cases(pack, problem_id, seed):
            if "edge" in case.name:
                continue
            dims = DIMS[problem_id](case.args)
            assert len(set(dims.values())) == len(dims), (seed, case.name, dims)


def test_argument_shapes_are_consistent(pack):
    for seed in range(10):
        for pid in ("softmax_loss", "svm_loss"):
            for case in cases(pack, pid, seed):
                a = case.args
                n, d, c = a["X"].shape[0], a["W"].shape[0], a["W"].shape[1]
                assert a["X"].shape == (n, d) and a["y"].shape == (n,)
                assert a["y"].dtype == np.int64 and a["y"].min() >= 0 and a["y"].max() < c
                assert isinstance(a["reg"], float)
        for case in cases(pack, "sigmoid_neuron", seed):
            assert case.args["w"].shape == (case.args["x"].shape[0] + 1,)


@pytest.mark.parametrize("problem_id, shapes", [
    ("softmax_loss", {"W": (1, 2), "X": (1, 1), "y": (1,)}),
    ("svm_loss", {"W": (1, 2), "X": (1, 1), "y": (1,)}),
    ("sigmoid_neuron", {"w": (2,), "x": (1,)}),
    ("l2_wx", {"W": (1, 1), "x": (1,)}),
    ("two_layer", {"x": (1,), "dout": (1,)}),
    ("add_gate_backward", {"x": (1, 1)}),
    ("mul_gate_backward", {"x": (1, 1)}),
    ("max_gate_backward", {"x": (1, 1)}),
])
def test_edge_shapes_are_present(pack, problem_id, shapes):
    edges = [c for c in cases(pack, problem_id, 0)
             if all(np.shape(c.args[k]) == s for k, s in shapes.items())]
    assert edges, f"{problem_id} has no case with shapes {shapes}"


def test_naive_loops_stay_small(pack):
    """Sizes keep a loop over examples and classes far inside the call timeout."""
    for seed in range(20):
        for pid in ("softmax_loss", "svm_loss"):
            for case in cases(pack, pid, seed):
                assert case.args["X"].size * case.args["W"].shape[1] <= 10_000


# ----- fixed and hand-built cases ------------------------------------------------------------
def test_lecture_values_are_used_exactly(pack):
    for seed in (0, 1, 99):
        graph = cases(pack, "graph", seed)[0]
        assert graph.name.startswith("lecture")
        assert graph.args == {"x": -2.0, "y": 5.0, "z": -4.0}
        assert all(type(v) is float for v in graph.args.values())
        neuron = cases(pack, "sigmoid_neuron", seed)[0]
        assert neuron.name.startswith("lecture")
        assert neuron.args["w"].tolist() == [2.0, -3.0, -3.0] and neuron.args["w"].dtype == np.float64
        assert neuron.args["x"].tolist() == [-1.0, -2.0]


def test_softmax_stability_case_has_all_scores_between_700_and_1000(pack):
    found = 0
    for seed in SEEDS:
        for case in cases(pack, "softmax_loss", seed):
            if case.check and "stable" in case.check:
                found += 1
                scores = case.args["X"] @ case.args["W"]
                assert scores.min() >= 700 and scores.max() <= 1000, (seed, scores.min(), scores.max())
                assert case.args["reg"] == 0.0
                with np.errstate(over="ignore"):
                    assert not np.all(np.isfinite(np.exp(scores))), "a naive exp must overflow here"
    assert found == len(SEEDS)


def test_regularisation_cases_use_a_large_reg(pack):
    """At reg = 5e-6 a reg*W-for-2*reg*W mistake is invisible; the case must make it show."""
    for pid in ("softmax_loss", "svm_loss"):
        for seed in range(20):
            regs = [c.args["reg"] for c in cases(pack, pid, seed) if c.check and "regularisation" in c.check]
            assert regs and min(regs) >= 0.1, (pid, seed, regs)


def test_sigmoid_inputs_are_moderate(pack):
    for seed in range(200):
        for case in cases(pack, "sigmoid_neuron", seed):
            w, x = case.args["w"], case.args["x"]
            assert abs(w[:-1] @ x + w[-1]) <= 20.0, (seed, case.name)


def test_upstream_gradients_are_random_not_ones(pack):
    for pid in ("add_gate_backward", "mul_gate_backward", "max_gate_backward", "two_layer"):
        for case in random_cases(pack, pid, 3):
            dout = case.args["dout"]
            if dout.size > 1:
                assert len(np.unique(dout)) == dout.size, (pid, case.name)


# ----- kinks kept away ----------------------------------------------------------------------
def margins(a):
    s = a["X"] @ a["W"]
    n = s.shape[0]
    m = s - s[np.arange(n), a["y"]][:, None] + 1.0
    keep = np.ones_like(m, dtype=bool)
    keep[np.arange(n), a["y"]] = False
    return m[keep]


KINKS = {
    "svm_loss": margins,
    "two_layer": lambda a: a["W1"] @ a["x"],
    "max_gate_backward": lambda a: a["x"] - a["y"],
}


@pytest.mark.parametrize("problem_id", KINKS)
def test_drawn_data_keeps_away_from_kinks(pack, problem_id):
    gap = pack.spec.problem(problem_id).tolerance.kink_gap
    for seed in range(150):
        for case in cases(pack, problem_id, seed):
            distance = np.abs(KINKS[problem_id](case.args))
            assert distance.size and distance.min() > gap, (seed, case.name, distance.min())


def test_no_exact_zero_at_a_relu(pack):
    for seed in range(150):
        for case in cases(pack, "two_layer", seed):
            assert np.all(case.args["W1"] @ case.args["x"] != 0.0)
