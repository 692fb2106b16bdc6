"""Naming the mistake: where a wrong output is wrong, and which known mistake
explains it. Pure numpy; no I/O, no processes, no knowledge of any homework.

Two kinds of explanation, both held to the same rule: an explanation *fits*
an output only when it reproduces the student's numbers on every case where
that output was returned (within `rtol`), and the output is wrong somewhere.
A correct output therefore never gets one.

- generic relations between the student's output and the correct one
  (`relations`): a sign flip, a constant factor, a factor equal to a
  dimension (a missing 1/N), a transpose, the right values in the wrong shape,
  two outputs swapped;
- a problem's catalogue of known-wrong variants, computed by the caller from
  the trusted reference (`variant_fits`).

`locate` describes where one wrong array is wrong: rows, columns or entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ABS_FLOOR = 1e-12


@dataclass(frozen=True)
class Observation:
    """One output of one case: what the student returned and what is correct."""

    case: str
    got: np.ndarray
    expected: np.ndarray
    correct: bool
    dims: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """An explanation that fits every returned case of one output."""

    hint: str
    source: str
    rank: float = 0.0


def matches(got: np.ndarray, target: np.ndarray, rtol: float) -> bool:
    """`got` equals `target` within max-norm `rtol`; non-finite entries must be
    non-finite in both (a NaN and an inf count alike: both are an overflow)."""
    got = np.asarray(got, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if got.shape != target.shape:
        if got.size == target.size == 1:
            got, target = got.reshape(()), target.reshape(())
        else:
            return False
    fin_g, fin_t = np.isfinite(got), np.isfinite(target)
    if not np.array_equal(fin_g, fin_t):
        return False
    if not fin_t.any():
        return True
    g, t = got[fin_t], target[fin_t]
    scale = max(float(np.max(np.abs(t))), float(np.max(np.abs(g))))
    return float(np.max(np.abs(g - t))) <= rtol * scale + ABS_FLOOR


def _conformed(obs: Observation) -> np.ndarray | None:
    """The student's array in the expected shape, when it has that shape (or both are size 1)."""
    if obs.got.shape == obs.expected.shape:
        return obs.got
    if obs.got.size == obs.expected.size == 1:
        return obs.got.reshape(obs.expected.shape)
    return None


# ----- where ----------------------------------------------------------------
def _indices(mask: np.ndarray, limit: int = 6) -> str:
    idx = [str(int(i)) for i in np.flatnonzero(mask)]
    return ", ".join(idx[:limit]) + (", ..." if len(idx) > limit else "")


def locate(got: np.ndarray, expected: np.ndarray, rtol: float, axes: tuple[str | None, ...] = ()) -> str:
    """Where `got` (already in the expected shape) differs from `expected`:
    confined to some rows, columns or entries, or spread everywhere.
    `axes` names what each axis counts (e.g. ("features", "classes"))."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape or got.size <= 1:
        return ""
    scale = max(float(np.max(np.abs(expected), initial=0.0)),
                float(np.max(np.abs(np.nan_to_num(got, nan=0.0, posinf=0.0, neginf=0.0)), initial=0.0)))
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(got - expected) <= rtol * scale + ABS_FLOOR)
    if not bad.any():
        return ""
    if bad.all():
        return ""
    if got.ndim == 1:
        what = f" ({axes[0]})" if axes and axes[0] else ""
        return (f"only {_some('entry', 'entries', bad)}{what} of {bad.size} {_be(bad)} wrong; "
                f"{_some('entry', 'entries', ~bad)} {_be(~bad)} right")
    if got.ndim == 2:
        rows, cols = bad.any(axis=1), bad.any(axis=0)
        for mask, one, many, label in ((rows, "row", "rows", axes[0] if len(axes) > 0 else None),
                                       (cols, "column", "columns", axes[1] if len(axes) > 1 else None)):
            if not mask.all():
                what = f" ({label})" if label else ""
                return (f"the error is confined to {_some(one, many, mask)}{what} of {mask.size}; "
                        f"{_some(one, many, ~mask)} {_be(~mask)} right")
        return f"{int(bad.sum())} of {bad.size} entries wrong, in every row and column"
    return ""


def _some(one: str, many: str, mask: np.ndarray) -> str:
    return f"{one if int(mask.sum()) == 1 else many} {_indices(mask)}"


def _be(mask: np.ndarray) -> str:
    return "is" if int(mask.sum()) == 1 else "are"


# ----- catalogue ------------------------------------------------------------
def variant_fits(observations: dict[str, list[Observation]], variant: dict[str, dict[str, np.ndarray]],
                 targets: list[str], rtol: float) -> bool:
    """A catalogue variant explains the student's outputs `targets`: on every
    case where each was returned it equals the variant's, and at least one of
    them is wrong somewhere. `variant[case][output]` are the variant's outputs."""
    wrong_somewhere = False
    for name in targets:
        obs = observations.get(name, [])
        if not obs:
            return False
        for o in obs:
            want = variant.get(o.case, {}).get(name)
            if want is None or not matches(o.got, want, rtol):
                return False
            wrong_somewhere |= not o.correct
    return wrong_somewhere


def changed_outputs(expected: dict[str, dict[str, np.ndarray]], variant: dict[str, dict[str, np.ndarray]],
                    rtol: float) -> list[str]:
    """The outputs a variant changes on at least one case: what its mistake concerns."""
    names: list[str] = []
    for case, outs in variant.items():
        for name, value in outs.items():
            ref = expected.get(case, {}).get(name)
            if ref is not None and name not in names and not matches(value, ref, rtol):
                names.append(name)
    return names


