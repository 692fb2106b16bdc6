"""Scoring one problem: run its cases through the student's function, apply
the checks of `grader.check`, and turn the verdicts into a `ProblemResult`.

Checks of a problem (weights from the spec):
- `signature`: the function is defined and takes the declared arguments;
- `value: f`: each forward value matches the reference;
- `shape: dW`: each gradient has its variable's shape;
- `gradient: dW`: each gradient matches centered finite differences of the
  reference forward (the oracle) and, when the pack has one, the reference;
- `finite`: every returned value is finite;
- `unmodified`: the arguments are left as they were;
- one extra check per named case group (e.g. numerical stability), which
  passes when every output is right on those cases.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from grader.cases import Case, forward_args
from grader import diagnose
from grader.feedback import ProblemFeedback, axis_labels
from grader.check import compare, fd
from grader.report import CheckResult, ProblemResult
from grader.sandbox import CallOutcome, FunctionInfo, Returned
from grader.spec import OutputSpec, ProblemSpec


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _shape(shape: tuple[int, ...]) -> str:
    return "scalar" if not shape else f"shape {shape}"


@dataclass
class Verdict:
    """Whether one check passed on one case, and why not."""

    passed: bool
    message: str = ""


@dataclass
class CaseResult:
    case: Case
    outcome: CallOutcome
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    got: dict[str, np.ndarray] = field(default_factory=dict)  # each numeric output, as returned
    expected: dict[str, np.ndarray] = field(default_factory=dict)  # each correct output


def _describe_failure(outcome: CallOutcome, function: str) -> str:
    if outcome.status == "error" and outcome.error is not None:
        err = outcome.error
        where = f" (line {err.line})" if err.line else ""
        return f"{function} raised {err.type}: {err.message}{where}"
    if outcome.status == "timeout":
        return f"{outcome.detail}; look for an endless loop or very slow code"
    return outcome.detail or f"{function} could not be run"


class ProblemGrader:
    """Grades one problem given a way to call the student's function."""

    def __init__(self, problem: ProblemSpec, function: Callable[[str], Callable], seed: int) -> None:
        self.problem = problem
        self.tol = problem.tolerance
        self.forward = function(problem.forward) if problem.forward else None
        self.reference = function(problem.reference) if problem.reference else None
        self.seed = seed
        self.diagnosis = ProblemFeedback(problem, function, seed)
        self._oracles: dict[tuple[int, int], fd.Oracle] = {}
        self._expected: dict[str, list[Any] | None] = {}

    # ----- expected outputs -------------------------------------------------
    def expected(self, case: Case) -> list[Any] | None:
        """The correct outputs on `case` (computed once per case)."""
        if case.name not in self._expected:
            self._expected[case.name] = self._compute_expected(case)
        return self._expected[case.name]

    def _compute_expected(self, case: Case) -> list[Any] | None:
        if case.expected is not None:
            return [case.expected.get(o.name) for o in self.problem.outputs]
        if self.reference is not None:
            out = self.reference(*[_copy(v) for v in case.args.values()])
            out = out if len(self.problem.outputs) > 1 else (out,)
            return [np.asarray(v, dtype=np.float64) for v in out]
        if self.forward is not None:  # the forward alone gives the value outputs; FD checks the gradients
            fargs = {k: _copy(v) for k, v in forward_args(self.problem, case.args).items()}
            value = np.asarray(self.forward(**fargs), dtype=np.float64)
            return [value if o.kind == "value" else None for o in self.problem.outputs]
        return None

    def objective(self, case: Case, wrt: str) -> Callable[[np.ndarray], float]:
        assert self.forward is not None
        fargs = forward_args(self.problem, case.args)
        upstream = case.args.get(self.problem.upstream) if self.problem.upstream else None
        scalar = not isinstance(case.args[wrt], np.ndarray)
        forward = self.forward

        def phi(x: np.ndarray) -> float:
            call = dict(fargs)
            call[wrt] = float(x) if scalar else x
            out = np.asarray(forward(**call), dtype=np.float64)
            return float(np.sum(upstream * out)) if upstream is not None else float(out)

        return phi

    def oracle(self, index: int, k: int, case: Case, wrt: str) -> fd.Oracle:
        """The finite-difference oracle of output k on case `index`, built once
        and reused for every submission this grader sees."""
        key = (index, k)
        if key not in self._oracles:
            rng = np.random.default_rng([self.seed, zlib.crc32(self.problem.id.encode()), index, k])
            self._oracles[key] = fd.Oracle(self.objective(case, wrt), np.asarray(case.args[wrt], dtype=np.float64),
                                           rng, max_coordinates=self.tol.max_coordinates,
                                           random_directions=self.tol.random_directions)
        return self._oracles[key]

    # ----- per-case verdicts ------------------------------------------------
    def judge(self, index: int, case: Case, outcome: CallOutcome) -> CaseResult:
        result = CaseResult(case, outcome)
        outs = self.problem.outputs
        fn = self.problem.function
        if outcome.status != "ok":
            message = _describe_failure(outcome, fn)
            for key in self.main_keys():
                result.verdicts[key] = Verdict(False, message)
            return result
        assert outcome.outputs is not None
        items = outcome.outputs.items
        names = ", ".join(o.name for o in outs)
        if len(outs) > 1 and (not outcome.outputs.is_sequence or len(items) != len(outs)):
            got = f"{len(items)} values" if outcome.outputs.is_sequence else f"a {outcome.outputs.type_name}"
            message = f"{fn} returned {got}; it must return the tuple ({names})"
            for key in self.main_keys():
                result.verdicts[key] = Verdict(False, message)
            return result
        if len(outs) == 1 and outcome.outputs.is_sequence and len(items) == 1:
            items = items[:1]
        expected = self.expected(case)
        finite = True
        for k, (spec, item) in enumerate(zip(outs, items)):
            exp = expected[k] if expected is not None else None
            if item.array is None:
                verdict = Verdict(False, f"{spec.name} is a {item.type_name}; it must be a number or an array")
                finite = False
                if spec.kind == "value":
                    result.verdicts[f"value: {spec.name}"] = verdict
                else:
                    result.verdicts[f"shape: {spec.name}"] = verdict
                    result.verdicts[f"gradient: {spec.name}"] = verdict
                continue
            got = item.array.astype(np.float64)
            result.got[spec.name] = got
            if exp is not None:
                result.expected[spec.name] = np.asarray(exp, dtype=np.float64)
            if not np.all(np.isfinite(got)):
                finite = False
            if spec.kind == "value":
                result.verdicts[f"value: {spec.name}"] = self._judge_value(spec, got, exp)
            else:
                shape_v, grad_v = self._judge_gradient(index, k, case, spec, got, exp)
                result.verdicts[f"shape: {spec.name}"] = shape_v
                result.verdicts[f"gradient: {spec.name}"] = grad_v
        result.verdicts["finite"] = Verdict(finite, "" if finite else f"{fn} returned NaN or infinity")
        result.verdicts["unmodified"] = self._judge_unmodified(case, outcome.args_after)
        return result

    def _judge_value(self, spec: OutputSpec, got: np.ndarray, exp: Any) -> Verdict:
        if exp is None:
            return Verdict(True)
        exp = np.asarray(exp, dtype=np.float64)
        if not compare.conforms(got, exp.shape, scalar=exp.ndim == 0):
            return Verdict(False, f"{spec.name} has shape {got.shape}; expected {_shape(exp.shape)}")
        got = got.reshape(exp.shape)
        if compare.close(got, exp, self.tol.ref_rtol):
            return Verdict(True)
        if exp.ndim == 0:
            return Verdict(False, f"{spec.name} = {_fmt(float(got))}, expected {_fmt(float(exp))}")
        m = compare.mismatch(got, exp)
        worst = _worst(m)
        where = diagnose.locate(got, exp, self.tol.ref_rtol)
        return Verdict(False, f"{spec.name} is wrong (relative error {m.rel_error:.2g}); worst entries {worst}"
                              + (f"; {where}" if where else ""))

    def _judge_gradient(self, index: int, k: int, case: Case, spec: OutputSpec, got: np.ndarray,
                        exp: Any) -> tuple[Verdict, Verdict]:
        wrt = case.args[spec.wrt]
        var_shape = np.shape(wrt)
        scalar = not isinstance(wrt, np.ndarray)
        if not compare.conforms(got, var_shape, scalar=scalar):
            why = (f"{spec.name} has shape {got.shape}; a gradient has its variable's shape: "
                   f"{spec.wrt} is {_shape(var_shape)}")
            return Verdict(False, why), Verdict(False, f"{spec.name} cannot be compared: wrong shape {got.shape}")
        got = got.reshape(var_shape)
        problems = []
        if not np.all(np.isfinite(got)):
            return Verdict(True), Verdict(False, f"{spec.name} contains NaN or infinity")
        if self.forward is not None:
            result = self.oracle(index, k, case, spec.wrt).check(
                got, step=self.tol.fd_step, rtol=self.tol.fd_rtol, noise=self.tol.fd_noise,
                kink_rtol=self.tol.kink_rtol, min_conclusive=self.tol.min_conclusive)
            if result.verdict == "disagree":
                bad = result.disagreeing
                first = bad[0]
                where = ", ".join(p.label for p in bad[:4]) + (" ..." if len(bad) > 4 else "")
                problems.append(f"{spec.name} disagrees with finite differences along {len(bad)} of "
                                f"{len(result.probes)} probes ({where}; e.g. expected {_fmt(first.expected)}, "
                                f"got {_fmt(first.got)})")
            elif result.verdict == "inconclusive" and exp is None:
                problems.append(f"{spec.name} could not be verified by finite differences (too many kinks)")
        if exp is not None:
            exp = np.asarray(exp, dtype=np.float64).reshape(var_shape)
            if not compare.close(got, exp, self.tol.ref_rtol):
                m = compare.mismatch(got, exp)
                worst = _worst(m)
                problems.append(f"relative error {m.rel_error:.2g}; worst entries {worst}" if problems
                                else f"{spec.name} is wrong (relative error {m.rel_error:.2g}); worst entries {worst}")
                where = diagnose.locate(got, exp, self.tol.ref_rtol, axis_labels(self.problem, spec.wrt))
                if where:
                    problems.append(where)
        return Verdict(True), Verdict(not problems, "; ".join(problems))

    def _judge_unmodified(self, case: Case, after: tuple[Returned, ...]) -> Verdict:
        changed = []
        for (name, before), returned in zip(case.args.items(), after):
            now = returned.array
            if now is None or np.shape(now) != np.shape(before) or not np.array_equal(
                    np.asarray(now), np.asarray(before), equal_nan=np.asarray(before).dtype.kind == "f"):
                changed.append(name)
        if not changed:
            return Verdict(True)
        return Verdict(False, f"{self.problem.function} modified its argument{'s' if len(changed) > 1 else ''} "
                              f"{', '.join(changed)}; work on copies (e.g. x = x.copy()) or avoid in-place operations")

    # ----- checks and score -------------------------------------------------
    def main_keys(self) -> list[str]:
        keys = []
        for o in self.problem.outputs:
            keys += [f"value: {o.name}"] if o.kind == "value" else [f"shape: {o.name}", f"gradient: {o.name}"]
        return keys + ["finite", "unmodified"]

    def weight(self, key: str) -> float:
        w = self.problem.weights
        kind = key.split(":")[0]
        return {"signature": w.signature, "value": w.value, "shape": w.shape, "gradient": w.gradient,
                "finite": w.finite, "unmodified": w.unmodified}[kind]

    def extra_checks(self, cases: list[Case]) -> dict[str, float]:
        extras: dict[str, float] = {}
        for case in cases:
            if case.check is not None:
                extras.setdefault(case.check, case.weight)
        return extras

    def score(self, cases: list[Case], results: list[CaseResult], info: FunctionInfo | None,
              not_attempted: bool, total_cases: int, call: Callable[[list], CallOutcome] | None = None,
              defined: list[str] | tuple[str, ...] = ()) -> ProblemResult:
        extras = self.extra_checks(cases)
        weights = {"signature": self.problem.weights.signature, **{k: self.weight(k) for k in self.main_keys()},
                   **extras}
        total = sum(weights.values())
        checks: dict[str, Verdict] = {}
        fn = self.problem.function
        expected_params = self.problem.arg_names
        if info is None or not_attempted:
            why = (f"{fn} is not attempted yet (it raises NotImplementedError)" if not_attempted
                   else f"{fn} is not defined in your file; define {fn}({', '.join(expected_params)})"
                   + _did_you_mean(fn, defined))
            checks = {key: Verdict(False, why) for key in weights}
        else:
            if info.params is not None and not accepts_positional(info.params, len(expected_params)):
                checks["signature"] = Verdict(False, f"{fn} takes ({', '.join(info.params)}); it must take "
                                                     f"({', '.join(expected_params)})")
            elif results and not any(r.outcome.status == "ok" for r in results):
                checks["signature"] = Verdict(False, _describe_failure(results[0].outcome, fn))
            else:
                checks["signature"] = Verdict(True)
            main = [r for r in results if r.case.check is None]
            for key in self.main_keys():
                checks[key] = _combine(key, main, total_cases)
            for name in extras:
                group = [r for r in results if r.case.check == name]
                checks[name] = _combine_all(group, [k for k in self.main_keys() if k != "unmodified"])
            if len(results) < len(cases):
                skipped = Verdict(False, "not run: an earlier case of this problem crashed or timed out")
                for key in weights:
                    if key != "signature" and checks[key].passed:
                        checks[key] = skipped
        # explain() only words failing checks: skip it (and its catalogue of mistaken variants) when none fail
        all_passed = all(v.passed for v in checks.values())
        feedback = {} if info is None or not_attempted or all_passed else self.diagnosis.explain(results, checks, call)
        # signature, shape, finite and unmodified are earned only alongside a right value or gradient:
        # a stub returning zeros, or an attack that returns no numbers, scores 0
        earned = any(checks[k].passed for k in weights if k.startswith(("value:", "gradient:")) or k in extras)
        out = []
        for key, w in weights.items():
            v = checks[key]
            pts = round(self.problem.points * w / total, 4)
            hint, more = feedback.get(key, (None, ""))
            message = _join(v.message, more) if not v.passed else v.message
            if v.passed and not earned:
                message = "counts once a value or gradient of this problem is right"
            out.append(CheckResult(name=key, passed=v.passed, score=pts if v.passed and earned else 0.0,
                                   max_score=pts, message=message, hint=hint if not v.passed else None))
        passed_weight = sum(w for key, w in weights.items() if checks[key].passed) if earned else 0.0
        score = round(self.problem.points * passed_weight / total, 4)
        statuses = {r.outcome.status for r in results}
        if info is None or not_attempted:
            status = "missing"
        elif all(c.passed for c in out):
            status = "passed"
        elif "timeout" in statuses:
            status = "timeout"
        elif statuses & {"error", "crash", "violation"}:
            status = "error"
        else:
            status = "failed"
        return ProblemResult(id=self.problem.id, score=score, max_score=float(self.problem.points), status=status,
                             checks=out, line=info.line if info else None)


