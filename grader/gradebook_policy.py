"""The gradebook under an assignment's policy: pure functions over plain facts.

No SQL and no I/O here: the store fetches rows (`Store.gradebook_facts`) and
this module decides, per student, which submission counts, how late it was,
what the lateness costs and which manual overrides apply. `grader export`
renders the result (grader/gradebook_export.py).

Rules (the policy itself is `grader.spec.Policy`):

1. A student's submissions are numbered 1, 2, ... by (submitted_at, id).
   With `max_submissions = N`, number N+1 and later never count.
2. Only a submission whose current run is graded and covers every problem of
   the spec can count; pending ones, grading errors and partial runs
   (`grader submit --problem`) cannot.
3. Lateness is measured from `submitted_at` (never the grading time) against
   the student's due date: the latest extension granted, else the policy's.
   Days are started days on the due date's wall clock (see `late_days`).
4. Each eligible submission gets a total: the sum of its problem scores
   (missing problems score 0), with the latest problem overrides replacing
   their problems' scores, minus the late penalty: `late_penalty_per_day` x
   max score per day for late = "penalty" (never below 0), everything for
   late = "zero"; late = "not_counted" makes late work ineligible.
5. "latest" counts the last eligible submission; "best" the one with the
   highest total, ties going to the earliest.
6. The latest total override, if any, replaces the total; nothing else then
   applies to the total. Without any eligible submission the problem scores
   are 0 (overrides still apply) and there is no penalty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from grader.spec import Policy

UTC = timezone.utc
DECIMALS = 4  # scores are rounded like grader.report totals


@dataclass(frozen=True)
class SubmissionFact:
    """One stored submission and the problem scores of its current run."""

    id: int
    student: str
    submitted_at: datetime  # aware; the time that counts for lateness
    status: str  # 'pending', 'graded' or 'error'
    scores: Mapping[str, float] | None = None  # problem id -> points; None until graded


@dataclass(frozen=True)
class ExtensionFact:
    """A new due date granted to one student, with who granted it and why."""

    id: int
    student: str
    due: datetime  # aware
    granted_by: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class OverrideFact:
    """A manual score for one student: one problem's (problem_id) or the total (None)."""

    id: int
    student: str
    problem_id: str | None
    score: float
    set_by: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class ProblemColumn:
    id: str
    points: float


@dataclass(frozen=True)
class Standing:
    """One submission judged under the policy."""

    submission: SubmissionFact
    number: int  # 1-based among the student's submissions, by time
    late_days: int
    eligible: bool
    why_not: str | None  # why it cannot count, when not eligible
    scores: dict[str, float] = field(default_factory=dict)  # after problem overrides, before penalty
    penalty: float = 0.0
    total: float = 0.0


@dataclass(frozen=True)
class GradeRow:
    """One student's line of the gradebook."""

    student: str
    scores: dict[str, float]  # problem id -> points (after problem overrides, before the penalty)
    total: float  # what the student gets
    max_score: float
    submission_id: int | None  # the submission that counts, if any
    submitted_at: datetime | None
    due: datetime | None  # the student's due date (extension applied), in the policy's zone
    late_days: int
    penalty: float  # points taken off for lateness
    submissions: int  # stored submissions
    over_limit: int  # submissions past max_submissions (stored, never counted)
    pending: int  # submissions not graded yet
    extension: ExtensionFact | None
    overrides: tuple[OverrideFact, ...]  # the ones in force
    notes: tuple[str, ...]


def late_days(submitted_at: datetime, due: datetime | None) -> int:
    """Started days after `due`, on the wall clock of due's time zone.

    0 when on time (at the due instant included); 1 when after due but no
    later than the same wall-clock time the next day; and so on. Across a DST
    change that "day" lasts 23 or 25 hours.
    """
    if due is None:
        return 0
    when = submitted_at.astimezone(UTC)
    if when <= due.astimezone(UTC):
        return 0
    # Python adds a timedelta to an aware datetime on its wall clock: exactly this rule.
    days = max(1, (when - due.astimezone(UTC)).days - 1)
    while (due + timedelta(days=days)).astimezone(UTC) < when:
        days += 1
    while days > 1 and (due + timedelta(days=days - 1)).astimezone(UTC) >= when:
        days -= 1
    return days


