"""`grader ci`, `grader init-ci` and `grader gradescope-setup` through typer's
CliRunner: exit codes (--fail-under default, 0, a value between; 2, 4 kept),
where each output goes, what it says it found, Gradescope's student and error
results, the default gradebook falling back, and the files the setup commands
write (the workflow parsed as YAML)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import xml.etree.ElementTree as ET

import pytest

from test_ci_util import EXAMPLES, ROOT, clean_env, graded, invoke, make_repo  # noqa: F401 - clean_env is a fixture

BUG = EXAMPLES / "bug_svm_loss.py"
CORRECT = EXAMPLES / "correct_vectorized.py"
TWO = ("--problem", "graph", "--problem", "svm_loss")


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path, {"src/hw2.py": BUG, "README.md": "my homework"})


def ci(repo, db, *args):
    return invoke("ci", repo, "--db", db, *args)


# ----- exit codes -------------------------------------------------------------------------------
def test_full_marks_exit_0(tmp_path, clean_env):
    repo = make_repo(tmp_path, {"hw2.py": CORRECT})
    result = ci(repo, tmp_path / "g.db", *TWO)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "below --fail-under" not in result.stderr


def test_default_fail_under_is_full_marks(repo, tmp_path, clean_env):
    result = ci(repo, tmp_path / "g.db", *TWO)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    score = graded("bug_svm_loss.py").score
    assert f"score {score:g} / 25 is below --fail-under 25: exit 1" in result.stderr


def test_fail_under_0_never_fails_on_score(repo, tmp_path, clean_env):
    assert ci(repo, tmp_path / "g.db", *TWO, "--fail-under", "0").exit_code == 0
    nothing = make_repo(tmp_path / "n", {"hw2.py": ROOT / "problems" / "hw2" / "starter.py"})
    result = ci(nothing, tmp_path / "g.db", "--problem", "graph", "--fail-under", "0", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["score"] == 0


def test_fail_under_between(repo, tmp_path, clean_env):
    score = graded("bug_svm_loss.py").score
    assert 0 < score < 25
    assert ci(repo, tmp_path / "g.db", *TWO, "--fail-under", f"{score}").exit_code == 0  # equal passes
    assert ci(repo, tmp_path / "g.db", *TWO, "--fail-under", f"{score + 0.5}").exit_code == 1
    assert ci(repo, tmp_path / "g.db", *TWO, "--fail-under", f"{score - 0.5}").exit_code == 0


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_bad_fail_under_is_a_usage_error(repo, tmp_path, clean_env, value):
    result = ci(repo, tmp_path / "g.db", "--fail-under", value)
    assert result.exit_code == 2 and "--fail-under" in result.stderr


def test_usage_errors_exit_2(tmp_path, clean_env):
    empty = make_repo(tmp_path, {"main.py": "print(1)\n"})
    result = ci(empty, tmp_path / "g.db")
    assert result.exit_code == 2 and "no hw2.py found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert ci(tmp_path / "missing", tmp_path / "g.db").exit_code == 2
    assert ci(empty, tmp_path / "g.db", "--assignment", "hw9").exit_code == 2
    result = ci(make_repo(tmp_path, {"hw2.py": CORRECT}), tmp_path / "g.db", "--problem", "nope")
    assert result.exit_code == 2 and "unknown problem" in result.stderr


def test_a_database_that_cannot_be_written_exits_4(repo, tmp_path, clean_env):
    (tmp_path / "file").write_text("")
    result = ci(repo, tmp_path / "file" / "sub" / "g.db", "--problem", "graph")
    assert result.exit_code == 4, (result.stdout, result.stderr)


def test_the_default_gradebook_falls_back_to_not_storing(repo, tmp_path, clean_env):
    (tmp_path / "file").write_text("")
    clean_env.setenv("XDG_DATA_HOME", str(tmp_path / "file" / "sub"))  # the default gradebook cannot be made
    result = invoke("ci", repo, "--problem", "graph", "--format", "json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert json.loads(result.stdout)["score"] == 5
    assert "graded without storing" in result.stderr


def test_stored_with_source_ci(repo, tmp_path, clean_env):
    from grader.store import open_store

    db = tmp_path / "g.db"
    clean_env.setenv("GITHUB_ACTIONS", "true")
    clean_env.setenv("GITHUB_ACTOR", "alice")
    assert ci(repo, db, "--problem", "graph").exit_code == 0
    with open_store(str(db)) as store:
        rows = store.history(student="alice", assignment="hw2")
    assert len(rows) == 1 and rows[0].status == "graded"
    import sqlite3

    with sqlite3.connect(db) as con:
        assert con.execute("select source from submissions").fetchall() == [("ci",)]


# ----- what goes where --------------------------------------------------------------------------
def test_text_says_what_it_found_on_stdout(repo, tmp_path, clean_env):
    result = ci(repo, tmp_path / "g.db", "--problem", "graph")
    assert result.stdout.startswith("found src/hw2.py for hw2 (by its file name; it defines 9 of 9 functions)")
    assert "graph" in result.stdout and "5 / 5" in result.stdout


@pytest.mark.parametrize("fmt", ["json", "gradescope", "junit"])
def test_machine_formats_keep_stdout_pure(repo, tmp_path, clean_env, fmt):
    result = ci(repo, tmp_path / "g.db", "--problem", "graph", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert "found src/hw2.py for hw2" in result.stderr and not result.stdout.startswith("found")
    if fmt == "junit":
        assert ET.fromstring(result.stdout.encode()).get("tests") == "10"
    else:
        json.loads(result.stdout)


@pytest.mark.parametrize("fmt", ["json", "gradescope", "junit", "text"])
def test_output_file_and_the_text_report_on_stdout(repo, tmp_path, clean_env, fmt):
    out = tmp_path / "out" / f"report.{fmt}"
    result = ci(repo, tmp_path / "g.db", *TWO, "--format", fmt, "--output", out, "--fail-under", "0")
    assert result.exit_code == 0, result.stderr
    assert "found src/hw2.py" in result.stdout and "svm_loss" in result.stdout  # the table, for the log
    text = out.read_text()
    if fmt == "junit":
        assert ET.fromstring(text.encode()).get("tests")
    elif fmt == "text":
        assert "svm_loss" in text and "\x1b[" not in text
    else:
        assert json.loads(text)["score"] == graded("bug_svm_loss.py").score


def test_unwritable_output_is_a_usage_error(repo, tmp_path, clean_env):
    (tmp_path / "file").write_text("")
    result = ci(repo, tmp_path / "g.db", "--problem", "graph", "--format", "json", "--output",
                tmp_path / "file" / "r.json")
    assert result.exit_code == 2 and "cannot be written" in result.stderr


# ----- Gradescope -------------------------------------------------------------------------------
def test_gradescope_run(tmp_path, clean_env):
    from test_ci_formats import validate_gradescope

    submission = make_repo(tmp_path, {"hw2.py": BUG})
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"users": [{"email": "erin@uni.edu", "name": "Erin", "id": 3}]}))
    clean_env.setenv("GRADER_GRADESCOPE_METADATA", str(meta))
    results = tmp_path / "results" / "results.json"
    result = invoke("ci", submission, "--db", tmp_path / "g.db", *TWO, "--format", "gradescope",
                    "--output", results, "--fail-under", "0")
    assert result.exit_code == 0, result.stderr
    data = json.loads(results.read_text())
    validate_gradescope(data)
    assert data["extra_data"]["student"] == "erin@uni.edu"
    assert data["score"] == graded("bug_svm_loss.py").score


def test_gradescope_gets_results_even_when_nothing_can_be_graded(tmp_path, clean_env):
    from test_ci_formats import validate_gradescope

    submission = make_repo(tmp_path, {"notes.txt": "I forgot the code"})
    results = tmp_path / "results.json"
    result = invoke("ci", submission, "--db", tmp_path / "g.db", "--assignment", "hw2", "--format", "gradescope",
                    "--output", results, "--fail-under", "0")
    assert result.exit_code == 2
    data = json.loads(results.read_text())
    validate_gradescope(data)
    assert data["score"] == 0 and "no hw2.py found" in data["output"]


def test_gradescope_setup_writes_both_scripts(tmp_path, clean_env):
    out = tmp_path / "autograder"
    result = invoke("gradescope-setup", out, "--package", "git+https://example.org/course/grader@v1",
                    "--assignment", "hw2")
    assert result.exit_code == 0, result.stderr
    setup, run = (out / "setup.sh").read_text(), (out / "run_autograder").read_text()
    for path in (out / "setup.sh", out / "run_autograder"):
        assert os.stat(path).st_mode & stat.S_IXUSR
        assert path.read_text().startswith("#!/usr/bin/env bash\n")
        subprocess.run(["bash", "-n", str(path)], check=True)
    assert "pip install -q git+https://example.org/course/grader@v1" in setup and "bubblewrap" in setup
    command = " ".join(run.replace("\\\n", " ").split())
    assert ("grader ci /autograder/submission --assignment hw2 --format gradescope "
            "--output /autograder/results/results.json --fail-under 0") in command
    again = invoke("gradescope-setup", out, "--package", "x")
    assert again.exit_code == 2 and "--force" in again.stderr
    assert invoke("gradescope-setup", out, "--package", "x", "--force").exit_code == 0


# ----- init-ci ----------------------------------------------------------------------------------
def workflow(tmp_path, *args):
    repo = make_repo(tmp_path, {"hw2.py": CORRECT})
    result = invoke("init-ci", repo, *args)
    assert result.exit_code == 0, result.stderr
    return repo, (repo / ".github" / "workflows" / "grade.yml").read_text()


def test_init_ci_writes_a_workflow_that_parses(tmp_path, clean_env):
    yaml = pytest.importorskip("yaml")
    repo, text = workflow(tmp_path, "--package", "git+https://example.org/course/grader@v1", "--assignment", "hw2")
    data = yaml.safe_load(text)
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers and "pull_request" in triggers
    job = data["jobs"]["grade"]
    assert job["runs-on"] == "ubuntu-24.04"
    steps = job["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert uses[0].startswith("actions/checkout@") and any(u.startswith("actions/setup-python@") for u in uses)
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in runs
    assert "sudo apt-get install -y -qq bubblewrap" in runs
    assert "python -m pip install git+https://example.org/course/grader@v1" in runs
    assert "grader ci --assignment hw2 --format json --output grader-report.json" in runs
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "grader-report.json"
    assert "AppArmor" in text  # the comment says why the runner is set up


def test_init_ci_structure_without_yaml(tmp_path, clean_env):
    clean_env.setenv("GRADER_PACKAGE", "grader-course==0.1")  # the default comes from the environment
    _, text = workflow(tmp_path)
    assert "\t" not in text
    for needle in ("on:\n  push:", "jobs:\n  grade:\n    runs-on: ubuntu-24.04", "      - uses: actions/checkout@v4",
                   "python -m pip install grader-course==0.1", "run: grader ci --format json --output "
                   "grader-report.json", "uses: actions/upload-artifact@v4"):
        assert needle in text, needle


def test_init_ci_refuses_to_overwrite(tmp_path, clean_env):
    repo, _ = workflow(tmp_path, "--package", "a")
    target = repo / ".github" / "workflows" / "grade.yml"
    target.write_text("mine")
    result = invoke("init-ci", repo, "--package", "b")
    assert result.exit_code == 2 and "--force" in result.stderr
    assert target.read_text() == "mine"
    assert invoke("init-ci", repo, "--package", "b", "--force").exit_code == 0
    assert "pip install b" in target.read_text()


def test_init_ci_needs_a_package_spec(tmp_path, clean_env, monkeypatch):
    from grader.ci import templates

    monkeypatch.setattr(templates, "installed_vcs_spec", lambda: None)
    repo = make_repo(tmp_path, {"hw2.py": CORRECT})
    result = invoke("init-ci", repo)
    assert result.exit_code == 2 and "--package" in result.stderr and "unrelated" in result.stderr
    assert not (repo / ".github").exists()


def test_the_written_workflow_grades_like_ci_would(tmp_path, clean_env):
    """The command in the workflow runs as written (installed grader on PATH aside)."""
    import shlex

    repo, text = workflow(tmp_path, "--package", "x", "--fail-under", "0")
    line = next(l for l in text.splitlines() if l.strip().startswith("run: grader ci"))
    args = shlex.split(line.split("run: grader ", 1)[1])
    cwd = os.getcwd()
    try:
        os.chdir(repo)
        result = invoke(*args, "--db", tmp_path / "g.db", "--problem", "graph")
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    assert json.loads((repo / "grader-report.json").read_text())["score"] == 5


def test_the_readme_shows_the_workflow_init_ci_writes():
    from grader.ci.templates import github_workflow

    readme = (ROOT / "README.md").read_text()
    shown = github_workflow(package="git+https://github.com/COURSE/grader@v0.1.0", assignment="hw2")
    assert f"```yaml\n{shown}```" in readme, "README: paste the output of templates.github_workflow again"
    assert "What a CI score does and doesn't prove" in readme