def accepts_positional(params: tuple[str, ...], count: int) -> bool:
    """Whether a signature, as rendered by inspect ("W", "reg=0.0", "*args",
    "x: float"), accepts `count` positional arguments."""
    positional = [p for p in params if not p.startswith("*") and p != "/"]
    required = [p for p in positional if "=" not in p]
    if "*" in params:  # keyword-only marker: only what precedes it is positional
        positional = [p for p in params[: params.index("*")] if p != "/"]
        required = [p for p in positional if "=" not in p]
    varargs = any(p.startswith("*") and not p.startswith("**") and p != "*" for p in params)
    return len(required) <= count and (varargs or count <= len(positional))


def _worst(m: compare.Mismatch) -> str:
    return "; ".join(f"{i if i else 'value'}: expected {_fmt(e)}, got {_fmt(g)}" for i, e, g in m.worst)


def _did_you_mean(function: str, defined: list[str] | tuple[str, ...]) -> str:
    """' (your file has softmax_loss_vectorized: rename it?)' for a near miss."""
    import difflib

    containing = sorted((d for d in defined if function in d), key=len)
    close = containing[:1] or difflib.get_close_matches(function, defined, n=1, cutoff=0.8)
    return f" (your file has {close[0]}: rename it to {function}?)" if close else ""


def _join(message: str, more: str) -> str:
    if not more:
        return message
    return message + ("" if message.endswith(".") else ".") + more


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def _combine(key: str, results: list[CaseResult], total_cases: int) -> Verdict:
    failed = [r for r in results if not r.verdicts.get(key, Verdict(True)).passed]
    if not failed:
        return Verdict(True)
    first = failed[0]
    count = f" (fails on {len(failed)} of {len(results)} cases)" if len(results) > 1 else ""
    return Verdict(False, f"case '{first.case.name}': {first.verdicts[key].message}{count}")


def _combine_all(results: list[CaseResult], keys: list[str]) -> Verdict:
    for r in results:
        for key in keys:
            v = r.verdicts.get(key)
            if v is not None and not v.passed:
                return Verdict(False, f"case '{r.case.name}': {v.message}")
    return Verdict(True)
