"""Naming the mistake behind failing checks: which known mistake fits the
student's numbers on every case (a hint), and whether the forward or the
backward pass is wrong (finite differences of the student's own forward).

Nothing here decides a score: `evaluate` calls `ProblemFeedback.explain()`
only for checks that already failed, so a correct submission never gets a hint.
The numerics (relations, locating errors, fitting variants) are in `diagnose`.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from grader import diagnose
from grader.cases import Case
from grader.check import fd
from grader.sandbox import CallOutcome
from grader.spec import OutputSpec, ProblemSpec

if TYPE_CHECKING:
    from grader.evaluate import CaseResult, Verdict


def axis_labels(problem: ProblemSpec, arg: str | None) -> tuple[str | None, ...]:
    """Names of an argument's axes for messages, e.g. ("features", "classes")."""
    spec = next((a for a in problem.args if a.name == arg), None)
    if spec is None:
        return ()
    return tuple(problem.dim_labels.get(d) if isinstance(d, str) else None for d in spec.shape)


def _passed(result: "CaseResult", key: str) -> bool:
    verdict = result.verdicts.get(key)
    return verdict is None or verdict.passed


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


class ProblemFeedback:
    """Diagnoses one problem's failing checks."""

    def __init__(self, problem: ProblemSpec, function: Callable[[str], Callable], seed: int) -> None:
        self.problem = problem
        self.tol = problem.tolerance
        self.seed = seed
        self.variants = [(m, function(m.variant)) for m in problem.mistakes]

    def _dims(self, case: Case) -> dict[str, int]:
        dims: dict[str, int] = {}
        for a in self.problem.args:
            for d, n in zip(a.shape, np.shape(case.args[a.name])):
                if isinstance(d, str) and "+" not in d:
                    dims[d.strip()] = int(n)
        return dims

    def _output_keys(self, spec: OutputSpec) -> list[str]:
        return [f"value: {spec.name}"] if spec.kind == "value" else [f"shape: {spec.name}", f"gradient: {spec.name}"]

    def observations(self, results: list["CaseResult"]) -> dict[str, list[diagnose.Observation]]:
        """Every output the student returned, with the correct one, case by case."""
        found: dict[str, list[diagnose.Observation]] = {o.name: [] for o in self.problem.outputs}
        for r in results:
            if r.outcome.status != "ok":
                continue
            for spec in self.problem.outputs:
                if spec.name in r.got and spec.name in r.expected:
                    correct = all(_passed(r, k) for k in self._output_keys(spec))
                    found[spec.name].append(diagnose.Observation(r.case.name, r.got[spec.name],
                                                                 r.expected[spec.name], correct, self._dims(r.case)))
        return found

    def catalogue(self, results: list["CaseResult"],
                  observations: dict[str, list[diagnose.Observation]]) -> dict[str, list[diagnose.Finding]]:
        """The problem's known mistakes that reproduce the student's numbers on every case."""
        found: dict[str, list[diagnose.Finding]] = {}
        ok = [r for r in results if r.outcome.status == "ok" and r.got]
        if not ok:
            return found
        names = [o.name for o in self.problem.outputs]
        expected = {r.case.name: r.expected for r in ok}
        rtol = 10 * self.tol.ref_rtol
        values = {o.name for o in self.problem.outputs if o.kind == "value"}

        def rank(targets: list[str]) -> float:
            return -len(targets) - (10 if values & set(targets) else 0)

        for order, (mistake, fn) in enumerate(self.variants):
            variant: dict[str, dict[str, np.ndarray]] = {}
            try:
                for r in ok:
                    with np.errstate(all="ignore"):
                        outs = fn(*[_copy(v) for v in r.case.args.values()])
                    outs = outs if len(names) > 1 else (outs,)
                    variant[r.case.name] = {n: np.asarray(v, dtype=np.float64) for n, v in zip(names, outs)}
            except Exception:  # noqa: BLE001 - a broken variant explains nothing
                continue
            targets = mistake.outputs or diagnose.changed_outputs(expected, variant, rtol)
            if targets and diagnose.variant_fits(observations, variant, targets, rtol):
                # more outputs explained rank higher; explaining a wrong value ranks above the
                # "consistent with your own value" finding (rank -5), which ranks above the rest

                for name in targets:
                    found.setdefault(name, []).append(
                        diagnose.Finding(mistake.hint, f"mistake:{mistake.id}", rank=rank(targets) + order / 1000))
        return found

    def own_forward(self, results: list["CaseResult"], call: Callable[[list], CallOutcome] | None,
                    budget: int = 160) -> dict[str, dict[str, str]]:
        """Directional finite differences of the student's *own* forward value,
        on the cases where that value is wrong: {case: {gradient: agree|disagree|inconclusive}}.
        At most `budget` extra calls of the student's function."""
        outs = self.problem.outputs
        values = [(k, o) for k, o in enumerate(outs) if o.kind == "value"]
        grads = [(k, o) for k, o in enumerate(outs) if o.kind == "grad"]
        if call is None or len(values) != 1 or not grads:
            return {}
        vk, vspec = values[0]
        vkey = f"value: {vspec.name}"
        failing = [r for r in results if r.outcome.status == "ok" and not _passed(r, vkey)
                   and vspec.name in r.got and np.all(np.isfinite(r.got[vspec.name]))]
        calls = [0]
        probed: dict[str, dict[str, str]] = {}

        class _Stop(Exception):
            pass

        for index, r in enumerate(failing[:6]):
            upstream = r.case.args.get(self.problem.upstream) if self.problem.upstream else None
            per: dict[str, str] = {}
            for k, g in grads:
                wrt = r.case.args[g.wrt]
                scalar = not isinstance(wrt, np.ndarray)
                got = r.got.get(g.name)
                if got is None or got.size != np.size(wrt) or (not scalar and got.shape != np.shape(wrt)) \
                        or not np.all(np.isfinite(got)):
                    per[g.name] = "inconclusive"
                    continue

                def phi(x: np.ndarray, case: Case = r.case, name: str = g.wrt, scalar: bool = scalar,
                        upstream: Any = upstream) -> float:
                    if calls[0] >= budget:
                        raise _Stop
                    calls[0] += 1
                    args = dict(case.args)
                    args[name] = float(x) if scalar else np.array(x, dtype=np.float64)
                    outcome = call(list(args.values()))
                    if outcome.status != "ok" or outcome.outputs is None:
                        raise _Stop
                    items = outcome.outputs.items
                    if len(outs) > 1 and len(items) != len(outs):
                        raise _Stop
                    arr = items[vk].array
                    if arr is None:
                        raise _Stop
                    f = arr.astype(np.float64)
                    if upstream is not None:
                        return float(np.sum(np.asarray(upstream) * f.reshape(np.shape(upstream))))
                    return float(f.reshape(()))

                x = np.asarray(wrt, dtype=np.float64)
                rng = np.random.default_rng([self.seed, zlib.crc32(self.problem.id.encode()), index, k, 7])
                verdicts = []
                for _ in range(1 if x.size == 1 else 2):
                    v = rng.standard_normal(x.shape)
                    v = v / np.linalg.norm(v) if x.size > 1 else np.ones(x.shape)
                    try:
                        p = fd.probe(phi, x, got.reshape(x.shape), v, "", step=self.tol.fd_step, rtol=self.tol.fd_rtol,
                                     noise=self.tol.fd_noise, kink_rtol=self.tol.kink_rtol)
                    except (_Stop, ValueError, TypeError):
                        verdicts.append("inconclusive")
                        break
                    verdicts.append(p.verdict)
                per[g.name] = ("disagree" if "disagree" in verdicts else "agree" if "agree" in verdicts
                               else "inconclusive")
            probed[r.case.name] = per
        return probed

    def explain(self, results: list["CaseResult"], checks: dict[str, "Verdict"],
                 call: Callable[[list], CallOutcome] | None) -> dict[str, tuple[str | None, str]]:
        """For each failing check: the best-fitting named mistake (a hint) and
        extra words for the message (other fitting explanations, and whether
        the forward or the backward pass is wrong)."""
        outs = self.problem.outputs
        obs = self.observations(results)
        findings = self.catalogue(results, obs)
        rtol = 10 * self.tol.ref_rtol
        args = {a.name: a for a in self.problem.args}
        for spec in outs:
            wrt_shape = ""
            if spec.wrt is not None:
                shape = [str(d) for d in args[spec.wrt].shape]
                wrt_shape = f"({', '.join(shape)})" if shape else "a scalar"
            findings.setdefault(spec.name, []).extend(diagnose.relations(
                spec.name, obs, rtol=rtol, wrt=spec.wrt, wrt_shape=wrt_shape, dim_labels=self.problem.dim_labels))
        notes: dict[str, str] = {}
        values = [o for o in outs if o.kind == "value"]
        grads = [o for o in outs if o.kind == "grad"]
        if len(values) == 1 and grads:
            v = values[0].name
            value_wrong = {o.case for o in obs[v] if not o.correct}
            probed = self.own_forward(results, call) if value_wrong else {}
            for g in grads:
                g_wrong = {o.case for o in obs[g.name] if not o.correct}
                if not g_wrong:
                    continue
                if not g_wrong & value_wrong:
                    notes[g.name] = f" {v} is right on these cases, so the mistake is in the backward pass."
                    continue
                said = {c: p.get(g.name) for c, p in probed.items()}
                bad = [c for c, s in said.items() if s == "disagree"]
                good = [c for c, s in said.items() if s == "agree"]
                if bad:
                    notes[g.name] = (f" {g.name} does not match finite differences of your own {v} either (case "
                                     f"'{bad[0]}'), so the backward pass is wrong too, not only {v}.")
                elif good:
                    notes[g.name] = (f" {g.name} agrees with finite differences of your own {v} (case '{good[0]}'): "
                                     f"your backward pass is consistent with your forward, so fix {v} first.")
                    if g_wrong <= set(good):
                        findings[g.name].append(diagnose.Finding(
                            f"{g.name} is consistent with your own {v}: backpropagation is right for the function "
                            f"you computed, so fix the forward computation of {v} and {g.name} will follow.",
                            "consistent", -5))
            if value_wrong:
                wrong_grads = [g.name for g in grads if any(not o.correct for o in obs[g.name])]
                if not wrong_grads:
                    notes[v] = f" Your gradients are right; only {v} is wrong."
                agree_all = probed and all(all(p.get(g.name) == "agree" for g in grads) for p in probed.values())
                if agree_all and value_wrong <= set(probed):
                    notes[v] = (f" Every gradient agrees with finite differences of your own {v}, so the backward "
                                f"pass matches your forward: the forward value is what is wrong.")
                    findings[v].append(diagnose.Finding(
                        f"Value-only mistake: your gradients are consistent with your own {v}, so backpropagation "
                        f"is right and the mistake is in how {v} itself is computed.", "consistent", -5))

        def words(name: str) -> tuple[str | None, str]:
            ranked: list[str] = []
            for f in sorted(findings.get(name, []), key=lambda f: f.rank):
                if f.hint not in ranked:
                    ranked.append(f.hint)
            more = notes.get(name, "")
            if len(ranked) > 1:
                more += f" Also fits the numbers: {ranked[1]}"
            return (ranked[0] if ranked else None), more

        by_key: dict[str, str] = {}
        for spec in outs:
            for key in self._output_keys(spec):
                by_key[key] = spec.name
        result: dict[str, tuple[str | None, str]] = {}
        for key, verdict in checks.items():
            if verdict.passed:
                continue
            name = by_key.get(key)
            if name is None:
                name = self._failing_output(key, results)
            if name is not None:
                result[key] = words(name)
        return result

    def _failing_output(self, key: str, results: list["CaseResult"]) -> str | None:
        """The output behind a failing `finite` or case-group check."""
        group = [r for r in results if (r.case.check == key if key != "finite" else r.case.check is None)]
        for r in group:
            if r.outcome.status != "ok":
                continue
            for spec in self.problem.outputs:
                got = r.got.get(spec.name)
                if key == "finite":
                    if got is not None and not np.all(np.isfinite(got)):
                        return spec.name
                elif any(not _passed(r, k) for k in self._output_keys(spec)):
                    return spec.name
        return None