# ----- generic relations ----------------------------------------------------
def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _ratio(obs: Observation, rtol: float) -> tuple[bool, float | None]:
    """(fits, c) with got = c * expected on this case; c is None when expected is ~0."""
    got = _conformed(obs)
    if got is None or not np.all(np.isfinite(got)):
        return False, None
    e, g = obs.expected.ravel(), got.ravel()
    norm = float(e @ e)
    if norm <= ABS_FLOOR ** 2:
        return bool(np.max(np.abs(g), initial=0.0) <= ABS_FLOOR * 1e3), None
    c = float(g @ e) / norm
    return matches(g, c * e, rtol), c


def _same(values: list[float], targets: list[float], rtol: float = 1e-6) -> bool:
    return all(abs(v - t) <= rtol * max(abs(v), abs(t), 1e-300) for v, t in zip(values, targets))


def relations(name: str, observations: dict[str, list[Observation]], *, rtol: float, wrt: str | None = None,
              wrt_shape: str = "", dim_labels: dict[str, str] | None = None) -> list[Finding]:
    """Generic explanations of output `name`, best first. Each fits every
    returned case and the output is wrong on at least one of them."""
    obs = observations.get(name, [])
    if not obs or all(o.correct for o in obs):
        return []
    dim_labels = dim_labels or {}
    found: list[Finding] = []
    what = "gradient" if wrt else "value"
    shape_rule = f"a gradient has its variable's shape ({wrt} is {wrt_shape})" if wrt else ""

    # transpose (of the wrong shape, or square and equal to the transpose)
    if all(o.expected.ndim == 2 for o in obs) and all(
            o.got.shape == o.expected.T.shape and matches(o.got, o.expected.T, rtol) for o in obs):
        found.append(Finding(
            f"{name} is the transpose of the correct {what}: {shape_rule}; for q = x·W the chain rule gives "
            f"∂f/∂W = xᵀ·(∂f/∂q), and the shapes decide where the transposes go (the notes' "
            f"'homework helper' leaves them out).", "transpose", 1))
    # right values, wrong shape
    elif any(o.got.shape != o.expected.shape for o in obs) and all(
            o.got.size == o.expected.size and matches(o.got.ravel(), o.expected.ravel(), rtol) for o in obs):
        shapes = sorted({str(o.got.shape) for o in obs if o.got.shape != o.expected.shape})
        found.append(Finding(
            f"{name} has the right values in the wrong shape {', '.join(shapes)}: "
            f"{shape_rule or 'return it with the expected shape'}; drop the extra axis or reshape it.",
            "reshape", 2))
    # swapped with another output
    for other, other_obs in observations.items():
        if other == name:
            continue
        by_case = {o.case: o for o in other_obs}
        pairs = [(o, by_case.get(o.case)) for o in obs]
        if all(p is not None and o.got.shape == p.expected.shape and matches(o.got, p.expected, rtol)
               for o, p in pairs) and any(not matches(o.expected, p.expected, rtol) for o, p in pairs if p):
            found.append(Finding(f"{name} holds the values of {other}: the outputs are mixed up or returned "
                                 f"in the wrong order.", f"swap:{other}", 3))
            break
    # a factor: constant, -1, or a dimension
    fits = [_ratio(o, rtol) for o in obs]
    if all(f for f, _ in fits):
        informative = [(o, c) for o, (_, c) in zip(obs, fits) if c is not None]
        scalar = all(o.expected.size == 1 for o in obs)
        if informative and (not scalar or len(informative) >= 2):
            cs = [c for _, c in informative]
            dims_found = None
            for dim in sorted(informative[0][0].dims, key=lambda d: (d not in dim_labels, d)):
                sizes = [float(o.dims.get(dim, 0)) for o, _ in informative]
                if any(s > 1 for s in sizes) and 0 not in sizes:
                    if _same(cs, sizes):
                        dims_found = (dim, False)
                        break
                    if _same(cs, [1.0 / s for s in sizes]):
                        dims_found = (dim, True)
                        break
            label = ""
            if dims_found:
                dim, inverse = dims_found
                label = f" ({dim} = the number of {dim_labels[dim]})" if dim in dim_labels else ""
            if dims_found and not dims_found[1]:
                found.append(Finding(f"{name} is exactly {dims_found[0]} times the correct {what} on every "
                                     f"case{label}: a division by {dims_found[0]} is missing (the loss is an "
                                     f"average, so its gradient is too).", f"dim:{dims_found[0]}", 4))
            elif dims_found:
                found.append(Finding(f"{name} is exactly 1/{dims_found[0]} of the correct {what} on every "
                                     f"case{label}: it is divided by {dims_found[0]} once too often.",
                                     f"inverse-dim:{dims_found[0]}", 4))
            elif _same(cs, [cs[0]] * len(cs)) and not _same([cs[0]], [1.0]):
                if _same([cs[0]], [-1.0]):
                    found.append(Finding(f"{name} has the opposite sign of the correct {what} on every case: "
                                         f"a sign is flipped in a local gradient or in the upstream gradient.",
                                         "sign", 5))
                else:
                    found.append(Finding(f"{name} is exactly {_fmt(cs[0])} times the correct {what} on every "
                                         f"case: a constant factor is off (e.g. the 2 of a square, a ½, or a "
                                         f"sign).", "factor", 6))
    return sorted(found, key=lambda f: f.rank)
