"""Drawing a problem's cases from its spec, deterministically from a seed."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from grader.spec import ArgSpec, CaseSpec, ProblemSpec

MAX_REDRAWS = 200


@dataclass(frozen=True)
class Case:
    name: str
    check: str | None
    weight: float
    args: dict[str, Any]
    expected: dict[str, Any] | None = None


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


def _dims(problem: ProblemSpec, case: CaseSpec, rng: np.random.Generator) -> dict[str, int]:
    ranges = {**problem.dims, **case.dims}
    fixed = {k: v for k, v in ranges.items() if isinstance(v, int)}
    drawn = {k: v for k, v in ranges.items() if not isinstance(v, int)}
    for _ in range(MAX_REDRAWS):
        sizes = {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in drawn.items()}
        if len(set(sizes.values())) == len(sizes):  # distinct sizes hide no transposes
            break
    return {**fixed, **sizes}


def _size(dim: int | str, dims: dict[str, int]) -> int:
    if isinstance(dim, int):
        return dim
    name, _, plus = dim.partition("+")
    return dims[name.strip()] + (int(plus) if plus else 0)


def _bound(value: float | str, dims: dict[str, int]) -> float:
    return float(dims[value]) if isinstance(value, str) else value


def _draw(arg: ArgSpec, dims: dict[str, int], rng: np.random.Generator) -> Any:
    shape = tuple(_size(d, dims) for d in arg.shape)
    if arg.draw == "integers":
        value = rng.integers(int(_bound(arg.low, dims)), int(_bound(arg.high, dims)), size=shape)
    elif arg.draw == "uniform":
        value = rng.uniform(_bound(arg.low, dims), _bound(arg.high, dims), size=shape)
    else:
        value = arg.mean + arg.scale * rng.standard_normal(shape)
        for _ in range(MAX_REDRAWS):
            small = np.abs(value) < arg.min_abs
            if not np.any(small):
                break
            value = np.where(small, arg.mean + arg.scale * rng.standard_normal(shape), value)
    value = np.asarray(value, dtype=np.int64 if arg.dtype == "int" else np.float64)
    return value.item() if not shape else value


def _fixed(arg: ArgSpec, raw: Any) -> Any:
    value = np.asarray(raw, dtype=np.int64 if arg.dtype == "int" else np.float64)
    return value.item() if value.ndim == 0 else value


def forward_args(problem: ProblemSpec, args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k != problem.upstream}


def draw_cases(problem: ProblemSpec, seed: int, reference: Callable[[str], Callable]) -> list[Case]:
    """All cases of a problem. `reference(name)` returns a pack function (builders, kinks)."""
    cases = []
    for index, spec in enumerate(problem.cases):
        for rep in range(spec.repeat):
            rng = np.random.default_rng([seed, _stable(problem.id), index, rep])
            name = spec.name if spec.repeat == 1 else f"{spec.name} #{rep + 1}"
            cases.append(Case(name, spec.check, spec.weight, _draw_case(problem, spec, rng, reference), spec.expected))
    return cases


def _draw_case(problem: ProblemSpec, spec: CaseSpec, rng: np.random.Generator,
               reference: Callable[[str], Callable]) -> dict[str, Any]:
    kinks = reference(problem.kinks) if problem.kinks else None
    args_by_name = {a.name: a for a in problem.args}
    for _ in range(MAX_REDRAWS):
        dims = _dims(problem, spec, rng)
        if spec.build:
            args = dict(reference(spec.build)(rng, dims))
        else:
            args = {}
            for arg in problem.args:
                if arg.name not in spec.values:
                    override = spec.draws.get(arg.name)
                    args[arg.name] = _draw(arg.model_copy(update=override) if override else arg, dims, rng)
        for name, raw in spec.values.items():
            args[name] = _fixed(args_by_name[name], raw)
        args = {a.name: args[a.name] for a in problem.args}
        if kinks is None or spec.values.keys() >= args.keys():
            return args
        distances = np.abs(np.asarray(kinks(**forward_args(problem, args)), dtype=np.float64))
        if distances.size == 0 or distances.min() > problem.tolerance.kink_gap:
            return args
    return args
