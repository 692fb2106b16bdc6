"""Assignment specs: what a pack in `problems/<assignment>/assignment.toml` may say.

The engine knows no homework; everything it grades is declared here:
the function's name and arguments (with shapes over named dimensions and how
to draw them), its outputs (values, and gradients with respect to which
argument), points, cases, tolerances, and the names of functions in the
pack's trusted `reference.py` (forward, full reference, kinks, case builders).

Tolerances (defaults chosen so correct float64 code never fails):
- `fd_step` h = 1e-5 along unit-norm directions: centered differences then
  have truncation error ~h^2 (1e-10) and round-off ~eps*|f|/h (2e-11 |f|).
- `fd_rtol` 1e-5 between the directional finite difference and <grad, v>,
  plus a noise floor `fd_noise` * eps * |f| / h that scales with round-off.
- `kink_rtol`: a probe whose estimates at h and h/2 disagree by more than this
  crossed a kink; it is retried at h/100 and otherwise counted inconclusive.
- `ref_rtol` 1e-6 of the larger max-norm, for values and full gradients
  compared against the reference: summation order changes results by ~1e-15.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone as _timezone, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

Dim = int | str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArgSpec(Strict):
    """One argument of the student's function and how the grader draws it."""

    name: str
    shape: list[Dim] = Field(default_factory=list, description="Dims by name or size; [] is a scalar.")
    dtype: Literal["float", "int"] = "float"
    draw: Literal["normal", "uniform", "integers"] = "normal"
    mean: float = 0.0
    scale: float = 1.0
    low: float | str = 0.0
    high: float | str = 1.0
    min_abs: float = Field(0.0, description="Redraw entries closer to zero than this.")


class OutputSpec(Strict):
    name: str
    kind: Literal["value", "grad"]
    wrt: str | None = Field(None, description="The argument a gradient belongs to.")

    @model_validator(mode="after")
    def _grad_has_wrt(self) -> "OutputSpec":
        if (self.kind == "grad") != (self.wrt is not None):
            raise ValueError(f"output {self.name!r}: a grad needs `wrt`, a value must not have it")
        return self


class CaseSpec(Strict):
    """A family of inputs. Every case runs through the problem's main checks,
    unless it names its own `check`, which then scores all outputs on it."""

    name: str
    repeat: int = Field(1, ge=1, le=50)
    dims: dict[str, int | tuple[int, int]] = Field(default_factory=dict)
    values: dict[str, Any] = Field(default_factory=dict, description="Fixed argument values.")
    draws: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-case draw overrides.")
    build: str | None = Field(None, description="Reference function (rng, dims) -> arguments.")
    check: str | None = Field(None, description="Name of an extra check scored on this case alone.")
    weight: float = Field(2.0, gt=0, description="Weight of the extra check.")
    expected: dict[str, Any] | None = Field(None, description="Stored outputs, for packs with no reference.")


class MistakeSpec(Strict):
    """A known mistake: a reference function with the student's signature that
    returns what a submission with this one mistake returns. The grader shows
    `hint` only when the submission's outputs equal the variant's on every case
    where they were returned (and differ from the correct ones somewhere)."""

    id: str
    variant: str = Field(description="Reference function with the student's signature.")
    hint: str = Field(description="One sentence, tied to the lecture concept.")
    outputs: list[str] | None = Field(None, description="Outputs the mistake concerns (default: those it changes).")


class Tolerance(Strict):
    fd_step: float = 1e-5
    fd_rtol: float = 1e-5
    fd_noise: float = 256.0
    kink_rtol: float = 1e-7
    ref_rtol: float = 1e-6
    kink_gap: float = 1e-3
    min_conclusive: int = 3
    max_coordinates: int = 64
    random_directions: int = 4


class Weights(Strict):
    signature: float = 1.0
    value: float = 2.0
    shape: float = 1.0
    gradient: float = 3.0
    finite: float = 1.0
    unmodified: float = 1.0


