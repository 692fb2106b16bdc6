"""Files that `grader init-ci` and `grader gradescope-setup` write.

The grader is installed with pip from a package spec. There is no safe
default name: the PyPI project called "grader" is an unrelated package, and
`pip install grader` would run someone else's code in every student's CI.
So the spec comes from `--package`, else `GRADER_PACKAGE`, else the VCS URL
this grader was itself installed from (pip's direct_url.json), else the
command asks for one.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from grader.errors import UsageError

WORKFLOW_PATH = Path(".github") / "workflows" / "grade.yml"
PACKAGE_ENV = "GRADER_PACKAGE"
DEFAULT_PYTHON = "3.11"
REPORT_FILE = "grader-report.json"


def installed_vcs_spec() -> str | None:
    """`git+URL@commit` when this grader was pip-installed from a VCS URL, else None."""
    from importlib import metadata

    try:
        raw = metadata.distribution("grader").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not raw:
        return None
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    vcs = info.get("vcs_info") if isinstance(info, dict) else None
    url = info.get("url") if isinstance(info, dict) else None
    if not vcs or not isinstance(url, str) or url.startswith("file:"):
        return None
    ref = vcs.get("commit_id") or vcs.get("requested_revision")
    return f"{vcs.get('vcs', 'git')}+{url}" + (f"@{ref}" if ref else "")


def package_spec(option: str | None) -> str:
    spec = option or os.environ.get(PACKAGE_ENV) or installed_vcs_spec()
    if not spec:
        raise UsageError("say where CI installs the grader from: --package SPEC (a pip requirement such as "
                         "'git+https://github.com/COURSE/grader@v0.1.0' or a wheel URL) or set GRADER_PACKAGE; "
                         "the PyPI name 'grader' is an unrelated project")
    if "\n" in spec or "\r" in spec:
        raise UsageError("--package: one line, please")
    return spec


def _yaml_str(text: str) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def _ci_args(assignment: str | None, fail_under: float | None) -> str:
    args = ""
    if assignment:
        args += f" --assignment {shlex.quote(assignment)}"
    if fail_under is not None:
        args += f" --fail-under {fail_under:g}"
    return args


def github_workflow(*, package: str, assignment: str | None = None, python: str = DEFAULT_PYTHON,
                    fail_under: float | None = None) -> str:
    """.github/workflows/grade.yml for a student repository."""
    ci = f"grader ci{_ci_args(assignment, fail_under)} --format json --output {REPORT_FILE}"
    return f"""\
# Written by `grader init-ci`. Grades this repository on every push and pull request
# with the course's grader: the score table goes to the run's summary, failing
# functions are annotated on your code, and the JSON report is kept as an artifact.
# The check is red until the score reaches full marks (see --fail-under).
# A CI score is feedback, not the grade: the course grades your repository at the deadline.
name: grade

on:
  push:
  pull_request:
  workflow_dispatch:

permissions:
  contents: read

jobs:
  grade:
    runs-on: ubuntu-24.04
    timeout-minutes: 15
    steps:
      - uses: actions/checkout@v4

      - uses: actions/setup-python@v5
        with:
          python-version: {_yaml_str(python)}

      # The grader runs your code in a bubblewrap sandbox, which needs unprivileged user
      # namespaces. GitHub's Ubuntu 24.04 runners restrict them with AppArmor
      # (kernel.apparmor_restrict_unprivileged_userns=1), so bubblewrap cannot start there.
      # This lifts that restriction on this throwaway runner only and installs bubblewrap.
      # Without it the grader still runs, with fewer isolation layers, and says so.
      - name: Set up the sandbox
        run: |
          if [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ]; then
            sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0
          fi
          sudo apt-get update -qq
          sudo apt-get install -y -qq bubblewrap

      - name: Install the grader
        run: python -m pip install {shlex.quote(package)}

      # Prints the report, writes {REPORT_FILE}, the job summary and the annotations.
      - name: Grade
        run: {ci}

      - name: Upload the report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: grader-report
          path: {REPORT_FILE}
          if-no-files-found: warn
"""


def gradescope_setup_sh(*, package: str) -> str:
    return f"""\
#!/usr/bin/env bash
# Written by `grader gradescope-setup`. Gradescope runs this once, as root, when it
# builds the autograder image: it installs Python 3.11+, bubblewrap and the grader.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip bubblewrap
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  apt-get install -y -qq python3.11 python3.11-venv
  PY=python3.11
fi
"$PY" -m venv /opt/grader
/opt/grader/bin/python -m pip install -q {shlex.quote(package)}
ln -sf /opt/grader/bin/grader /usr/local/bin/grader
# Which isolation layers work in Gradescope's container (bubblewrap needs user
# namespaces, which containers often lack; the grader then says which layers it used).
grader doctor --no-canaries || true
"""


def run_autograder(*, assignment: str | None = None) -> str:
    args = _ci_args(assignment, None)
    return f"""\
#!/usr/bin/env bash
# Written by `grader gradescope-setup`. Gradescope runs this for every submission:
# it grades /autograder/submission and writes /autograder/results/results.json
# (on an error too: then the score is 0 and the output says why).
set -uo pipefail
mkdir -p /autograder/results
grader ci /autograder/submission{args} --format gradescope \\
  --output /autograder/results/results.json --fail-under 0
"""


def write_new(path: Path, text: str, *, force: bool, executable: bool = False) -> None:
    """Write `text` to `path`, refusing to replace an existing file unless `force`."""
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists; pass --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if executable:
            path.chmod(0o755)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be written ({exc.strerror})") from None


def write_gradescope(directory: Path, *, package: str, assignment: str | None, force: bool) -> None:
    """setup.sh and run_autograder into `directory`; neither is written if either exists (without force)."""
    files = {"setup.sh": gradescope_setup_sh(package=package), "run_autograder": run_autograder(assignment=assignment)}
    for name in files:
        if (directory / name).exists() and not force:
            raise UsageError(f"{directory / name}: already exists; pass --force to overwrite it")
    for name, text in files.items():
        write_new(directory / name, text, force=True, executable=True)
