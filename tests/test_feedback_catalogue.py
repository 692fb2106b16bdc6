"""One mutated submission per catalogue entry and per generic relation: its hint is shown."""

from __future__ import annotations

import numpy as np
import pytest

from grader.cases import draw_cases
from grader.diagnose import matches
from grader.packs import bundled_root, load_pack

from test_feedback_util import MISTAKES, hints, submit

PACK = load_pack("hw2", bundled_root())
CATALOGUE = {(p.id, m.id): m for p in PACK.spec.problems for m in p.mistakes}
GENERIC = {
    "generic_transpose": "is the transpose of the correct gradient",
    "generic_reshape": "has the right values in the wrong shape",
    "generic_sign": "has the opposite sign",
    "generic_factor": "is exactly 3 times the correct gradient",
    "generic_swap": "holds the values of",
    "generic_missing_N": "is exactly N times the correct gradient on every case (N = the number of examples)",
    "generic_value_only": "Value-only mistake",
}
FILES = sorted(MISTAKES.glob("*.py"))


def _split(path):
    problem, _, mistake = path.stem.partition("__")
    return problem, mistake


def test_every_catalogue_entry_has_a_mutated_submission():
    have = {_split(f) for f in FILES}
    assert set(CATALOGUE) <= have, sorted(set(CATALOGUE) - have)
    for f in FILES:
        problem, mistake = _split(f)
        assert (problem, mistake) in CATALOGUE or mistake in GENERIC, f.name


@pytest.mark.parametrize("problem", PACK.spec.problems, ids=lambda p: p.id)
def test_variants_run_and_differ_from_the_reference(problem):
    """A variant that crashes or equals the reference on every case could never name a mistake."""
    cases = draw_cases(problem, PACK.spec.default_seed, PACK.function)
    reference = PACK.function(problem.reference)
    for mistake in problem.mistakes:
        variant = PACK.function(mistake.variant)
        differs = False
        for case in cases:
            args = [v.copy() if isinstance(v, np.ndarray) else v for v in case.args.values()]
            want = reference(*[v.copy() if isinstance(v, np.ndarray) else v for v in case.args.values()])
            with np.errstate(all="ignore"):
                got = variant(*args)
            assert len(got) == len(want), mistake.id
            differs |= any(not matches(g, w, 1e-5) for g, w in zip(got, want))
        assert differs, f"{problem.id}/{mistake.id} equals the reference on every drawn case"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_mutated_submission_gets_its_hint(path, tmp_path):
    problem, mistake = _split(path)
    _, report = submit(path, tmp_path, problem)
    (result,) = report["problems"]
    assert result["score"] < result["max_score"]
    shown = hints(report)
    if (problem, mistake) in CATALOGUE:
        assert CATALOGUE[problem, mistake].hint in shown, shown
    else:
        assert any(GENERIC[mistake] in h for h in shown), shown
    # every failing check about a wrong output carries a hint
    for check in result["checks"]:
        if not check["passed"] and check["name"] not in ("signature", "unmodified"):
            assert check["hint"], check
        if check["passed"]:
            assert check["hint"] is None
