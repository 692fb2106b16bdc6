"""grader/gradebook_policy.py: which submission counts, lateness, penalties,
limits, extensions and overrides, as pure functions over plain facts."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from grader.gradebook_policy import (
    ExtensionFact,
    OverrideFact,
    ProblemColumn,
    SubmissionFact,
    grade_rows,
    late_days,
    plain_number,
    submission_notices,
)
from grader.spec import AssignmentSpec, Policy

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
PROBLEMS = [ProblemColumn("a", 10.0), ProblemColumn("b", 30.0)]  # max 40
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

_ids = iter(range(1, 10_000))


def sub(student="alice", at=T0, a=10.0, b=30.0, *, status="graded", sid=None, scores=None) -> SubmissionFact:
    if scores is None and status == "graded":
        scores = {"a": a, "b": b}
    return SubmissionFact(id=sid or next(_ids), student=student, submitted_at=at, status=status, scores=scores)


def ext(student="alice", due=T0, at=T0, by="prof", why="ill") -> ExtensionFact:
    return ExtensionFact(id=next(_ids), student=student, due=due, granted_by=by, reason=why, created_at=at)


def ovr(score, problem=None, student="alice", at=T0, by="ta", why="by hand") -> OverrideFact:
    return OverrideFact(id=next(_ids), student=student, problem_id=problem, score=score, set_by=by, reason=why,
                        created_at=at)


def one(policy: Policy, subs, extensions=(), overrides=()):
    rows = grade_rows(policy, PROBLEMS, subs, extensions, overrides)
    assert len(rows) == 1
    return rows[0]


# -- the spec's [policy] --------------------------------------------------------


def test_default_policy_is_latest_with_no_due_date():
    policy = Policy()
    assert policy.counts == "latest" and policy.due is None and policy.due_at is None
    assert policy.max_submissions is None and policy.late_penalty_per_day == 0
    spec = AssignmentSpec.model_validate({"id": "x", "problems": []})
    assert spec.policy == Policy()


def test_policy_from_toml_local_time_is_read_in_its_zone():
    doc = tomllib.loads(
        'id = "x"\nproblems = []\n[policy]\ncounts = "best"\ndue = 2025-03-14T23:59:00\n'
        'timezone = "Europe/Berlin"\nlate_penalty_per_day = 0.1\nmax_submissions = 3\n'
    )
    policy = AssignmentSpec.model_validate(doc).policy
    assert policy.counts == "best" and policy.max_submissions == 3
    assert policy.due_at == datetime(2025, 3, 14, 22, 59, tzinfo=UTC)
    assert policy.due_at.utcoffset() == timedelta(hours=1)
    summer = Policy(due=datetime(2025, 7, 14, 23, 59), timezone="Europe/Berlin")
    assert summer.due_at == datetime(2025, 7, 14, 21, 59, tzinfo=UTC)  # CEST, +02:00


def test_policy_due_with_offset_is_an_instant():
    policy = Policy(due=datetime(2025, 3, 14, 23, 59, tzinfo=timezone(timedelta(hours=-5))))
    assert policy.due_at == datetime(2025, 3, 15, 4, 59, tzinfo=UTC)
    with_zone = Policy(due=datetime(2025, 3, 15, 4, 59, tzinfo=UTC), timezone="America/New_York")
    assert with_zone.due_at.tzinfo == NEW_YORK and with_zone.due_at.hour == 0  # EDT since 9 March


@pytest.mark.parametrize("fields, message", [
    ({"due": datetime(2025, 3, 14, 23, 59)}, "has no offset; add `timezone`"),
    ({"due": datetime(2025, 3, 14, 23, 59), "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ({"due": datetime(2025, 3, 30, 2, 30), "timezone": "Europe/Berlin"}, "does not exist"),
    ({"due": datetime(2025, 10, 26, 2, 30), "timezone": "Europe/Berlin"}, "happens twice"),
    ({"late_penalty_per_day": 0.1}, "needs a due date"),
    ({"late": "zero"}, "needs a due date"),
    ({"due": T0, "late_penalty_per_day": 1.5}, "less than or equal to 1"),
    ({"max_submissions": 0}, "greater than or equal to 1"),
    ({"counts": "first"}, "'latest' or 'best'"),
    ({"due": T0, "cutoff": True}, "Extra inputs are not permitted"),
])
def test_bad_policies_are_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        Policy(**fields)


# -- late days ----------------------------------------------------------------------


def test_late_days_are_started_days():
    due = datetime(2025, 3, 14, 23, 59, tzinfo=BERLIN)
    assert late_days(due, due) == 0  # at the due instant: on time
    assert late_days(due - timedelta(seconds=1), due) == 0
    assert late_days(due + timedelta(seconds=1), due) == 1
    assert late_days(due + timedelta(hours=24), due) == 1
    assert late_days(due + timedelta(hours=24, seconds=1), due) == 2
    assert late_days(due + timedelta(days=9, hours=3), due) == 10
    assert late_days(due, None) == 0


def test_late_days_compare_instants_not_wall_clocks():
    due = datetime(2025, 3, 14, 23, 59, tzinfo=BERLIN)  # 22:59 UTC
    assert late_days(datetime(2025, 3, 14, 22, 59, tzinfo=UTC), due) == 0
    assert late_days(datetime(2025, 3, 14, 23, 0, tzinfo=UTC), due) == 1  # 00:00 in Berlin
    assert late_days(datetime(2025, 3, 14, 18, 30, tzinfo=NEW_YORK), due) == 0  # EDT: 22:30 UTC
    assert late_days(datetime(2025, 3, 14, 19, 30, tzinfo=NEW_YORK), due) == 1  # 23:30 UTC


def test_late_days_across_spring_forward_count_wall_clock_days():
    # Berlin moves from +01:00 to +02:00 at 02:00 on 30 March 2025: that day has 23 hours.
    due = datetime(2025, 3, 29, 23, 59, tzinfo=BERLIN)  # 22:59 UTC
    one_day = datetime(2025, 3, 30, 23, 59, tzinfo=BERLIN)  # 21:59 UTC: only 23 h after due
    assert (one_day.astimezone(UTC) - due.astimezone(UTC)) == timedelta(hours=23)
    assert late_days(one_day, due) == 1
    # 23 h 30 min after due is past 23:59 on the 30th: the second day has started.
    assert late_days(due.astimezone(UTC) + timedelta(hours=23, minutes=30), due) == 2


def test_late_days_across_fall_back_count_wall_clock_days():
    # Berlin moves from +02:00 to +01:00 at 03:00 on 26 October 2025: that day has 25 hours.
    due = datetime(2025, 10, 25, 23, 59, tzinfo=BERLIN)
    assert late_days(due.astimezone(UTC) + timedelta(hours=24, minutes=30), due) == 1
    assert late_days(due.astimezone(UTC) + timedelta(hours=25), due) == 1
    assert late_days(due.astimezone(UTC) + timedelta(hours=25, seconds=1), due) == 2


# -- which submission counts -------------------------------------------------------------


def test_latest_counts_by_submission_time_not_by_id():
    early = sub(at=T0, a=10, b=30, sid=7)
    later = sub(at=T0 + timedelta(hours=1), a=5, b=0, sid=3)  # a smaller id, e.g. an LMS import
    row = one(Policy(), [early, later])
    assert row.submission_id == 3 and row.total == 5 and row.scores == {"a": 5, "b": 0}
    assert row.submissions == 2 and row.max_score == 40


def test_best_counts_highest_total():
    subs = [sub(at=T0, a=5, b=10), sub(at=T0 + timedelta(hours=1), a=10, b=20, sid=500),
            sub(at=T0 + timedelta(hours=2), a=0, b=0)]
    row = one(Policy(counts="best"), subs)
    assert row.submission_id == 500 and row.total == 30


def test_best_ties_go_to_the_earliest():
    subs = [sub(at=T0 + timedelta(hours=2), a=10, b=10, sid=901), sub(at=T0, a=0, b=20, sid=902),
            sub(at=T0 + timedelta(hours=1), a=5, b=15, sid=903)]
    assert one(Policy(counts="best"), subs).submission_id == 902


def test_latest_ties_in_time_go_to_the_higher_id():
    subs = [sub(at=T0, a=1, b=1, sid=911), sub(at=T0, a=2, b=2, sid=912)]
    assert one(Policy(), subs).submission_id == 912


def test_best_compares_totals_after_the_late_penalty():
    policy = Policy(counts="best", due=T0, late_penalty_per_day=0.25)  # 10 points per day
    on_time = sub(at=T0, a=0, b=25, sid=921)
    late = sub(at=T0 + timedelta(days=1), a=10, b=20, sid=922)  # 30 - 10 = 20 < 25
    row = one(policy, [on_time, late])
    assert row.submission_id == 921 and row.total == 25 and row.penalty == 0


def test_pending_error_and_partial_runs_never_count():
    graded = sub(at=T0, a=1, b=1, sid=931)
    subs = [graded, sub(at=T0 + timedelta(hours=1), status="pending", sid=932),
            sub(at=T0 + timedelta(hours=2), status="error", sid=933),
            sub(at=T0 + timedelta(hours=3), scores={"a": 10.0}, sid=934)]  # graded with --problem a
    row = one(Policy(), subs)
    assert row.submission_id == 931 and row.total == 2
    assert row.pending == 1 and row.submissions == 4
    assert any("grader regrade --pending" in n for n in row.notes)


def test_no_counted_submission_scores_zero_and_says_why():
    row = one(Policy(), [sub(status="pending"), sub(status="error")])
    assert row.submission_id is None and row.total == 0 and row.scores == {"a": 0, "b": 0}
    assert any("no submission counts" in n and "not graded yet" in n and "grading failed" in n for n in row.notes)


def test_problems_missing_from_a_run_of_an_older_spec_make_it_partial():
    row = one(Policy(), [sub(scores={"a": 10.0, "old": 5.0})])
    assert row.submission_id is None and row.total == 0


def test_one_row_per_student_sorted_by_name():
    rows = grade_rows(Policy(), PROBLEMS, [sub("zoe"), sub("bob"), sub("alice"), sub("bob", a=0)])
    assert [r.student for r in rows] == ["alice", "bob", "zoe"]
    assert [r.submissions for r in rows] == [1, 2, 1]


# -- lateness ------------------------------------------------------------------------


def test_penalty_per_started_day_is_a_fraction_of_the_maximum():
    policy = Policy(due=datetime(2025, 3, 14, 23, 59), timezone="Europe/Berlin", late_penalty_per_day=0.1)
    due = policy.due_at
    on_time = one(policy, [sub(at=due, a=10, b=30)])
    assert (on_time.late_days, on_time.penalty, on_time.total) == (0, 0, 40)
    two_days = one(policy, [sub(at=due + timedelta(days=1, minutes=1), a=10, b=30)])
    assert (two_days.late_days, two_days.penalty, two_days.total) == (2, 8, 32)  # 2 x 0.1 x 40
    assert two_days.scores == {"a": 10, "b": 30}  # problem columns are before the penalty
    assert any("2 day(s) late: -8 points" in n for n in two_days.notes)


def test_penalty_never_goes_below_zero():
    policy = Policy(due=T0, late_penalty_per_day=0.3)
    row = one(policy, [sub(at=T0 + timedelta(days=3, seconds=1), a=2, b=3)])
    assert row.late_days == 4 and row.penalty == 5 and row.total == 0


def test_late_zero_is_a_hard_cut_off():
    policy = Policy(due=T0, late="zero")
    row = one(policy, [sub(at=T0 - timedelta(hours=1), a=5, b=5, sid=941),
                       sub(at=T0 + timedelta(minutes=1), a=10, b=30, sid=942)])
    assert row.submission_id == 942 and row.total == 0 and row.penalty == 40 and row.late_days == 1
    best = one(Policy(due=T0, late="zero", counts="best"),
               [sub(at=T0 - timedelta(hours=1), a=5, b=5, sid=943), sub(at=T0 + timedelta(minutes=1), sid=944)])
    assert best.submission_id == 943 and best.total == 10


def test_late_not_counted_ignores_late_work():
    policy = Policy(due=T0, late="not_counted")
    row = one(policy, [sub(at=T0 - timedelta(hours=1), a=5, b=5, sid=951),
                       sub(at=T0 + timedelta(minutes=1), a=10, b=30, sid=952)])
    assert row.submission_id == 951 and row.total == 10 and row.late_days == 0
    only_late = one(policy, [sub(at=T0 + timedelta(days=2))])
    assert only_late.submission_id is None and only_late.total == 0
    assert any("late work does not count" in n for n in only_late.notes)


def test_lateness_uses_the_submission_time_in_a_non_utc_zone():
    policy = Policy(due=datetime(2025, 11, 3, 23, 59), timezone="America/New_York", late_penalty_per_day=0.5)
    # 04:30 UTC on 4 November is 23:30 in New York on the 3rd (EST, -05:00): on time.
    row = one(policy, [sub(at=datetime(2025, 11, 4, 4, 30, tzinfo=UTC))])
    assert row.late_days == 0 and row.total == 40
    assert row.due == datetime(2025, 11, 3, 23, 59, tzinfo=NEW_YORK)
    assert row.submitted_at.tzinfo == NEW_YORK and row.submitted_at.hour == 23  # shown in the zone
    late = one(policy, [sub(at=datetime(2025, 11, 4, 5, 0, tzinfo=UTC))])
    assert late.late_days == 1 and late.total == 20


def test_dst_boundary_in_the_penalty():
    policy = Policy(due=datetime(2025, 3, 29, 23, 59), timezone="Europe/Berlin", late_penalty_per_day=0.1)
    # 22:30 UTC on the 30th is 00:30 CEST on the 31st: 23.5 h after due but the second day.
    row = one(policy, [sub(at=datetime(2025, 3, 30, 22, 30, tzinfo=UTC))])
    assert row.late_days == 2 and row.penalty == 8


# -- limits ---------------------------------------------------------------------------


def test_max_submissions_later_ones_are_stored_but_do_not_count():
    policy = Policy(max_submissions=2)
    subs = [sub(at=T0 + timedelta(hours=h), a=h, b=0, sid=960 + h) for h in range(4)]
    row = one(policy, subs)
    assert row.submission_id == 961 and row.total == 1  # the latest of the first two
    assert row.submissions == 4 and row.over_limit == 2
    assert any("2 submission(s) past the limit of 2 do not count" in n for n in row.notes)
    best = one(Policy(max_submissions=2, counts="best"), [sub(at=T0, a=1, b=0), sub(at=T0 + timedelta(1), a=2, b=0),
                                                          sub(at=T0 + timedelta(2), a=10, b=30)])
    assert best.total == 2


def test_max_submissions_counts_pending_and_error_submissions_too():
    policy = Policy(max_submissions=1)
    row = one(policy, [sub(at=T0, status="error"), sub(at=T0 + timedelta(hours=1), a=10, b=30)])
    assert row.submission_id is None and row.total == 0


# -- extensions -------------------------------------------------------------------------


def test_extension_moves_the_due_date_for_that_student_only():
    policy = Policy(due=T0, late_penalty_per_day=0.1)
    late = T0 + timedelta(days=2)
    rows = grade_rows(policy, PROBLEMS, [sub("alice", at=late), sub("bob", at=late)],
                      [ext("alice", due=T0 + timedelta(days=3))])
    alice, bob = rows
    assert (alice.late_days, alice.total) == (0, 40) and alice.extension is not None
    assert (bob.late_days, bob.total) == (2, 32) and bob.extension is None
    assert alice.due == T0 + timedelta(days=3) and bob.due == T0
    assert any("extension to" in n and "by prof (ill)" in n for n in alice.notes)


def test_latest_extension_is_in_force():
    policy = Policy(due=T0, late_penalty_per_day=0.1)
    grants = [ext(due=T0 + timedelta(days=5), at=T0), ext(due=T0 + timedelta(days=1), at=T0 + timedelta(hours=1))]
    row = one(policy, [sub(at=T0 + timedelta(days=2))], grants)
    assert row.late_days == 1 and row.due == T0 + timedelta(days=1)


def test_extension_lateness_counts_days_in_the_policy_zone():
    policy = Policy(due=datetime(2025, 3, 20, 23, 59), timezone="Europe/Berlin", late_penalty_per_day=0.1)
    new_due = datetime(2025, 3, 29, 23, 59, tzinfo=BERLIN).astimezone(UTC)  # stored as UTC
    row = one(policy, [sub(at=datetime(2025, 3, 30, 21, 59, tzinfo=UTC))], [ext(due=new_due)])
    assert row.due.tzinfo == BERLIN and row.late_days == 1  # 23 h later, one wall-clock day


def test_extension_with_no_submission_gives_a_zero_row():
    row = one(Policy(due=T0), [], [ext()])
    assert row.submission_id is None and row.total == 0 and "no submission" in row.notes


# -- overrides -----------------------------------------------------------------------


def test_problem_override_replaces_a_problem_and_the_penalty_still_applies():
    policy = Policy(due=T0, late_penalty_per_day=0.1)
    row = one(policy, [sub(at=T0 + timedelta(hours=1), a=2, b=30)], overrides=[ovr(9.5, "a")])
    assert row.scores == {"a": 9.5, "b": 30} and row.penalty == 4 and row.total == 35.5
    assert any("a set to 9.5 by ta (by hand)" in n for n in row.notes)


def test_total_override_replaces_the_final_total():
    policy = Policy(due=T0, late_penalty_per_day=0.1)
    row = one(policy, [sub(at=T0 + timedelta(days=3), a=2, b=30)], overrides=[ovr(40)])
    assert row.total == 40 and row.scores == {"a": 2, "b": 30} and row.penalty == 12
    assert [o.problem_id for o in row.overrides] == [None]


def test_latest_override_wins_and_earlier_ones_are_superseded():
    overrides = [ovr(1, "a", at=T0 + timedelta(hours=2)), ovr(7, "a", at=T0 + timedelta(hours=1)),
                 ovr(3, "b", at=T0)]
    row = one(Policy(), [sub()], overrides=overrides)
    assert row.scores == {"a": 1, "b": 3} and row.total == 4
    assert [(o.problem_id, o.score) for o in row.overrides] == [("a", 1), ("b", 3)]


def test_best_choice_sees_problem_overrides():
    subs = [sub(at=T0, a=10, b=0, sid=971), sub(at=T0 + timedelta(hours=1), a=0, b=8, sid=972)]
    assert one(Policy(counts="best"), subs).submission_id == 971
    # With b set by hand to 30 everywhere, the first submission (a = 10) is still the best.
    row = one(Policy(counts="best"), subs, overrides=[ovr(30, "b")])
    assert row.submission_id == 971 and row.total == 40


def test_override_without_submission_and_overrides_of_removed_problems():
    row = one(Policy(), [], overrides=[ovr(8, "a"), ovr(5, "gone")])
    assert row.total == 8 and row.submission_id is None
    assert any("no longer in the spec" in n and "gone" in n for n in row.notes)


def test_overrides_of_other_students_do_not_leak():
    rows = grade_rows(Policy(), PROBLEMS, [sub("alice"), sub("bob")], overrides=[ovr(0, student="bob")])
    assert [(r.student, r.total) for r in rows] == [("alice", 40), ("bob", 0)]


# -- notices and numbers ---------------------------------------------------------------


def test_submission_notices_say_late_and_past_limit():
    policy = Policy(due=T0, late_penalty_per_day=0.1, max_submissions=1)
    first, second = sub(at=T0 - timedelta(hours=1), sid=981), sub(at=T0 + timedelta(hours=30), sid=982)
    assert submission_notices(policy, PROBLEMS, [first], 981) == []
    notices = submission_notices(policy, PROBLEMS, [first, second], 982)
    assert any("submission 2, past the limit of 1" in n and "does not count" in n for n in notices)
    assert any("2 day(s) after the due date" in n and "10% of the maximum per started day" in n for n in notices)
    extended = submission_notices(policy, PROBLEMS, [second], 982, [ext(due=T0 + timedelta(days=3))])
    assert extended == []


@pytest.mark.parametrize("value, text", [(100.0, "100"), (86.66666666, "86.6667"), (0.00001, "0"),
                                         (-0.0, "0"), (1e-4, "0.0001"), (12345678.5, "12345678.5"), (4.5, "4.5")])
def test_plain_numbers(value, text):
    assert plain_number(value) == text