def _round(value: float) -> float:
    rounded = round(value, DECIMALS)
    return 0.0 if rounded == 0 else rounded


def _latest(items: Iterable, key=lambda item: (item.created_at, item.id)):
    items = list(items)
    return max(items, key=key) if items else None


def effective_due(policy: Policy, extension: ExtensionFact | None) -> datetime | None:
    """The student's due date in the policy's zone: the extension's if any."""
    if extension is not None:
        return extension.due.astimezone(policy.zone)
    return policy.due_at


def standings(
    policy: Policy,
    problems: Sequence[ProblemColumn],
    submissions: Iterable[SubmissionFact],
    due: datetime | None,
    problem_overrides: Mapping[str, float] | None = None,
) -> list[Standing]:
    """Every submission of ONE student judged under `policy`, oldest first."""
    ordered = sorted(submissions, key=lambda s: (s.submitted_at.astimezone(UTC), s.id))
    max_score = sum(p.points for p in problems)
    problem_overrides = problem_overrides or {}
    result = []
    for number, sub in enumerate(ordered, start=1):
        days = late_days(sub.submitted_at, due)
        why_not = None
        if policy.max_submissions is not None and number > policy.max_submissions:
            why_not = f"over the limit of {policy.max_submissions} submissions"
        elif sub.status == "pending" or (sub.status == "graded" and sub.scores is None):
            why_not = "not graded yet"
        elif sub.status != "graded":
            why_not = "grading failed"
        elif any(p.id not in sub.scores for p in problems):
            why_not = "graded on some problems only"
        elif days and policy.late == "not_counted":
            why_not = f"{days} day(s) late, and late work does not count"
        if why_not is not None:
            result.append(Standing(sub, number, days, False, why_not))
            continue
        scores = {p.id: float(problem_overrides.get(p.id, sub.scores[p.id])) for p in problems}
        raw = sum(scores.values())
        penalty = 0.0
        if days:
            if policy.late == "zero":
                penalty = raw
            else:
                penalty = min(raw, days * policy.late_penalty_per_day * max_score)
        result.append(Standing(sub, number, days, True, None, scores, _round(penalty), _round(raw - penalty)))
    return result


def choose(policy: Policy, judged: Sequence[Standing]) -> Standing | None:
    """The standing that counts: the last eligible one, or the best (earliest on ties)."""
    eligible = [s for s in judged if s.eligible]  # oldest first
    if not eligible:
        return None
    if policy.counts == "latest":
        return eligible[-1]
    best = eligible[0]
    for s in eligible[1:]:
        if s.total > best.total:
            best = s
    return best


def grade_rows(
    policy: Policy,
    problems: Sequence[ProblemColumn],
    submissions: Iterable[SubmissionFact],
    extensions: Iterable[ExtensionFact] = (),
    overrides: Iterable[OverrideFact] = (),
) -> list[GradeRow]:
    """One row per student who has a submission, an extension or an override, by name."""
    by_student: dict[str, list] = {}
    for kind, items in (("s", submissions), ("e", extensions), ("o", overrides)):
        for item in items:
            by_student.setdefault(item.student, {"s": [], "e": [], "o": []})[kind].append(item)
    return [_row(policy, problems, name, **facts) for name, facts in sorted(by_student.items())]