class ProblemSpec(Strict):
    id: str
    function: str
    points: float = Field(gt=0)
    title: str = ""
    args: list[ArgSpec]
    outputs: list[OutputSpec]
    forward: str | None = Field(None, description="Reference forward: the finite-difference oracle.")
    reference: str | None = Field(None, description="Reference with the student's signature.")
    upstream: str | None = Field(None, description="Argument that multiplies the forward output.")
    kinks: str | None = Field(None, description="Reference function of quantities to keep off zero.")
    dims: dict[str, int | tuple[int, int]] = Field(default_factory=dict)
    cases: list[CaseSpec]
    tolerance: Tolerance = Tolerance()
    weights: Weights = Weights()
    mistakes: list[MistakeSpec] = Field(default_factory=list, description="Catalogue of known mistakes.")
    dim_labels: dict[str, str] = Field(default_factory=dict,
                                       description="What a named dim counts, for feedback, e.g. C = 'classes'.")

    @model_validator(mode="after")
    def _consistent(self) -> "ProblemSpec":
        names = [a.name for a in self.args]
        if len(set(names)) != len(names):
            raise ValueError(f"problem {self.id!r}: argument names repeat")
        for out in self.outputs:
            if out.wrt is not None and out.wrt not in names:
                raise ValueError(f"problem {self.id!r}: output {out.name!r} is a gradient of unknown {out.wrt!r}")
        if self.upstream is not None and self.upstream not in names:
            raise ValueError(f"problem {self.id!r}: upstream {self.upstream!r} is not an argument")
        outputs = {o.name for o in self.outputs}
        ids = [m.id for m in self.mistakes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"problem {self.id!r}: mistake ids repeat")
        for m in self.mistakes:
            if m.outputs is not None and not set(m.outputs) <= outputs:
                raise ValueError(f"problem {self.id!r}, mistake {m.id!r}: unknown outputs "
                                 f"{sorted(set(m.outputs) - outputs)}")
        for case in self.cases:
            unknown = set(case.values) - set(names)
            if unknown:
                raise ValueError(f"problem {self.id!r}, case {case.name!r}: unknown arguments {sorted(unknown)}")
            unknown = set(case.expected or {}) - {o.name for o in self.outputs}
            if unknown:
                raise ValueError(f"problem {self.id!r}, case {case.name!r}: expected names unknown outputs "
                                 f"{sorted(unknown)}")
            if case.expected is not None and (set(names) - set(case.values) or case.build or case.repeat > 1):
                raise ValueError(f"problem {self.id!r}, case {case.name!r}: stored expected outputs need fixed "
                                 f"values for every argument ({', '.join(names)})")
            _check_dims(self, case)
        return self

    @property
    def arg_names(self) -> list[str]:
        return [a.name for a in self.args]


def _dim_name(dim: Dim) -> str | None:
    """The dim a shape entry names: 5 -> None, "D" -> "D", "D+1" -> "D"."""
    if isinstance(dim, int):
        return None
    name, plus, extra = dim.partition("+")
    if not name.strip() or (plus and not extra.strip().isdigit()):
        raise ValueError(f"shape entry {dim!r} must be a size, a dim name or 'name+k'")
    return name.strip()


def _check_dims(problem: "ProblemSpec", case: CaseSpec) -> None:
    """Every drawn argument's dims are declared, and every range is (low, high) with low <= high."""
    where = f"problem {problem.id!r}, case {case.name!r}"
    dims = {**problem.dims, **case.dims}
    for name, size in dims.items():
        low, high = (size, size) if isinstance(size, int) else size
        if not 0 <= low <= high:
            raise ValueError(f"{where}: dim {name!r} = {size}; give a size or a range (low, high) "
                             f"with 0 <= low <= high")
    if case.build:
        return
    for arg in problem.args:
        if arg.name in case.values:
            continue
        override = case.draws.get(arg.name, {})
        named = [_dim_name(d) for d in override.get("shape", arg.shape)]
        named += [b for b in (override.get("low", arg.low), override.get("high", arg.high)) if isinstance(b, str)]
        missing = sorted({n for n in named if n is not None} - set(dims))
        if missing:
            raise ValueError(f"{where}: argument {arg.name!r} uses undeclared dims {missing}; declare them in dims")


