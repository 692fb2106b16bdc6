"""Gradient checks by centered finite differences along chosen directions.

For an objective phi and a claimed gradient g at x, a probe along a unit
direction v compares <g, v> with (phi(x + h v) - phi(x - h v)) / 2h.
A probe computed at h and at h/2 that disagrees crossed a kink (max, ReLU,
hinge); it is retried at h/100 and h/10000 and otherwise counted as
inconclusive, never as a failure. Large arrays are probed along a few random
directions, one random direction per column and a sample of coordinates,
instead of 2n evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

EPS = float(np.finfo(np.float64).eps)

Verdict = Literal["agree", "disagree", "inconclusive"]


@dataclass(frozen=True)
class Probe:
    label: str
    expected: float
    got: float
    verdict: Verdict
    evaluations: int


@dataclass(frozen=True)
class GradientCheck:
    probes: tuple[Probe, ...]
    min_conclusive: int

    @property
    def disagreeing(self) -> tuple[Probe, ...]:
        return tuple(p for p in self.probes if p.verdict == "disagree")

    @property
    def conclusive(self) -> int:
        return sum(p.verdict != "inconclusive" for p in self.probes)

    @property
    def verdict(self) -> Verdict:
        if self.disagreeing:
            return "disagree"
        if self.conclusive < min(self.min_conclusive, len(self.probes)):
            return "inconclusive"
        return "agree"

    @property
    def evaluations(self) -> int:
        return sum(p.evaluations for p in self.probes)


def _difference(phi: Callable[[np.ndarray], float], x: np.ndarray, v: np.ndarray, h: float) -> tuple[float, float]:
    up, down = float(phi(x + h * v)), float(phi(x - h * v))
    return (up - down) / (2.0 * h), max(abs(up), abs(down))


def probe(phi: Callable[[np.ndarray], float], x: np.ndarray, g: np.ndarray, v: np.ndarray, label: str, *,
          step: float, rtol: float, noise: float, kink_rtol: float) -> Probe:
    """Compare <g, v> with centered differences of `phi` along `v`."""
    return _settle(lambda h: _difference(phi, x, v, h), float(np.sum(g * v)), label,
                   step=step, rtol=rtol, noise=noise, kink_rtol=kink_rtol)


def _settle(difference: Callable[[float], tuple[float, float]], got: float, label: str, *,
            step: float, rtol: float, noise: float, kink_rtol: float) -> Probe:
    """An estimate at h that agrees with `got` settles the probe; one that
    disagrees is checked against h/2 first, so a kink crossing is never
    reported as a disagreement (it is retried at h/100, h/10000)."""
    evaluations = 0
    for h in (step, step / 100.0, step / 10000.0):
        d1, m1 = difference(h)
        evaluations += 2
        if np.isfinite(d1):
            floor1 = noise * EPS * max(m1, 1e-300) / h
            if abs(got - d1) <= rtol * max(abs(got), abs(d1)) + floor1:
                return Probe(label, d1, got, "agree", evaluations)
        d2, m2 = difference(h / 2.0)
        evaluations += 2
        if not (np.isfinite(d1) and np.isfinite(d2)):
            continue
        floor = noise * EPS * max(m1, m2, 1e-300) / (h / 2.0)
        if abs(d1 - d2) <= kink_rtol * max(abs(d1), abs(d2)) + floor:
            verdict: Verdict = "agree" if abs(got - d2) <= rtol * max(abs(got), abs(d2)) + floor else "disagree"
            return Probe(label, d2, got, verdict, evaluations)
    return Probe(label, float("nan"), got, "inconclusive", evaluations)


def directions(shape: tuple[int, ...], rng: np.random.Generator, *, max_coordinates: int,
               random_directions: int) -> list[tuple[str, np.ndarray]]:
    """Unit directions to probe an array of `shape` along, with labels for feedback."""
    size = int(np.prod(shape, dtype=np.int64))
    found: list[tuple[str, np.ndarray]] = []

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v)

    if size <= max_coordinates:
        for flat in range(size):
            v = np.zeros(size)
            v[flat] = 1.0
            index = np.unravel_index(flat, shape) if shape else ()
            found.append((f"entry {tuple(int(i) for i in index)}" if shape else "value", v.reshape(shape)))
        extra = min(2, random_directions) if size > 1 else 0
    else:
        extra = random_directions
        if len(shape) == 2 and shape[1] <= 64:
            for j in range(shape[1]):
                v = np.zeros(shape)
                v[:, j] = rng.standard_normal(shape[0])
                found.append((f"column {j}", unit(v)))
        for flat in rng.choice(size, size=min(8, size), replace=False):
            v = np.zeros(size)
            v[flat] = 1.0
            found.append((f"entry {tuple(int(i) for i in np.unravel_index(flat, shape))}", v.reshape(shape)))
    for k in range(extra):
        found.append((f"random direction {k + 1}", unit(rng.standard_normal(shape))))
    return found


class Oracle:
    """Centered differences of one objective at one point along fixed
    directions, memoised: one oracle checks any number of claimed gradients
    (every submission of a batch graded with the same seed) for the price of one."""

    def __init__(self, phi: Callable[[np.ndarray], float], x: np.ndarray, rng: np.random.Generator, *,
                 max_coordinates: int, random_directions: int) -> None:
        self.phi = phi
        self.x = np.asarray(x, dtype=np.float64)
        self.directions = directions(self.x.shape, rng, max_coordinates=max_coordinates,
                                     random_directions=random_directions)
        self._memo: dict[tuple[int, float], tuple[float, float]] = {}

    def difference(self, index: int, h: float) -> tuple[float, float]:
        key = (index, h)
        if key not in self._memo:
            self._memo[key] = _difference(self.phi, self.x, self.directions[index][1], h)
        return self._memo[key]

    def check(self, g: np.ndarray, *, step: float, rtol: float, noise: float, kink_rtol: float,
              min_conclusive: int) -> GradientCheck:
        """Probe the claimed gradient `g` (the shape of x) along every direction."""
        probes = tuple(
            _settle(lambda h, i=i: self.difference(i, h), float(np.sum(g * v)), label,
                    step=step, rtol=rtol, noise=noise, kink_rtol=kink_rtol)
            for i, (label, v) in enumerate(self.directions)
        )
        return GradientCheck(probes, min_conclusive)


def check_gradient(phi: Callable[[np.ndarray], float], x: np.ndarray, g: np.ndarray, rng: np.random.Generator, *,
                   step: float, rtol: float, noise: float, kink_rtol: float, max_coordinates: int,
                   random_directions: int, min_conclusive: int) -> GradientCheck:
    """Probe the claimed gradient `g` of `phi` at `x` (same shape as x)."""
    oracle = Oracle(phi, x, rng, max_coordinates=max_coordinates, random_directions=random_directions)
    return oracle.check(g, step=step, rtol=rtol, noise=noise, kink_rtol=kink_rtol, min_conclusive=min_conclusive)
