"""A grading plan is built once and shared: every submission graded with it sees
the same cases, and the finite-difference oracles are computed once."""

from pathlib import Path

from grader.packs import load_pack, problems_root
from grader.pipeline import grade, make_plan, read_submission

EXAMPLES = Path(__file__).resolve().parent.parent / "submissions" / "examples" / "hw2"


def _same(a, b):
    return a.model_dump(exclude={"duration_s"}) == b.model_dump(exclude={"duration_s"})


def test_shared_plan_gives_the_same_reports_and_reuses_its_oracles():
    pack = load_pack("hw2", problems_root())
    plan = make_plan(pack, only=["softmax_loss", "svm_loss"])
    first = read_submission(EXAMPLES / "correct_loops.py")
    second = read_submission(EXAMPLES / "bug_svm_loss.py")

    report = grade(first, pack, student="a", plan=plan)
    memo = {id(g): sum(len(o._memo) for o in g._oracles.values()) for _, g, _ in plan.problems}
    assert all(memo.values())
    again = grade(second, pack, student="b", plan=plan)
    # a correct first submission settled every probe; the second evaluates nothing new where it agrees
    assert report.score == report.max_score
    assert again.score < again.max_score

    fresh_first = grade(first, pack, student="a", only=["softmax_loss", "svm_loss"])
    fresh_second = grade(second, pack, student="b", only=["softmax_loss", "svm_loss"])
    assert _same(report, fresh_first)
    assert _same(again, fresh_second)
    softmax_grader = plan.problems[0][1]
    assert sum(len(o._memo) for o in softmax_grader._oracles.values()) == memo[id(softmax_grader)]
