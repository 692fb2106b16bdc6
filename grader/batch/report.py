"""The class report: one self-contained HTML page, readable offline.

Charts are drawn with matplotlib (object API, Agg canvas: no display, no
pyplot global state) and embedded as base64 PNG data URIs; the page loads
nothing from anywhere (its Content-Security-Policy forbids it) and runs no
script. Everything a student controls (names, messages, hints quoting their
output) is HTML-escaped.

Sections: the totals and per-problem score distributions, a per-problem
table, the most common failing checks, the diagnosed mistakes
(CheckResult.hint), the slowest submissions, the crashing and timing-out ones,
and the entries that were not graded (duplicates, ambiguous, unreadable).
"""

from __future__ import annotations

import base64
import io
import statistics
from collections import Counter
from datetime import datetime, timezone
from html import escape

from grader.batch.run import BatchResult, Outcome

TOP = 12


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def histogram(scores: list[float], points: float, title: str) -> str:
    """A histogram of `scores` (0..points) as a PNG data URI."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.6, 2.3), layout="constrained")
    ax = fig.add_subplot()
    bins = 10 if points > 0 else 1
    ax.hist(scores, bins=bins, range=(0, max(points, 1e-9)), color="#4878a8", edgecolor="white")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("points", fontsize=8)
    ax.set_ylabel("students", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def _graded(result: BatchResult) -> list[Outcome]:
    return [o for o in result.outcomes if o.report is not None and o.status in ("graded", "skipped")]


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    if not rows:
        return '<p class="none">none</p>'
    out = [f'<table class="{cls}"><thead><tr>' + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _short(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.meta{color:#555}.charts{display:flex;flex-wrap:wrap;gap:.6em}.charts figure{margin:0}
.charts img{border:1px solid #eee}table{border-collapse:collapse;font-size:.88em;width:100%}
th,td{border-bottom:1px solid #eee;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.n,th.n{text-align:right}.none{color:#777}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}@media(max-width:800px){.cols{grid-template-columns:1fr}}
"""


def class_report_html(result: BatchResult, *, title: str | None = None) -> str:
    graded = _graded(result)
    problems = result.problems or ([(p.id, p.max_score) for p in graded[0].report.problems] if graded else [])
    max_total = sum(points for _, points in problems)
    totals = [o.report.score for o in graded]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    heading = title or f"{result.assignment}: class report"
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{escape(heading)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(heading)}</h1>",
    ]
    summary = (f"{len(graded)} submission(s) graded"
               + (f", mean {_fmt(statistics.mean(totals))} / {_fmt(max_total)}, "
                  f"median {_fmt(statistics.median(totals))}" if totals else "")
               + f"; {result.count('error')} grading error(s), {result.count('pending')} still pending, "
               f"{len(result.issues)} entr{'y' if len(result.issues) == 1 else 'ies'} not graded. "
               f"Generated {when}.")
    parts.append(f'<p class="meta">{escape(summary)}</p>')

    # -- distributions
    parts.append("<h2>Score distributions</h2><div class=\"charts\">")
    if graded:
        charts = [("total", totals, max_total)]
        for pid, points in problems:
            scores = [next((p.score for p in o.report.problems if p.id == pid), 0.0) for o in graded]
            charts.append((pid, scores, points))
        for name, scores, points in charts:
            uri = histogram(scores, points, f"{name} (of {_fmt(points)})")
            parts.append(f'<figure><img src="{uri}" alt="{escape(f"distribution of {name} scores")}" '
                         f'width="324" height="207"></figure>')
    else:
        parts.append('<p class="none">nothing graded yet</p>')
    parts.append("</div>")

    # -- per-problem table
    rows = []
    for pid, points in problems:
        res = [p for o in graded for p in o.report.problems if p.id == pid]
        if not res:
            continue
        scores = [p.score for p in res]
        st = Counter(p.status for p in res)
        rows.append([escape(pid), _fmt(points), _fmt(statistics.mean(scores)), _fmt(statistics.median(scores)),
                     f"{100 * sum(s >= points for s in scores) / len(scores):.0f}%",
                     f"{100 * sum(s == 0 for s in scores) / len(scores):.0f}%",
                     escape(", ".join(f"{k} {v}" for k, v in sorted(st.items())))])
    parts.append("<h2>Problems</h2>" + _table(["problem", "points", "mean", "median", "full marks", "zero",
                                               "statuses"], rows))

    # -- failing checks and diagnosed mistakes
    failing: Counter = Counter()
    example: dict[tuple[str, str], str] = {}
    hints: Counter = Counter()
    for o in graded:
        for p in o.report.problems:
            if p.status == "missing":
                failing[(p.id, "not attempted / not defined")] += 1
                continue
            if p.status in ("error", "timeout"):  # one line per crash, not one per check it took down
                key = (p.id, "raised, crashed or timed out" if p.status == "error" else "timed out")
                failing[key] += 1
                example.setdefault(key, next((c.message for c in p.checks if not c.passed and c.message), ""))
                continue
            for c in p.checks:
                if not c.passed:
                    failing[(p.id, c.name)] += 1
                    example.setdefault((p.id, c.name), c.message)
                if c.hint:
                    hints[(p.id, c.hint)] += 1
    n = max(len(graded), 1)
    fail_rows = [[escape(pid), escape(name), f"{count}", f"{100 * count / n:.0f}%",
                  _short(example.get((pid, name), ""))] for (pid, name), count in failing.most_common(TOP)]
    hint_rows = [[escape(pid), f"{count}", _short(hint, 300)] for (pid, hint), count in hints.most_common(TOP)]
    parts.append("<h2>Most common failing checks</h2>"
                 + _table(["problem", "check", "students", "share", "e.g."], fail_rows))
    parts.append("<h2>Diagnosed mistakes</h2>" + _table(["problem", "students", "mistake (hint shown to them)"],
                                                         hint_rows))

    # -- slowest and crashing
    slow = sorted(graded, key=lambda o: -o.report.duration_s)[:TOP]
    slow_rows = [[escape(o.entry.student), _fmt(o.report.duration_s),
                  escape(", ".join(f"{p.id}: {p.status}" for p in o.report.problems if p.status in ("timeout", "error"))
                         or "ok")] for o in slow]
    crash_rows = []
    for o in result.outcomes:
        if o.status == "error":
            crash_rows.append([escape(o.entry.student), "grading failed", _short(o.error)])
        elif o.report is not None:
            for p in o.report.problems:
                if p.status in ("timeout", "error"):
                    why = next((c.message for c in p.checks if not c.passed and c.message), "")
                    crash_rows.append([escape(o.entry.student), escape(f"{p.id}: {p.status}"), _short(why)])
    parts.append('<div class="cols"><div><h2>Slowest submissions</h2>'
                 + _table(["student", "seconds", "trouble"], slow_rows) + "</div>")
    parts.append("<div><h2>Crashes, timeouts and errors</h2>"
                 + _table(["student", "where", "what happened"], crash_rows[:50]) + "</div></div>")

    # -- not graded
    issue_rows = [[escape(i.kind), escape(i.origin), _short(i.reason, 300)] for i in result.issues]
    pending_rows = [[escape("pending"), escape(o.entry.origin), "not graded yet (the batch was interrupted)"]
                    for o in result.outcomes if o.status == "pending"]
    parts.append("<h2>Entries not graded</h2>" + _table(["kind", "entry", "why"], issue_rows + pending_rows))
    parts.append("</body></html>\n")
    return "\n".join(parts)
