"""Correct submissions never get a hint; the seeded bugs do, on their own problem;
the feedback shows in text and JSON output."""

from __future__ import annotations

import pytest

from test_feedback_util import EXAMPLES, hints, submit

CORRECT = sorted(EXAMPLES.glob("correct_*.py"))
BUGS = sorted(EXAMPLES.glob("bug_*.py"))


@pytest.mark.parametrize("path", CORRECT, ids=lambda p: p.stem)
def test_correct_submission_gets_full_marks_and_no_hint(path, tmp_path):
    _, report = submit(path, tmp_path)
    assert report["score"] == report["max_score"] == 100
    assert hints(report) == []
    assert all(c["message"] == "" for p in report["problems"] for c in p["checks"])


@pytest.mark.parametrize("path", BUGS, ids=lambda p: p.stem)
def test_seeded_bug_is_named(path, tmp_path):
    problem = path.stem.removeprefix("bug_")
    _, report = submit(path, tmp_path, problem)
    (result,) = report["problems"]
    assert result["score"] < result["max_score"]
    assert hints(report), result


def test_text_output_shows_hint_and_where(tmp_path):
    out, _ = submit(EXAMPLES / "bug_l2_wx.py", tmp_path, "l2_wx", fmt="text")
    assert "hint:" in out
    assert "1{k = 1}" in out
    assert "the error is confined to row" in out and "row 0 is right" in out
    assert "f is right on these cases, so the mistake is in the backward pass" in out


def test_json_message_says_forward_or_backward(tmp_path):
    _, report = submit(EXAMPLES / "bug_svm_loss.py", tmp_path, "svm_loss")
    checks = {c["name"]: c for c in report["problems"][0]["checks"]}
    assert "does not match finite differences of your own loss" in checks["gradient: dW"]["message"]
    assert "relative error" in checks["gradient: dW"]["message"]
    assert "(classes)" in checks["gradient: dW"]["message"]