def _row(policy: Policy, problems: Sequence[ProblemColumn], student: str, *, s: list[SubmissionFact],
         e: list[ExtensionFact], o: list[OverrideFact]) -> GradeRow:
    max_score = float(sum(p.points for p in problems))
    known = {p.id for p in problems}
    extension = _latest(e)
    due = effective_due(policy, extension)
    in_force: dict[str | None, OverrideFact] = {}  # the latest override per problem (None: the total)
    stale: set[str] = set()
    for ov in sorted(o, key=lambda x: (x.created_at, x.id)):
        if ov.problem_id is None or ov.problem_id in known:
            in_force[ov.problem_id] = ov
        else:
            stale.add(ov.problem_id)
    problem_overrides = {k: v.score for k, v in in_force.items() if k is not None}
    judged = standings(policy, problems, s, due, problem_overrides)
    counted = choose(policy, judged)

    notes: list[str] = []
    if extension is not None:
        notes.append(f"extension to {_when(due)} by {extension.granted_by} ({extension.reason})")
    if counted is not None:
        scores, total, penalty, days = counted.scores, counted.total, counted.penalty, counted.late_days
        if days:
            cost = "scored 0 (late work scores 0)" if policy.late == "zero" else f"-{_num(penalty)} points"
            notes.append(f"submission {counted.submission.id} is {days} day(s) late: {cost}")
    else:
        scores = {p.id: float(problem_overrides.get(p.id, 0.0)) for p in problems}
        total, penalty, days = _round(sum(scores.values())), 0.0, 0
        if not s:
            notes.append("no submission")
        else:
            reasons = sorted({st.why_not for st in judged if st.why_not})
            notes.append("no submission counts (" + "; ".join(reasons) + ")")
    over_limit = sum(1 for st in judged if st.why_not and st.why_not.startswith("over the limit"))
    pending = sum(1 for sub in s if sub.status == "pending")
    if over_limit:
        notes.append(f"{over_limit} submission(s) past the limit of {policy.max_submissions} do not count")
    if pending:
        notes.append(f"{pending} submission(s) not graded yet: run `grader regrade --pending`")
    for key, ov in sorted(in_force.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        what = "total" if key is None else key
        notes.append(f"{what} set to {_num(ov.score)} by {ov.set_by} ({ov.reason})")
    if stale:
        notes.append(f"overrides of problems no longer in the spec are ignored: {', '.join(sorted(stale))}")
    if None in in_force:
        total = _round(in_force[None].score)

    return GradeRow(
        student=student,
        scores={k: _round(v) for k, v in scores.items()},
        total=total,
        max_score=max_score,
        submission_id=counted.submission.id if counted else None,
        submitted_at=counted.submission.submitted_at.astimezone(policy.zone) if counted else None,
        due=due,
        late_days=days,
        penalty=penalty,
        submissions=len(s),
        over_limit=over_limit,
        pending=pending,
        extension=extension,
        overrides=tuple(in_force[k] for k in sorted(in_force, key=lambda k: (k is None, k or ""))),
        notes=tuple(notes),
    )


def submission_notices(policy: Policy, problems: Sequence[ProblemColumn], submissions: Iterable[SubmissionFact],
                       submission_id: int, extensions: Iterable[ExtensionFact] = ()) -> list[str]:
    """What a student should be told about one just-made submission: that it
    is past the limit (stored but not counted) or late, and what that costs."""
    due = effective_due(policy, _latest(extensions))
    judged = standings(policy, problems, submissions, due)
    mine = next((st for st in judged if st.submission.id == submission_id), None)
    if mine is None:
        return []
    notices = []
    if policy.max_submissions is not None and mine.number > policy.max_submissions:
        notices.append(f"this is submission {mine.number}, past the limit of {policy.max_submissions}: "
                       "it is stored and graded but does not count")
    if mine.late_days:
        rule = {
            "penalty": f"late work loses {_num(policy.late_penalty_per_day * 100)}% of the maximum per started day",
            "zero": "late work scores 0",
            "not_counted": "late work does not count",
        }[policy.late]
        notices.append(f"submitted {mine.late_days} day(s) after the due date {_when(due)}: {rule}")
    return notices


def _when(moment: datetime | None) -> str:
    return moment.isoformat(sep=" ", timespec="minutes") if moment is not None else ""


def _num(value: float) -> str:
    """A number as a plain decimal: no exponent, no trailing zeros, at most 4 decimals."""
    text = f"{round(float(value), DECIMALS):.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


plain_number = _num
