"""pytest plugin: `pytest --grader hw2` makes each of the grader's checks a test.

Declared as the `pytest11` entry point `grader`, so it is loaded by every
pytest run in an environment where the grader is installed; it does nothing
but add its options unless `--grader` is given. With it, the submission is
found as `grader ci` finds it (under `--grader-path`, default the rootdir),
graded once per session in the sandbox through the pipeline, and one test
item per check is added, with node ids like

    grader::softmax_loss::gradient: dW

A failed check fails its item with the grader's message and hint. The
submission is not stored unless `--grader-db URL` is given. `-k softmax`
selects items as usual; `-p no:grader` turns the plugin off.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "grade the homework submission in this repository")
    group.addoption("--grader", metavar="ASSIGNMENT", default=None,
                    help="grade the submission for ASSIGNMENT (e.g. hw2): one test per check")
    group.addoption("--grader-path", metavar="PATH", default=None,
                    help="the submission file, or the folder to search for it (default: the rootdir)")
    group.addoption("--grader-problem", metavar="ID", action="append", default=None,
                    help="grade only this problem (repeatable)")
    group.addoption("--grader-db", metavar="URL", default=None,
                    help="also store the submission in this gradebook (default: not stored)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("grader", None):
        config.pluginmanager.register(GraderSession(config), "grader-session")


class CheckFailed(Exception):
    """A grader check that did not pass; its text is the grader's message."""


class GraderNode(pytest.Collector):
    """A grouping node (the assignment, then each problem); items are made by the plugin."""

    def collect(self):  # pragma: no cover - the plugin builds the tree itself
        return []


class CheckItem(pytest.Item):
    def __init__(self, *, text: str, passed: bool, location: tuple[str, int | None, str], **kwargs) -> None:
        super().__init__(**kwargs)
        self._text = text
        self._passed = passed
        self._location = location

    def runtest(self) -> None:
        if not self._passed:
            raise CheckFailed(self._text)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self._location


class GraderSession:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.report = None
        self.found = None
        self.error: str | None = None
        self.notices: list[str] = []

    def _grade(self) -> None:
        from grader.ci.environment import detect
        from grader.ci.run import locate, missing_layers_notice
        from grader.errors import GraderError

        opt = self.config.getoption
        path = Path(opt("grader_path") or self.config.rootpath)
        try:
            root, self.found = locate(path, assignment=opt("grader"), problems=None)
            student = detect().student
            if opt("grader_db"):
                from grader.pipeline import grade_and_store

                self.report = grade_and_store(self.found.path, assignment=self.found.assignment, student=student,
                                              db_url=opt("grader_db"), seed=None, only=opt("grader_problem"),
                                              problems_root=root, source="ci")
            else:
                from grader.packs import load_pack
                from grader.pipeline import grade, read_submission

                self.report = grade(read_submission(self.found.path), load_pack(self.found.assignment, root),
                                    student=student, only=opt("grader_problem"))
        except GraderError as exc:
            self.error = str(exc)
            return
        notice = missing_layers_notice(self.report.sandbox)
        if notice:
            self.notices.append(notice)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list) -> None:
        from grader.ci.formats import check_text

        self._grade()
        assignment = config.getoption("grader")
        top = GraderNode.from_parent(session, name="grader", nodeid="grader")
        if self.report is None:
            items.append(CheckItem.from_parent(top, name=assignment, text=f"grader: {self.error}", passed=False,
                                               location=(str(config.rootpath), None, f"grader {assignment}")))
            return
        path = str(self.found.path)
        for problem in self.report.problems:
            node = GraderNode.from_parent(top, name=problem.id)
            line = problem.line - 1 if problem.line else None
            for check in problem.checks:
                points = f"{check.score:g} / {check.max_score:g} points"
                items.append(CheckItem.from_parent(
                    node, name=check.name, text=f"{check_text(check) or check.name}\n({points})", passed=check.passed,
                    location=(path, line, f"{problem.id}: {check.name}")))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.section("grader")
        if self.report is None:
            terminalreporter.write_line(f"grader: {self.error}")
            return
        r = self.report
        terminalreporter.write_line(self.found.describe())
        terminalreporter.write_line(f"{r.assignment}: {r.score:g} / {r.max_score:g} for {r.student} "
                                    f"(sandbox: {', '.join(r.sandbox) or 'none'})")
        for notice in self.notices:
            terminalreporter.write_line(notice)
