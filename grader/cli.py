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
    submitted_at: Annotated[Optional[str], typer.Option("--submitted-at", help="When the work was handed in, ISO 8601 with a UTC offset (an LMS export's timestamp, a commit's time); lateness is measured from it. Default: now.", show_default=False)] = None,
    enqueue: Annotated[bool, typer.Option("--enqueue", help="Only store FILE as pending, for a `grader worker` to grade (e.g. --db postgresql://...).")] = False,
) -> None:
    """Grade FILE in a sandbox, print the report and store it.

    Example: grader submit hw2.py --problem softmax_loss
    """

    def run() -> None:
        from grader.pipeline import grade_and_store

        handed_in = _parse_time(submitted_at, "--submitted-at") if submitted_at is not None else None
        if enqueue:
            from grader.batch.run import enqueue_file

            sid = enqueue_file(file, assignment=assignment, student=student or _os_user(), db_url=db,
                               problems_root=problems, submitted_at=handed_in)
            _stdout().print(f"queued submission {sid} for `grader worker`", highlight=False, markup=False)
            return
        notices: list[str] = []
        report = grade_and_store(file, assignment=assignment, student=student or _os_user(), db_url=db,
                                 seed=_checked_seed(seed),
                                 only=problem, problems_root=problems,
                                 submitted_at=handed_in, on_notice=notices.append)
        if format is Format.json:
            sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        else:
            from grader.render import report_renderable

            _stdout().print(report_renderable(report))
        _notice_missing_layers(report.sandbox)
        _print_notices(notices)

    _guarded(run)


def _print_notices(notices: list[str]) -> None:
    """Policy notices about a submission (late, past the limit), on stderr."""
    from rich.console import Console

    for notice in notices:
        Console(stderr=True).print(f"notice: {notice}", highlight=False, markup=False, soft_wrap=True)


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


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"


def _parse_time(text: str, option: str, zone=None):
    """An ISO 8601 date and time; without an offset it is read in `zone` (else refused)."""
    from datetime import datetime

    from grader.errors import UsageError
    from grader.spec import localize

    example = "2025-03-20T23:59:00+01:00"
    raw = text.strip()
    if len(raw) <= 10:  # a date alone: midnight at its start is rarely what is meant
        raise UsageError(f"{option} {text!r} needs a time of day too, e.g. {example}")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not an ISO 8601 date and time; write e.g. {example}") from None
    if moment.tzinfo is None:
        if zone is None:
            raise UsageError(f"{option} {text!r} has no UTC offset and the assignment declares no time zone; "
                             f"write e.g. {example}")
        try:
            moment = localize(moment, zone)
        except ValueError as exc:
            raise UsageError(f"{option} {exc}") from None
    return moment


def _gradebook_pack(assignment: str, problems: Optional[Path]):
    from grader.packs import load_pack, problems_root

    return load_pack(assignment, problems_root(problems))


def _who_why(by: str, reason: str) -> tuple[str, str]:
    from grader.errors import UsageError

    if not by.strip():
        raise UsageError("--by is empty; say who decides this, e.g. --by 'Prof. Smith'")
    if not reason.strip():
        raise UsageError("--reason is empty; say why, e.g. --reason 'medical certificate'")
    return by, reason


AssignmentReq = Annotated[str, typer.Option("--assignment", help="Assignment id, e.g. hw2.", show_default=False)]
ByOpt = Annotated[str, typer.Option("--by", help="Who decides this (kept with the record).", show_default=False)]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept with the record).", show_default=False)]
NewStudentOpt = Annotated[bool, typer.Option("--new-student", help="Allow a student with no submission yet (otherwise an unknown name is refused as a likely typo).")]


