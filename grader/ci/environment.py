"""Where `grader ci` runs and who the student is, from the environment alone.

- GitHub Actions (`GITHUB_ACTIONS=true`): the student is `GITHUB_ACTOR`, the
  account whose push or pull request started the run (in GitHub Classroom the
  repository belongs to the course's organisation, so its owner is not the
  student); when the actor is a bot (`dependabot[bot]`, ...) or missing, the
  repository owner `GITHUB_REPOSITORY_OWNER`.
- Gradescope: `/autograder/submission_metadata.json` exists (the path can be
  overridden with `GRADER_GRADESCOPE_METADATA`); the student is the first
  submitter's email, else name, else id (`users[0]`).
- Anywhere else: the OS user.

All of these are claims made by the environment, which the student may
control; see the README on what a CI score proves.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Mapping

GRADESCOPE_METADATA = "/autograder/submission_metadata.json"
GRADESCOPE_METADATA_ENV = "GRADER_GRADESCOPE_METADATA"

Kind = Literal["github", "gradescope", "local"]


@dataclass(frozen=True)
class CiEnvironment:
    kind: Kind
    student: str
    source: str  # where the student name came from, for the report's log

    @property
    def github(self) -> bool:
        return self.kind == "github"


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "unknown"


def gradescope_metadata_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(GRADESCOPE_METADATA_ENV) or GRADESCOPE_METADATA)


def _gradescope_student(path: Path) -> tuple[str, str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, list) or not users or not isinstance(users[0], dict):
        return None
    first = users[0]
    for key in ("email", "name", "id"):
        value = first.get(key)
        if isinstance(value, (str, int)) and str(value).strip():
            more = f" (+{len(users) - 1} group member(s))" if len(users) > 1 else ""
            return str(value).strip(), f"Gradescope submission metadata users[0].{key}{more}"
    return None


def detect(environ: Mapping[str, str] | None = None) -> CiEnvironment:
    environ = os.environ if environ is None else environ
    if environ.get("GITHUB_ACTIONS") == "true":
        actor = environ.get("GITHUB_ACTOR", "").strip()
        owner = environ.get("GITHUB_REPOSITORY_OWNER", "").strip()
        if actor and not actor.endswith("[bot]"):
            return CiEnvironment("github", actor, "GITHUB_ACTOR")
        if owner:
            return CiEnvironment("github", owner, "GITHUB_REPOSITORY_OWNER")
        return CiEnvironment("github", _os_user(), "the OS user (no GITHUB_ACTOR)")
    path = gradescope_metadata_path(environ)
    if path.is_file():
        found = _gradescope_student(path)
        if found is not None:
            return CiEnvironment("gradescope", *found)
        return CiEnvironment("gradescope", _os_user(), f"the OS user ({path} names no user)")
    return CiEnvironment("local", _os_user(), "the OS user")
