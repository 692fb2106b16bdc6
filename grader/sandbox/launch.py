"""Launchers: how a child process is started, and which isolation layers that gives.

`ProcessLauncher` is the portable floor: a separate process in its own
session and process group, a scrubbed environment, resource limits
(address space, CPU seconds, file size, open files), a private temp dir,
and parent-side deadlines that end in SIGKILL of the whole group.
"""

from __future__ import annotations

import os
import resource
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

# Environment variables passed to the child; nothing else of the grader's.
BLAS_THREADS = {
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1", "BLIS_NUM_THREADS": "1",
}
PASSED_THROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass(frozen=True)
class Limits:
    address_space: int = 2 << 30
    cpu_seconds: int = 120
    file_size: int = 16 << 20
    open_files: int = 64


@dataclass
class LaunchPlan:
    argv_prefix: list[str]
    child_script: str
    env: dict[str, str]
    cwd: str
    child_paths: list[str]
    submission_path: str
    tmpdir: str
    setup_extra: dict = field(default_factory=dict)
    after_start: Callable[[int], None] = lambda pid: None


def child_env(tmpdir: str) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": tmpdir, "TMPDIR": tmpdir,
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", **BLAS_THREADS}
    env.update({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
    return env


def numpy_paths() -> list[str]:
    """The directory that holds the numpy package (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [str(Path(next(iter(spec.submodule_search_locations))).parent)]


def set_limits(pid: int, limits: Limits) -> None:
    for which, value in ((resource.RLIMIT_AS, limits.address_space), (resource.RLIMIT_CPU, limits.cpu_seconds),
                         (resource.RLIMIT_FSIZE, limits.file_size), (resource.RLIMIT_NOFILE, limits.open_files)):
        try:
            resource.prlimit(pid, which, (value, value))
        except (ProcessLookupError, PermissionError, ValueError):
            pass


class Launcher:
    """Base: subclasses say how to start the child and what isolation it gets."""

    layers: tuple[str, ...] = ()

    def plan(self, child_script: Path, submission: Path, tmpdir: Path) -> LaunchPlan:
        raise NotImplementedError


class ProcessLauncher(Launcher):
    layers = ("process", "rlimits", "scrubbed-env")

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits

    def plan(self, child_script: Path, submission: Path, tmpdir: Path) -> LaunchPlan:
        return LaunchPlan(
            argv_prefix=[sys.executable, "-I", "-S", "-B"],
            child_script=str(child_script),
            env=child_env(str(tmpdir)),
            cwd=str(tmpdir),
            child_paths=numpy_paths(),
            submission_path=str(submission),
            tmpdir=str(tmpdir),
            after_start=lambda pid: set_limits(pid, self.limits),
        )