@app.command()
def extend(
    student: Annotated[str, typer.Argument(help="Student name, as in `grader history`.", show_default=False)],
    assignment: AssignmentReq,
    until: Annotated[str, typer.Option("--until", help="New due date, ISO 8601; without an offset it is read in the assignment's time zone.", show_default=False)],
    by: ByOpt,
    reason: ReasonOpt,
    new_student: NewStudentOpt = False,
    db: DbOpt = None,
    problems: ProblemsOpt = None,
) -> None:
    """Give one student a later due date for an assignment, recording who and why.

    The latest extension is in force; earlier ones are kept. Lateness is then
    measured against it (see `grader export`).

    Example: grader extend alice --assignment hw2 --until 2025-03-21T23:59 --by "Prof. Smith" --reason "medical certificate"
    """

    def run() -> None:
        from grader.errors import UsageError
        from grader.gradebook_policy import _when
        from grader.store import open_store

        pack = _gradebook_pack(assignment, problems)
        policy = pack.spec.policy
        if policy.due_at is None:
            raise UsageError(f"assignment {assignment} declares no due date, so an extension would change nothing; "
                             "add `due` to its [policy]")
        due = _parse_time(until, "--until", policy.zone).astimezone(policy.zone)
        if due <= policy.due_at:
            raise UsageError(f"--until {_when(due)} is not after the due date {_when(policy.due_at)} of {assignment}; "
                             "an extension moves the due date later")
        who, why = _who_why(by, reason)
        with open_store(db) as store:
            eid = store.add_extension(student=student, assignment=pack.spec.id, due=due, granted_by=who, reason=why,
                                      new_student=new_student)
        _stdout().print(f"extension {eid}: {student} may submit {assignment} until {_when(due)} "
                        f"(granted by {' '.join(who.split())}: {' '.join(why.split())})", highlight=False, markup=False)

    _guarded(run)


@app.command()
def override(
    student: Annotated[str, typer.Argument(help="Student name, as in `grader history`.", show_default=False)],
    assignment: AssignmentReq,
    score: Annotated[float, typer.Option("--score", help="The points to record (0 to the problem's or the assignment's maximum).", show_default=False)],
    by: ByOpt,
    reason: ReasonOpt,
    problem: Annotated[Optional[str], typer.Option("--problem", help="Problem id; without it the total is overridden.", show_default=False)] = None,
    new_student: NewStudentOpt = False,
    db: DbOpt = None,
    problems: ProblemsOpt = None,
) -> None:
    """Set a student's score by hand, for one problem or the total, recording who and why.

    A problem override replaces that problem's points (the late penalty still
    applies); a total override replaces the final total. The latest override
    is in force; earlier ones are kept.

    Example: grader override alice --assignment hw2 --problem svm_loss --score 18 --by ta.jones --reason "regraded by hand"
    """

    def run() -> None:
        import math

        from grader.errors import UsageError
        from grader.gradebook_policy import plain_number
        from grader.store import open_store

        pack = _gradebook_pack(assignment, problems)
        ids = [p.id for p in pack.spec.problems]
        if problem is not None and problem not in ids:
            raise UsageError(f"unknown problem {problem!r} in {assignment}; known: {', '.join(ids)}")
        maximum = pack.spec.problem(problem).points if problem else sum(p.points for p in pack.spec.problems)
        what = f"problem {problem}" if problem else "the total"
        if not math.isfinite(score) or not 0 <= score <= maximum:
            raise UsageError(f"--score {score:g} is out of range for {what} of {assignment}; "
                             f"give 0 to {plain_number(maximum)}")
        who, why = _who_why(by, reason)
        with open_store(db) as store:
            oid = store.add_override(student=student, assignment=pack.spec.id, problem_id=problem, score=score,
                                     set_by=who, reason=why, new_student=new_student)
        _stdout().print(f"override {oid}: {student}'s {what.removeprefix('the ')} of {assignment} is {plain_number(score)} / "
                        f"{plain_number(maximum)} (set by {' '.join(who.split())}: {' '.join(why.split())})",
                        highlight=False, markup=False)

    _guarded(run)


