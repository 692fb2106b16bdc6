"""Assignment packs on disk: `<root>/<assignment>/assignment.toml` plus an
optional trusted `reference.py`. The root is the bundled `problems/` folder,
or `GRADER_PROBLEMS`, or a folder given on the command line."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

from pydantic import ValidationError

from grader.errors import SpecError, UsageError
from grader.spec import AssignmentSpec, ProblemSpec

SPEC_FILE = "assignment.toml"
REFERENCE_FILE = "reference.py"


def bundled_root() -> Path:
    return Path(__file__).resolve().parent.parent / "problems"


def problems_root(override: Path | None = None) -> Path:
    root = override or (Path(os.environ["GRADER_PROBLEMS"]) if os.environ.get("GRADER_PROBLEMS") else bundled_root())
    if not root.is_dir():
        raise UsageError(f"{root}: no such problems folder; point --problems or GRADER_PROBLEMS at one")
    return root


def list_assignments(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if (p / SPEC_FILE).is_file())


@dataclass(frozen=True)
class Pack:
    spec: AssignmentSpec
    directory: Path
    reference: ModuleType | None
    spec_sha256: str

    def function(self, name: str) -> Callable:
        fn = getattr(self.reference, name, None) if self.reference is not None else None
        if not callable(fn):
            raise SpecError(f"{self.directory / REFERENCE_FILE}: no function {name!r}, which the spec names")
        return fn


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def _referenced(problem: ProblemSpec) -> list[str]:
    names = [problem.forward, problem.reference, problem.kinks, *(c.build for c in problem.cases),
             *(m.variant for m in problem.mistakes)]
    return [n for n in names if n]


def load_pack(assignment: str, root: Path) -> Pack:
    directory = root / assignment
    spec_path = directory / SPEC_FILE
    if not spec_path.is_file():
        known = ", ".join(list_assignments(root)) or "none"
        raise UsageError(f"unknown assignment {assignment!r} in {root} (known: {known}); pass --assignment")
    raw = spec_path.read_bytes()
    try:
        spec = AssignmentSpec.model_validate(tomllib.loads(raw.decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{spec_path}: not valid TOML ({exc})") from None
    except ValidationError as exc:
        raise SpecError(f"{spec_path}: {_describe(exc)}") from None
    digest = hashlib.sha256(raw)
    reference = None
    ref_path = directory / REFERENCE_FILE
    if ref_path.is_file():
        digest.update(ref_path.read_bytes())
        module_spec = importlib.util.spec_from_file_location(f"grader_pack_{assignment}", ref_path)
        assert module_spec is not None and module_spec.loader is not None
        reference = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(reference)
        except Exception as exc:  # noqa: BLE001 - a broken pack is a usage error, not a crash
            raise SpecError(f"{ref_path}: cannot be imported ({type(exc).__name__}: {exc})") from None
    pack = Pack(spec, directory, reference, digest.hexdigest())
    for problem in spec.problems:
        for name in _referenced(problem):
            pack.function(name)
        if problem.forward is None and problem.reference is None:
            for case in problem.cases:
                missing = [o.name for o in problem.outputs if o.name not in (case.expected or {})]
                if missing:
                    raise SpecError(f"{spec_path}: problem {problem.id!r}, case {case.name!r} needs a forward, "
                                    f"a reference or stored expected outputs (missing: {', '.join(missing)})")
    return pack
