"""Comparisons of returned values with expected ones, and the shape rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ABS_FLOOR = 1e-12


@dataclass(frozen=True)
class Mismatch:
    """How `got` differs from `expected`: relative error and the worst entries."""

    rel_error: float
    worst: tuple[tuple[tuple[int, ...], float, float], ...]


def as_float_array(value: np.ndarray) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def conforms(value: np.ndarray, shape: tuple[int, ...], *, scalar: bool) -> bool:
    """The shape rule. A value (loss, f) may be any size-1 array; a gradient
    must have exactly its variable's shape."""
    if scalar:
        return value.size == 1
    return value.shape == shape


def close(got: np.ndarray, expected: np.ndarray, rtol: float) -> bool:
    """Max-norm closeness, relative to the larger side, with a tiny absolute floor
    so that two zeros compare equal and no NaN arises."""
    got, expected = as_float_array(got), as_float_array(expected)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return False
    scale = max(float(np.max(np.abs(expected), initial=0.0)), float(np.max(np.abs(got), initial=0.0)))
    return float(np.max(np.abs(got - expected), initial=0.0)) <= rtol * scale + ABS_FLOOR


def mismatch(got: np.ndarray, expected: np.ndarray, k: int = 3) -> Mismatch:
    got, expected = as_float_array(got), as_float_array(expected)
    diff = np.abs(got - expected)
    denom = max(float(np.linalg.norm(got)), float(np.linalg.norm(expected)), ABS_FLOOR)
    rel = float(np.linalg.norm(got - expected)) / denom
    order = np.argsort(-np.nan_to_num(diff, nan=np.inf).ravel(), kind="stable")[:k]
    worst = tuple(
        (tuple(int(i) for i in np.unravel_index(int(flat), got.shape)), float(expected.ravel()[flat]),
         float(got.ravel()[flat]))
        for flat in order if not diff.ravel()[flat] <= ABS_FLOOR
    )
    return Mismatch(rel, worst)
