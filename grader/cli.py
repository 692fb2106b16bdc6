"""The `grader` command line. The only module that prints and picks exit codes.

Exit codes: 0 graded (whatever the score) · 2 usage error or unreadable input
· 3 this machine cannot grade safely · 4 the database cannot be used.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from grader.errors import GraderError

EXIT_CODES_HELP = "Exit codes: 0 graded (whatever the score), 2 usage error or unreadable input, 3 this machine cannot grade safely, 4 the database cannot be used."

app = typer.Typer(help=f"Grade backpropagation homework.\n\n{EXIT_CODES_HELP}", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


class Format(str, Enum):
    text = "text"
    json = "json"


def _stdout():
    from rich.console import Console

    return Console(soft_wrap=False)


def _fail(message: str, code: int) -> None:
    from rich.console import Console

    from rich.markup import escape

    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _guarded(fn: Callable[[], None]) -> None:
    try:
        fn()
    except GraderError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)


MAX_SEED = 2**63 - 1


def _checked_seed(seed: int | None) -> int | None:
    from grader.errors import UsageError

    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed {seed} is out of range; use a whole number from 0 to {MAX_SEED}")
    return seed


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "unknown"


ProblemsOpt = Annotated[Optional[Path], typer.Option("--problems", help="Folder of assignment packs (default: the bundled one, or GRADER_PROBLEMS).", show_default=False)]


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(help="Your Python file, e.g. hw2.py.", show_default=False)],
    assignment: Annotated[Optional[str], typer.Option(help="Assignment id (default: the file name, hw2.py -> hw2).", show_default=False)] = None,
    student: Annotated[Optional[str], typer.Option(help="Student name (default: the OS user).", show_default=False)] = None,
    db: Annotated[Optional[str], typer.Option(help="SQLAlchemy URL or SQLite file path (default: GRADER_DATABASE_URL or the local gradebook).", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", help="text: tables; json: only the JSON report on stdout.")] = Format.text,
    seed: Annotated[Optional[int], typer.Option(help="Seed for the drawn cases (default: fixed per assignment version).", show_default=False)] = None,
    problem: Annotated[Optional[list[str]], typer.Option("--problem", help="Grade only this problem (repeatable).", show_default=False)] = None,
    problems: ProblemsOpt = None,
) -> None:
    """Grade FILE in a sandbox, print the report and store it.

    Example: grader submit hw2.py --problem softmax_loss
    """

    def run() -> None:
        from grader.pipeline import grade_and_store

        report = grade_and_store(file, assignment=assignment, student=student or _os_user(), db_url=db,
                                 seed=_checked_seed(seed),
                                 only=problem, problems_root=problems)
        if format is Format.json:
            sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        else:
            from grader.render import report_renderable

            _stdout().print(report_renderable(report))
        _notice_missing_layers(report.sandbox)

    _guarded(run)


def _notice_missing_layers(layers: list[str]) -> None:
    """A student may grade their own code with fewer layers, but never silently."""
    from grader.sandbox import INSTRUCTOR_LAYERS

    missing = [layer for layer in INSTRUCTOR_LAYERS if layer not in layers]
    if missing:
        from rich.console import Console

        Console(stderr=True).print(f"notice: your code ran without {' and '.join(missing)} isolation on this machine "
                                   "(fine for your own code; run `grader doctor` to see why and how to fix it)",
                                   highlight=False, markup=False, soft_wrap=True)


@app.command("problems")
def list_problems(
    assignment: Annotated[Optional[str], typer.Argument(help="Assignment id; all assignments when absent.", show_default=False)] = None,
    problems: ProblemsOpt = None,
) -> None:
    """List the assignments and their problems with their points.

    Example: grader problems hw2
    """

    def run() -> None:
        from rich.table import Table

        from grader.packs import list_assignments, load_pack, problems_root

        root = problems_root(problems)
        ids = [assignment] if assignment else list_assignments(root)
        console = _stdout()
        for aid in ids:
            pack = load_pack(aid, root)
            table = Table(title=f"{aid} (spec {pack.spec.version}): {pack.spec.title}", title_justify="left")
            table.add_column("problem")
            table.add_column("function")
            table.add_column("points", justify="right")
            for p in pack.spec.problems:
                table.add_row(p.id, f"{p.function}({', '.join(p.arg_names)})", f"{p.points:g}")
            table.add_section()
            table.add_row("total", "", f"{sum(p.points for p in pack.spec.problems):g}")
            console.print(table)

    _guarded(run)


DbOpt = Annotated[Optional[str], typer.Option(help="SQLAlchemy URL or SQLite file path (default: GRADER_DATABASE_URL or the local gradebook).", show_default=False)]


@app.command()
def history(
    student: Annotated[Optional[str], typer.Option(help="Only this student's submissions.", show_default=False)] = None,
    assignment: Annotated[Optional[str], typer.Option(help="Only this assignment.", show_default=False)] = None,
    db: DbOpt = None,
) -> None:
    """List stored submissions, oldest first.

    Example: grader history --student alice --assignment hw2
    """

    def run() -> None:
        from rich.table import Table

        from grader.store import open_store

        with open_store(db) as store:
            rows = store.history(student=student, assignment=assignment)
        table = Table(title=f"{len(rows)} submission(s)", title_justify="left")
        for name in ("id", "student", "assignment", "file", "submitted (UTC)", "status", "score", "sha256"):
            table.add_column(name, justify="right" if name in ("id", "score") else "left")
        for r in rows:
            score = f"{r.score:g} / {r.max_score:g}" if r.score is not None else ""
            table.add_row(str(r.submission_id), r.student, r.assignment, r.filename,
                          r.submitted_at.strftime("%Y-%m-%d %H:%M:%S"), r.status, score, r.sha256_prefix)
        _stdout().print(table)

    _guarded(run)


@app.command()
def show(
    submission_id: Annotated[int, typer.Argument(metavar="ID", help="A submission id from `grader history`.", show_default=False)],
    format: Annotated[Format, typer.Option("--format", help="text: tables; json: only the JSON report on stdout.")] = Format.text,
    db: DbOpt = None,
) -> None:
    """Show the stored report of a submission's current run.

    Example: grader show 12 --format json
    """

    def run() -> None:
        from grader.store import open_store

        with open_store(db) as store:
            report = store.get_report(submission_id)
        if format is Format.json:
            sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        else:
            from grader.render import report_renderable

            _stdout().print(report_renderable(report))

    _guarded(run)


@app.command()
def regrade(
    submission_ids: Annotated[Optional[list[int]], typer.Argument(metavar="[ID]...", help="Submission ids to grade again.", show_default=False)] = None,
    pending: Annotated[bool, typer.Option("--pending", help="Also grade every submission still pending (e.g. after a crash).")] = False,
    seed: Annotated[Optional[int], typer.Option(help="Seed (default: fixed per assignment version).", show_default=False)] = None,
    db: DbOpt = None,
    problems: ProblemsOpt = None,
) -> None:
    """Grade stored submissions again; old runs are kept and the new run becomes current.

    Example: grader regrade --pending
    """

    def run() -> None:
        from grader.errors import UsageError
        from grader.pipeline import regrade_stored

        if not submission_ids and not pending:
            raise UsageError("name submission ids to regrade, or pass --pending")
        console = _stdout()

        def done(sid, report, error) -> None:
            if report is None:
                console.print(f"{sid}: error: {error}", highlight=False)
            else:
                console.print(f"{sid}: {report.student} {report.assignment} {report.score:g} / {report.max_score:g}",
                              highlight=False)

        results = regrade_stored(submission_ids or [], pending=pending, db_url=db, seed=_checked_seed(seed),
                                 problems_root=problems,
                                 on_done=done)
        console.print(f"regraded {len(results)} submission(s)", highlight=False)

    _guarded(run)


def main() -> None:
    app()


@app.command()
def doctor(
    json_out: Annotated[bool, typer.Option("--json", help="Print the diagnosis as JSON only.")] = False,
    canaries: Annotated[bool, typer.Option("--canaries/--no-canaries", help="Run the canary attacks.")] = True,
) -> None:
    """Show which sandbox layers work on this machine, why the others don't and the fix;
    run canary attacks (read a secret file, open a socket, fork, write outside the temp dir)
    through the real sandbox. Exits 3 if any canary succeeds.

    Example: grader doctor
    """

    def run() -> None:
        import json as _json

        from grader.sandbox.doctor import diagnose

        report = diagnose(canaries=canaries)
        if json_out:
            sys.stdout.write(_json.dumps(report.as_dict(), indent=2) + "\n")
        else:
            console = _stdout()
            console.print(f"launcher: {report.launcher}   bubblewrap: {report.bwrap}", highlight=False)
            for layer in report.layers:
                mark = "[green]ok[/]  " if layer.active else "[red]MISSING[/]"
                extra = "" if layer.active else f": {layer.why}. Fix: {layer.fix}"
                console.print(f"  {mark} {layer.name}{extra}", highlight=False)
            for canary in report.canaries:
                mark = "[green]blocked[/]  " if canary.blocked else "[red]SUCCEEDED[/]"
                console.print(f"  canary {mark} {canary.name} ({canary.detail})", highlight=False)
            if report.missing_for_instructor:
                console.print(f"instructor grading (batch, worker, regrade) will refuse: missing "
                              f"{', '.join(report.missing_for_instructor)}", highlight=False)
            else:
                console.print("instructor grading: allowed", highlight=False)
        if not report.ok:
            raise typer.Exit(3)

    _guarded(run)
