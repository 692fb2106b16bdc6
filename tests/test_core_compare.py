"""grader.check.compare: the shape rule, closeness and mismatch reports."""

from __future__ import annotations

import numpy as np
import pytest

from grader.check import compare


# ----- conforms: the shape rule ------------------------------------------------
@pytest.mark.parametrize("value", [np.float64(2.0), np.array(2.0), np.array([2.0]), np.array([[2.0]])])
def test_a_value_may_be_any_size_one_array(value):
    assert compare.conforms(np.asarray(value), (), scalar=True)


@pytest.mark.parametrize("value", [np.zeros(2), np.zeros((1, 2)), np.zeros(0)])
def test_a_value_must_have_size_one(value):
    assert not compare.conforms(value, (), scalar=True)


def test_a_gradient_must_have_exactly_its_variables_shape():
    assert compare.conforms(np.zeros((3, 2)), (3, 2), scalar=False)
    for wrong in [(2, 3), (6,), (3, 2, 1), (1, 3, 2), (3,)]:
        assert not compare.conforms(np.zeros(wrong), (3, 2), scalar=False), wrong


def test_gradient_of_a_vector_is_not_a_column():
    assert not compare.conforms(np.zeros((4, 1)), (4,), scalar=False)
    assert not compare.conforms(np.zeros((1, 4)), (4,), scalar=False)


def test_gradient_of_a_scalar_may_be_any_size_one_array():
    assert compare.conforms(np.array([1.0]), (), scalar=True)
    assert not compare.conforms(np.array([1.0, 2.0]), (), scalar=True)


# ----- close ----------------------------------------------------------------------
def test_close_accepts_summation_order_differences():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((50, 40)), rng.standard_normal((40, 30))
    loops = np.array([[sum(A[i, k] * B[k, j] for k in range(40)) for j in range(30)] for i in range(50)])
    assert compare.close(loops, A @ B, 1e-6)


def test_close_is_relative_to_the_larger_side():
    big = np.array([1e8, 1.0])
    assert compare.close(big + np.array([1.0, 1.0]), big, 1e-6)  # 1 in 1e8 is within 1e-6 of the max-norm
    assert not compare.close(big * (1 + 1e-4), big, 1e-6)


def test_close_rejects_a_real_difference():
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    y = x.copy()
    y[1, 2] += 1e-3
    assert not compare.close(y, x, 1e-6)
    assert not compare.close(2 * x, x, 1e-6)
    assert not compare.close(-x, x, 1e-6)


def test_close_two_zeros_are_equal_and_zero_is_not_small():
    assert compare.close(np.zeros(3), np.zeros(3), 1e-6)
    assert compare.close(np.float64(0.0), np.float64(0.0), 1e-6)
    assert not compare.close(np.zeros(3), np.array([0.0, 1e-3, 0.0]), 1e-6)
    assert not compare.close(np.array([0.0, 1e-3, 0.0]), np.zeros(3), 1e-6)


def test_close_rejects_nan_inf_and_other_shapes():
    x = np.ones(3)
    assert not compare.close(np.array([1.0, np.nan, 1.0]), x, 1e-6)
    assert not compare.close(np.array([1.0, np.inf, 1.0]), x, 1e-6)
    assert not compare.close(np.ones(4), x, 1e-6)
    assert not compare.close(np.ones((3, 1)), x, 1e-6)


def test_close_accepts_integer_and_list_like_inputs():
    assert compare.close(np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]), 1e-6)


# ----- mismatch -------------------------------------------------------------------------
def test_mismatch_names_the_worst_entries_with_expected_and_got():
    expected = np.arange(12, dtype=float).reshape(3, 4)
    got = expected.copy()
    got[2, 1] += 5.0
    got[0, 3] -= 1.0
    m = compare.mismatch(got, expected)
    assert m.worst[0] == ((2, 1), 9.0, 14.0)
    assert m.worst[1] == ((0, 3), 3.0, 2.0)
    assert len(m.worst) == 2  # equal entries are not listed
    assert 0 < m.rel_error < 1


def test_mismatch_of_zeros_has_no_nan():
    m = compare.mismatch(np.zeros((2, 2)), np.zeros((2, 2)))
    assert m.rel_error == 0.0 and m.worst == ()


def test_mismatch_relative_error_of_sign_flip_is_two():
    x = np.array([1.0, -2.0, 3.0])
    assert compare.mismatch(-x, x).rel_error == pytest.approx(2.0)


def test_mismatch_lists_nan_entries_first():
    expected = np.ones(4)
    got = np.array([1.0, np.nan, 1.5, 1.0])
    m = compare.mismatch(got, expected)
    assert m.worst[0][0] == (1,)