class Policy(Strict):
    """How an assignment's gradebook is computed (`grader export`); the table
    `[policy]` of assignment.toml. Without it, the latest submission counts
    and nothing is late. The computation is grader/gradebook_policy.py.

    - `counts`: "latest" (the last graded submission) or "best" (the highest
      total after penalties; ties go to the earliest).
    - `due` with `timezone` (an IANA name such as "Europe/Berlin"): a TOML local
      date-time (2025-03-14T23:59:00) is read on that zone's wall clock; a
      date-time with an offset (…+01:00) is an instant. Lateness counts started
      days on the zone's wall clock: 1 day late is after the due time and no
      later than the same time the next day (23 or 25 hours across DST).
    - `late`: "penalty" subtracts `late_penalty_per_day` × the maximum score per
      started day (never below 0); "zero" scores late work 0 (a hard cut-off);
      "not_counted" ignores late work, as if it had not been submitted.
    - `max_submissions`: only a student's first N submissions (by submission
      time) can count; later ones are stored and graded but never count.
    """

    counts: Literal["latest", "best"] = "latest"
    due: datetime | None = Field(None, description="Due date: local wall-clock time in `timezone`, or with an offset.")
    timezone: str | None = Field(None, description="IANA time zone of the due date, e.g. 'Europe/Berlin'.")
    late: Literal["penalty", "zero", "not_counted"] = "penalty"
    late_penalty_per_day: float = Field(0.0, ge=0, le=1, description="Fraction of the maximum score per started day late.")
    max_submissions: int | None = Field(None, ge=1, description="Submissions after the first N are stored but do not count.")

    @model_validator(mode="after")
    def _consistent(self) -> "Policy":
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"policy: unknown time zone {self.timezone!r}; use an IANA name such as "
                                 f"'Europe/Berlin' or 'UTC'") from None
        if self.due is None:
            if self.late_penalty_per_day or self.late != "penalty":
                raise ValueError("policy: a late rule needs a due date (`due`)")
            return self
        if self.due.tzinfo is None:
            if self.timezone is None:
                raise ValueError(f"policy: due {self.due.isoformat()} has no offset; add `timezone`, "
                                 f"e.g. timezone = \"Europe/Berlin\"")
            try:
                localize(self.due, self.zone)  # nonexistent or ambiguous local times are refused
            except ValueError as exc:
                raise ValueError(f"policy: due {exc}") from None
        return self

    @property
    def zone(self) -> tzinfo:
        """The due date's zone: `timezone`, else the offset of `due`, else UTC."""
        if self.timezone is not None:
            return ZoneInfo(self.timezone)
        if self.due is not None and self.due.tzinfo is not None:
            return self.due.tzinfo
        return _timezone.utc

    @property
    def due_at(self) -> datetime | None:
        """The due date as an aware datetime in `zone`."""
        if self.due is None:
            return None
        if self.due.tzinfo is None:
            return localize(self.due, self.zone)
        return self.due.astimezone(self.zone)


def localize(naive: datetime, zone: tzinfo) -> datetime:
    """`naive` read on `zone`'s wall clock. A time skipped by a DST change, or
    one that happens twice, is a ValueError (write it with an offset instead)."""
    if naive.tzinfo is not None:
        return naive.astimezone(zone)
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        back = early.astimezone(_timezone.utc).astimezone(zone).replace(tzinfo=None)
        what = "does not exist (a DST change skips it)" if back != naive else "happens twice (a DST change repeats it)"
        raise ValueError(f"{naive.isoformat()} {what} in {zone}; write it with a UTC offset, "
                         f"e.g. {naive.isoformat()}{_offset(early.utcoffset())}")
    return early


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class AssignmentSpec(Strict):
    id: str
    title: str = ""
    version: str = "1"
    seed: int | None = Field(None, description="Default seed; derived from id and version when absent.")
    call_timeout: float = Field(5.0, gt=0, description="Seconds for one call of a student function.")
    total_timeout: float = Field(60.0, gt=0, description="Seconds for a whole submission.")
    problems: list[ProblemSpec]
    policy: Policy = Field(default_factory=Policy, description="Which submission counts, due date, late rule.")

    @model_validator(mode="after")
    def _unique_ids(self) -> "AssignmentSpec":
        ids = [p.id for p in self.problems]
        if len(set(ids)) != len(ids):
            raise ValueError("problem ids repeat")
        return self

    @property
    def default_seed(self) -> int:
        if self.seed is not None:
            return self.seed
        digest = hashlib.sha256(f"{self.id}:{self.version}".encode()).digest()
        return int.from_bytes(digest[:4], "big")

    def problem(self, problem_id: str) -> ProblemSpec:
        for p in self.problems:
            if p.id == problem_id:
                return p
        raise KeyError(problem_id)