@app.command()
def export(
    assignment: AssignmentReq,
    format: Annotated[ExportFormat, typer.Option("--format", help="csv: for spreadsheets and LMS grade imports; json: everything, including who set overrides and why.")] = ExportFormat.csv,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.", show_default=False)] = None,
    db: DbOpt = None,
    problems: ProblemsOpt = None,
) -> None:
    """Export the gradebook of an assignment: one row per student, a column per
    problem and the total, under the assignment's policy (the submission that
    counts, late penalty, extensions, overrides).

    Example: grader export --assignment hw2 --format csv --output hw2-grades.csv
    """

    def run() -> None:
        from grader.errors import UsageError
        from grader.gradebook_export import to_csv, to_json
        from grader.gradebook_policy import ProblemColumn, grade_rows
        from grader.store import open_store
        from grader.store.engine import display_url

        pack = _gradebook_pack(assignment, problems)
        columns = [ProblemColumn(p.id, p.points) for p in pack.spec.problems]
        with open_store(db) as store:
            facts = store.gradebook_facts(pack.spec.id)
            where = display_url(store.url)
        rows = grade_rows(pack.spec.policy, columns, facts.submissions, facts.extensions, facts.overrides)
        if format is ExportFormat.csv:
            text = to_csv(rows, columns)
        else:
            text = to_json(rows, columns, assignment=pack.spec.id, spec_version=pack.spec.version,
                           policy=pack.spec.policy)
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                with open(output, "w", encoding="utf-8", newline="") as handle:
                    handle.write(text)
            except OSError as exc:
                raise UsageError(f"{output}: cannot be written ({exc.strerror}); choose another --output") from None
        from rich.console import Console

        err = Console(stderr=True)
        if not rows:
            err.print(f"notice: no submissions for {assignment} in {where}", highlight=False, markup=False)
        elif output is not None:
            err.print(f"exported {len(rows)} student(s) of {assignment} to {output}", highlight=False, markup=False)

    _guarded(run)


class CiFormat(str, Enum):
    text = "text"
    json = "json"
    gradescope = "gradescope"
    junit = "junit"


@app.command()
def ci(
    path: Annotated[Path, typer.Argument(help="The repository (or the file) to grade.")] = Path("."),
    assignment: Annotated[Optional[str], typer.Option(help="Assignment id (default: from the file names found).", show_default=False)] = None,
    fail_under: Annotated[Optional[float], typer.Option("--fail-under", help="Exit 1 when the score is below this (default: full marks; 0 never fails).", show_default=False)] = None,
    format: Annotated[CiFormat, typer.Option("--format", help="text, json (our report), gradescope (results.json) or junit (XML).")] = CiFormat.text,
    output: Annotated[Optional[Path], typer.Option(help="Write the format to this file; the text report then goes to stdout.", show_default=False)] = None,
    db: DbOpt = None,
    student: Annotated[Optional[str], typer.Option(help="Student name (default: from the CI environment, else the OS user).", show_default=False)] = None,
    problem: Annotated[Optional[list[str]], typer.Option("--problem", help="Grade only this problem (repeatable).", show_default=False)] = None,
    problems: ProblemsOpt = None,
) -> None:
    """Grade a student repository in CI: find the submission, grade it in the sandbox,
    print the report; in GitHub Actions also write the job summary and annotate
    failing functions. Exits 1 when the score is below --fail-under.

    Example: grader ci . --format junit --output grader.xml
    """
    import os

    from rich.console import Console

    fmt = format.value
    machine_stdout = fmt != "text" and output is None
    info = Console(stderr=True, highlight=False, markup=False, soft_wrap=True) if machine_stdout else \
        Console(highlight=False, markup=False, soft_wrap=True)
    notes = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
    in_github = os.environ.get("GITHUB_ACTIONS") == "true"

    def run() -> None:
        from grader.ci import run as ci_run
        from grader.errors import GraderError

        try:
            ci_run.check_fail_under(fail_under)
            root, found = ci_run.locate(path, assignment=assignment, problems=problems)
            info.print(found.describe())
            result = ci_run.grade_found(found, problems_root=root, student=student, db_url=db, only=problem,
                                        fail_under=fail_under)
        except GraderError as exc:
            if fmt == "gradescope" and output is not None:
                import json as _json

                from grader.ci.formats import gradescope_error

                ci_run.write_output(output, _json.dumps(gradescope_error(str(exc)), indent=2) + "\n")
            if in_github:
                from grader.ci.github import workflow_command

                info.print(workflow_command("error", str(exc), title="grader"))
            raise
        text = ci_run.payload(result, fmt)
        if output is not None:
            ci_run.write_output(output, text)
        if machine_stdout:
            sys.stdout.write(text)
        else:
            from grader.render import report_renderable

            console = _stdout()
            if not console.is_terminal:
                console.width = max(console.width, 120)  # CI logs are wide; keep messages on few lines
            console.print(report_renderable(result.report))
        if in_github:
            lines, _ = ci_run.github_outputs(result)
            for line in lines:
                info.print(line)
        for notice in result.notices:
            notes.print(notice)
        if result.below_threshold:
            notes.print(f"score {result.report.score:g} / {result.report.max_score:g} is below --fail-under "
                        f"{result.threshold:g}: exit 1")
            raise typer.Exit(1)

    _guarded(run)


