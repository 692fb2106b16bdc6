"""Text renderings of a report, as rich renderables. Printing is `cli.py`'s job."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.report import Report

STATUS_STYLE = {"passed": "green", "failed": "red", "error": "red", "timeout": "yellow", "missing": "dim"}


def report_renderable(report: Report) -> Group:
    parts = []
    summary = Table(title=f"{report.assignment}: {report.filename} ({report.student})", title_justify="left")
    summary.add_column("problem")
    summary.add_column("status")
    summary.add_column("score", justify="right")
    for p in report.problems:
        style = STATUS_STYLE.get(p.status, "")
        summary.add_row(p.id, Text(p.status, style=style), f"{p.score:g} / {p.max_score:g}")
    summary.add_section()
    summary.add_row(Text("total", style="bold"), "", Text(f"{report.score:g} / {report.max_score:g}", style="bold"))
    parts.append(summary)
    for p in report.problems:
        failed = [c for c in p.checks if not c.passed]
        if not failed:
            continue
        if len(failed) == len(p.checks) and len({c.message for c in failed}) == 1:
            style = "dim" if p.status == "missing" else "red"
            parts.append(Text(f"{p.id}: {failed[0].message}", style=style))
            continue
        table = Table(title=f"{p.id}: failed checks", title_justify="left", show_lines=False, expand=True)
        table.add_column("check", no_wrap=True)
        table.add_column("points", justify="right", no_wrap=True)
        table.add_column("what to fix")
        for c in failed:
            message = escape(c.message)
            if c.hint:
                message += f"\n[bold]hint:[/] {escape(c.hint)}"
            table.add_row(c.name, f"0 / {c.max_score:g}", message)
        parts.append(table)
    if report.output.strip():
        parts.append(Panel(Text(report.output.strip()[-4000:]), title="your program's output (untrusted)",
                           title_align="left", border_style="dim"))
    layers = ", ".join(report.sandbox) if report.sandbox else "none (unsandboxed)"
    parts.append(Text(f"seed {report.seed} · spec {report.spec_version} · sandbox: {layers} · "
                      f"{report.duration_s:.2f} s", style="dim"))
    return Group(*parts)
