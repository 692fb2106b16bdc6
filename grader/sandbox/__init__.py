"""The sandbox: the only part of the grader that starts processes.

Public names: `Sandbox` (one submission's child process), `CallOutcome`,
`LoadResult`, `StudentError`, `Returned`, `Outputs`, and `default_launcher()`.
"""

from grader.sandbox.launch import Launcher, ProcessLauncher
from grader.sandbox.process import CallOutcome, FunctionInfo, LoadResult, Sandbox, StudentError
from grader.sandbox.values import Outputs, Returned


def default_launcher() -> Launcher:
    return ProcessLauncher()


__all__ = ["CallOutcome", "FunctionInfo", "Launcher", "LoadResult", "Outputs", "ProcessLauncher", "Returned",
           "Sandbox", "StudentError", "default_launcher"]