@app.command("init-ci")
def init_ci(
    path: Annotated[Path, typer.Argument(help="The student repository.")] = Path("."),
    package: Annotated[Optional[str], typer.Option(help="What CI pip-installs the grader from, e.g. 'git+https://github.com/COURSE/grader@v0.1.0' (default: GRADER_PACKAGE, else where this grader was installed from).", show_default=False)] = None,
    assignment: Annotated[Optional[str], typer.Option(help="Assignment id to pass to grader ci (default: inferred at run time).", show_default=False)] = None,
    fail_under: Annotated[Optional[float], typer.Option("--fail-under", help="Threshold for a green check (default: full marks).", show_default=False)] = None,
    python: Annotated[str, typer.Option(help="Python version for the runner.")] = "3.11",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing workflow.")] = False,
) -> None:
    """Write .github/workflows/grade.yml into a student repository: set the runner's
    sandbox up, install the grader, grade, upload the JSON report.

    Example: grader init-ci . --package 'git+https://github.com/COURSE/grader@v0.1.0'
    """

    def run() -> None:
        from grader.ci import templates
        from grader.ci.run import check_fail_under

        check_fail_under(fail_under)
        target = path / templates.WORKFLOW_PATH
        templates.write_new(target, templates.github_workflow(package=templates.package_spec(package),
                                                              assignment=assignment, python=python,
                                                              fail_under=fail_under), force=force)
        _stdout().print(f"wrote {target}; commit and push it to grade on every push", highlight=False,
                        markup=False)

    _guarded(run)


