"""What `grader batch` shows at the end (rich renderables; cli.py prints them) and
the gradebook export it writes (the code of `grader export`)."""

from __future__ import annotations

import statistics
from pathlib import Path

from grader.batch.run import BatchResult
from grader.errors import UsageError


def _g(x: float) -> str:
    return f"{x:.4g}"


def summary_table(result: BatchResult):
    from rich.table import Table

    graded = [o for o in result.outcomes if o.report is not None and o.status in ("graded", "skipped")]
    table = Table(title=f"{result.assignment}: {len(graded)} graded submission(s)", title_justify="left")
    for name in ("problem", "points", "mean", "median", "full marks", "zero", "timeouts/errors"):
        table.add_column(name, justify="left" if name == "problem" else "right")
    for pid, points in result.problems:
        res = [p for o in graded for p in o.report.problems if p.id == pid]
        if not res:
            table.add_row(pid, _g(points), "", "", "", "", "")
            continue
        scores = [p.score for p in res]
        table.add_row(pid, _g(points), _g(statistics.mean(scores)), _g(statistics.median(scores)),
                      str(sum(s >= points for s in scores)), str(sum(s == 0 for s in scores)),
                      str(sum(p.status in ("timeout", "error") for p in res)))
    if graded:
        totals = [o.report.score for o in graded]
        table.add_section()
        max_total = sum(points for _, points in result.problems)
        table.add_row("total", _g(max_total), _g(statistics.mean(totals)), _g(statistics.median(totals)),
                      str(sum(t >= max_total for t in totals)), str(sum(t == 0 for t in totals)),
                      str(len(result.failures)))
    return table


def counts_line(result: BatchResult) -> str:
    graded, skipped = result.count("graded"), result.count("skipped")
    errors, pending = result.count("error"), result.count("pending")
    rate = graded / result.wall_s if result.wall_s > 0 and graded else 0.0
    text = (f"graded {graded}, skipped {skipped} (already graded with the same content and spec), "
            f"grading errors {errors}, pending {pending}, not graded {len(result.issues)}; "
            f"{result.wall_s:.1f} s with {result.workers} worker(s)")
    if rate:
        text += f" ({rate:.2f} submissions/s)"
    return text


def issues_table(result: BatchResult):
    from rich.table import Table

    table = Table(title=f"{len(result.issues)} entr{'y' if len(result.issues) == 1 else 'ies'} not graded",
                  title_justify="left")
    table.add_column("kind")
    table.add_column("entry", overflow="fold")
    table.add_column("why", overflow="fold")
    for issue in result.issues:
        table.add_row(issue.kind, issue.origin, issue.reason)
    return table


def errors_table(result: BatchResult):
    from rich.table import Table

    table = Table(title="grading errors", title_justify="left")
    table.add_column("id", justify="right")
    table.add_column("student")
    table.add_column("error", overflow="fold")
    for o in result.outcomes:
        if o.status == "error":
            table.add_row(str(o.submission_id), o.entry.student, o.error)
    return table


def write_export(path: Path, *, assignment: str, problems_root: Path | None, db_url: str | None) -> int:
    """The gradebook of `assignment` as `grader export` makes it, into `path`
    (.json for JSON, otherwise CSV). Returns the number of students."""
    from grader.gradebook_export import to_csv, to_json
    from grader.gradebook_policy import ProblemColumn, grade_rows
    from grader.packs import load_pack, problems_root as find_root
    from grader.store import open_store

    pack = load_pack(assignment, find_root(problems_root))
    columns = [ProblemColumn(p.id, p.points) for p in pack.spec.problems]
    with open_store(db_url) as store:
        facts = store.gradebook_facts(pack.spec.id)
    rows = grade_rows(pack.spec.policy, columns, facts.submissions, facts.extensions, facts.overrides)
    if path.suffix.lower() == ".json":
        text = to_json(rows, columns, assignment=pack.spec.id, spec_version=pack.spec.version,
                       policy=pack.spec.policy)
    else:
        text = to_csv(rows, columns)
    _write_text(path, text, "--export")
    return len(rows)


def _write_text(path: Path, text: str, option: str) -> None:
    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be written ({exc.strerror}); choose another {option}") from None


def write_report(path: Path, result: BatchResult) -> None:
    from grader.batch.report import class_report_html

    _write_text(path, class_report_html(result), "--report")
