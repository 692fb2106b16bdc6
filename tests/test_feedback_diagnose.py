"""grader.diagnose on plain arrays: the generic relations and their soundness rule."""

from __future__ import annotations

import numpy as np

from grader.diagnose import Observation, locate, matches, relations, variant_fits

RTOL = 1e-5
rng = np.random.default_rng(0)


def _obs(exp_list, fn, dims=None):
    out = []
    for i, e in enumerate(exp_list):
        g = fn(e, i)
        out.append(Observation(f"c{i}", g, e, bool(matches(g, e, RTOL)), (dims or [{}] * len(exp_list))[i]))
    return {"dW": out}


EXP = [rng.standard_normal((4, 3)) for _ in range(3)]


def _sources(obs):
    return [f.source for f in relations("dW", obs, rtol=RTOL, wrt="W", wrt_shape="(D, C)")]


def test_correct_outputs_get_nothing():
    assert _sources(_obs(EXP, lambda e, i: e.copy())) == []


def test_sign_factor_transpose_reshape():
    assert _sources(_obs(EXP, lambda e, i: -e)) == ["sign"]
    assert _sources(_obs(EXP, lambda e, i: 2 * e)) == ["factor"]
    assert _sources(_obs(EXP, lambda e, i: e.T.copy())) == ["transpose"]
    assert _sources(_obs(EXP, lambda e, i: e.reshape(-1))) == ["reshape"]


def test_dimension_factor_needs_every_case():
    dims = [{"N": 5}, {"N": 7}, {"N": 1}]
    obs = _obs(EXP, lambda e, i: e * dims[i]["N"], dims)
    assert _sources(obs) == ["dim:N"]
    # one case off: no claim at all
    obs = _obs(EXP, lambda e, i: e * (dims[i]["N"] if i else 3.0), dims)
    assert _sources(obs) == []


def test_factor_must_hold_on_every_case():
    assert _sources(_obs(EXP, lambda e, i: e * (2.0 if i else 3.0))) == []


def test_variant_fits_only_when_every_case_matches_and_something_is_wrong():
    variant = {f"c{i}": {"dW": e * (2.0 if i == 2 else 1.0)} for i, e in enumerate(EXP)}
    wrong = _obs(EXP, lambda e, i: e * (2.0 if i == 2 else 1.0))
    assert variant_fits(wrong, variant, ["dW"], RTOL)
    assert not variant_fits(_obs(EXP, lambda e, i: e.copy()), variant, ["dW"], RTOL)  # correct: no claim
    assert not variant_fits(_obs(EXP, lambda e, i: e * 2.0), variant, ["dW"], RTOL)  # off on c0, c1


def test_matches_treats_overflow_alike():
    assert matches(np.array([np.nan, 1.0]), np.array([np.inf, 1.0]), RTOL)
    assert not matches(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), RTOL)


def test_locate_rows_columns_entries():
    e = np.arange(1.0, 13.0).reshape(3, 4)
    g = e.copy()
    g[1:] = 0
    assert locate(g, e, RTOL) == "the error is confined to rows 1, 2 of 3; row 0 is right"
    g = e.copy()
    g[:, 2] *= 3
    assert "column 2 (classes) of 4" in locate(g, e, RTOL, ("features", "classes"))
    v = np.arange(1.0, 5.0)
    w = v.copy()
    w[-1] = 0
    assert locate(w, v, RTOL) == "only entry 3 of 4 is wrong; entries 0, 1, 2 are right"
    assert locate(2 * e, e, RTOL) == ""