@app.command("gradescope-setup")
def gradescope_setup(
    directory: Annotated[Path, typer.Argument(help="Folder to write setup.sh and run_autograder into; zip its contents for Gradescope.")] = Path("."),
    package: Annotated[Optional[str], typer.Option(help="What setup.sh pip-installs the grader from (default: GRADER_PACKAGE, else where this grader was installed from).", show_default=False)] = None,
    assignment: Annotated[Optional[str], typer.Option(help="Assignment id (default: inferred from the submission).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write Gradescope's setup.sh and run_autograder (which runs grader ci --format gradescope).

    Example: grader gradescope-setup autograder/ --assignment hw2 && (cd autograder && zip ../autograder.zip *)
    """

    def run() -> None:
        from grader.ci import templates

        templates.write_gradescope(directory, package=templates.package_spec(package), assignment=assignment,
                                   force=force)
        _stdout().print(f"wrote {directory / 'setup.sh'} and {directory / 'run_autograder'}; zip them "
                        "(the files, not the folder) and upload the zip as the autograder", highlight=False,
                        markup=False)

    _guarded(run)


BATCH_LAYOUTS_HELP = """Layouts, and the student id each gives:

- PATH/<student>/hw2.py: the folder's name (Moodle's "Full Name_12345_assignsubmission_file_" gives "Full Name").
- PATH/<student>/<any>.py: the folder's name; the file defining the most of the assignment's functions is taken (parsed, never imported), as `grader ci` finds it.
- PATH/<student>.py: the file name ("alice_hw2.py" gives "alice").
- LMS names <name>_<id>_..._hw2.py: everything before the first all-digit word, without a "late" word (Canvas "lastname_firstname_12345_67890_hw2.py" gives "lastname_firstname"); Blackboard "<assignment>_<user>_attempt_<yyyy-mm-dd-hh-mm-ss>_hw2.py" gives "<user>".
- export.zip: an LMS or Gradescope export, read as the folder it holds (one wrapping folder is looked through), member by member with size, count and compression caps; no path traversal, no symlinks.

Equal names with different LMS ids become "<name>_<id>". Two entries of one student are duplicates: both are listed and neither is graded; ambiguous and unreadable entries are listed too. The submission time (for late penalties) is the LMS timestamp in the name (Blackboard), else the zip entry's time (a local time is read in the assignment's time zone), else the file's modification time."""


@app.command(help=f"""Grade a class: every student's submission in PATH (a folder or an LMS export .zip), in parallel, each in its own sandbox; store the results, print a summary, optionally write the gradebook and a class report.

Re-running skips what is already graded with the same content, spec version and seed (--regrade grades it again). Ctrl-C stops cleanly, keeping every finished result (a second Ctrl-C abandons the ones in progress, which stay pending); running the command again finishes the rest. Refuses (exit 3) where filesystem confinement or the syscall filter is missing (see `grader doctor`); exits 130 when interrupted.

{BATCH_LAYOUTS_HELP}

Example: grader batch class/ --assignment hw2 --workers 4 --report hw2-report.html --export hw2-grades.csv
""")
def batch(
    path: Annotated[Path, typer.Argument(help="The class's folder, or the LMS export (.zip).", show_default=False)],
    assignment: AssignmentReq,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", help="Submissions graded at once (default: the CPU cores available).", show_default=False)] = None,
    regrade: Annotated[bool, typer.Option("--regrade", help="Grade again what is already graded (a new run of the same submission; old runs are kept).")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write the class report (one offline HTML page) here.", show_default=False)] = None,
    export_to: Annotated[Optional[Path], typer.Option("--export", help="Write the gradebook here, as `grader export` makes it (.json for JSON, else CSV).", show_default=False)] = None,
    enqueue: Annotated[bool, typer.Option("--enqueue", help="Only record the submissions as pending, for `grader worker`s to grade (no grading here).")] = False,
    seed: Annotated[Optional[int], typer.Option(help="Seed (default: fixed per assignment version).", show_default=False)] = None,
    problem: Annotated[Optional[list[str]], typer.Option("--problem", help="Grade only this problem (repeatable).", show_default=False)] = None,
    db: DbOpt = None,
    problems: ProblemsOpt = None,
) -> None:
    def run() -> None:
        import signal

        from rich.console import Console

        from grader.batch import summary
        from grader.batch.discover import discover
        from grader.batch.run import Stop, enqueue as enqueue_roster, run_batch
        from grader.errors import UsageError
        from grader.packs import load_pack, problems_root

        if workers is not None and workers < 1:
            raise UsageError(f"--workers {workers}: give 1 or more")
        root = problems_root(problems)
        pack = load_pack(assignment, root)
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        console = _stdout()
        with discover(path, assignment=pack.spec.id, problems_root=root, zone=pack.spec.policy.zone) as roster:
            if enqueue:
                queued, skipped = enqueue_roster(roster, assignment=pack.spec.id, problems_root=root, db_url=db,
                                                 regrade=regrade, seed=_checked_seed(seed))
                console.print(f"queued {len(queued)} submission(s) of {pack.spec.id} for `grader worker`; "
                              f"{len(skipped)} already graded", highlight=False, markup=False)
                if roster.issues:
                    from grader.batch.run import BatchResult

                    console.print(summary.issues_table(BatchResult(pack.spec.id, [], roster.issues, 0)))
                return
            stop = Stop()
            progress = _batch_progress(err)
            task = None
            state = {"done": 0, "failures": 0, "t0": 0.0}

            def on_start(todo: int, skipped: int) -> None:
                nonlocal task
                import time

                state["t0"] = time.monotonic()
                err.print(f"{len(roster.entries)} submission(s) found, {todo} to grade, {skipped} already graded; "
                          f"{len(roster.issues)} entr{'y' if len(roster.issues) == 1 else 'ies'} not graded",
                          markup=False)
                task = progress.add_task(f"grading {pack.spec.id}", total=todo, rate="", failures=0)
                progress.start()

            def on_done(outcome) -> None:
                import time

                state["done"] += 1
                if outcome.status == "error" or (outcome.report is not None and
                                                 any(p.status in ("timeout", "error") for p in outcome.report.problems)):
                    state["failures"] += 1
                elapsed = max(time.monotonic() - state["t0"], 1e-9)
                progress.update(task, advance=1, failures=state["failures"], rate=f"{state['done'] / elapsed:.2f}/s")

            def on_sigint(signum, frame) -> None:
                stop.request()
                if stop.requests == 1:
                    progress.console.print("stopping: finishing the submissions in progress (Ctrl-C again to "
                                           "abandon them; they stay pending)", markup=False)

            try:
                previous = signal.signal(signal.SIGINT, on_sigint)
            except ValueError:  # not the main thread
                previous = None
            try:
                result = run_batch(roster, assignment=pack.spec.id, problems_root=root, db_url=db, workers=workers,
                                   regrade=regrade, seed=_checked_seed(seed), only=problem, stop=stop,
                                   on_start=on_start, on_done=on_done)
            finally:
                progress.stop()
                if previous is not None:
                    signal.signal(signal.SIGINT, previous)
            console.print(summary.summary_table(result))
            if result.count("error"):
                console.print(summary.errors_table(result))
            if result.issues:
                console.print(summary.issues_table(result))
            console.print(summary.counts_line(result), highlight=False, markup=False)
            if export_to is not None:
                n = summary.write_export(export_to, assignment=pack.spec.id, problems_root=root, db_url=db)
                err.print(f"exported {n} student(s) of {pack.spec.id} to {export_to}", markup=False)
            if report is not None:
                summary.write_report(report, result)
                err.print(f"class report written to {report}", markup=False)
            if result.interrupted or stop.requests:
                left = result.count("pending")
                err.print(f"interrupted: finished results are stored; {left} submission(s) left pending: run the "
                          "same command again (or `grader regrade --pending`) to grade them", markup=False)
                raise typer.Exit(130)

    _guarded(run)


def _batch_progress(console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    TextColumn("failures: {task.fields[failures]}"), console=console, transient=False)


@app.command()
def worker(
    db: Annotated[Optional[str], typer.Option(help="The shared gradebook, e.g. postgresql://grader@db.example.org/gradebook (default: GRADER_DATABASE_URL or the local gradebook).", show_default=False)] = None,
    lease: Annotated[float, typer.Option("--lease", help="Seconds a claimed submission stays ours without a heartbeat; after that it returns to the queue.")] = 120.0,
    poll: Annotated[float, typer.Option("--poll", help="Seconds to wait when the queue is empty.")] = 2.0,
    exit_when_empty: Annotated[bool, typer.Option("--exit-when-empty", help="Stop once nothing is pending (leased submissions included) instead of waiting for more.")] = False,
    assignment: Annotated[Optional[list[str]], typer.Option("--assignment", help="Only this assignment (repeatable).", show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed (default: fixed per assignment version).", show_default=False)] = None,
    problems: ProblemsOpt = None,
) -> None:
    """Grade pending submissions from a shared gradebook, on as many machines as you like.

    Each worker claims the oldest pending submission no one holds (SELECT ... FOR UPDATE SKIP LOCKED)
    with a lease it renews while grading; a killed worker's lease expires and another takes the
    submission over, and a worker whose lease was taken over cannot overwrite the new result.
    Fill the queue with `grader batch PATH --assignment A --enqueue --db URL`. Refuses (exit 3)
    without filesystem confinement and the syscall filter. Ctrl-C returns the current submission
    to the queue.

    Example: grader worker --db postgresql://grader@db.example.org/gradebook
    """

    def run() -> None:
        from grader.batch.worker import run_worker

        console = _stdout()

        def done(d) -> None:
            if d.lost:
                console.print(f"{d.submission_id}: lease lost, result left to the worker that took over",
                              highlight=False, markup=False)
            elif d.report is None:
                console.print(f"{d.submission_id}: error: {d.error}", highlight=False, markup=False)
            else:
                console.print(f"{d.submission_id}: {d.student} {d.assignment} {d.report.score:g} / "
                              f"{d.report.max_score:g}", highlight=False, markup=False)

        n = run_worker(db_url=db, problems_root=problems, lease_s=lease, poll_s=poll,
                       exit_when_empty=exit_when_empty, assignments=assignment, seed=_checked_seed(seed),
                       on_done=done)
        console.print(f"graded {n} submission(s)", highlight=False, markup=False)

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
            console.print(f"landlock: {report.landlock}   cgroup: {report.cgroup}", highlight=False)
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
