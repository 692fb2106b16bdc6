"""The sandbox: the only part of the grader that starts processes.

Public names: `Sandbox` (one submission's child process), `CallOutcome`,
`LoadResult`, `StudentError`, `Returned`, `Outputs`, the launchers,
`default_launcher()` (the strongest that works here), `require_layers()`
(instructor policy: exit 3 when a layer is missing) and `layer_report()`.
"""

from grader.sandbox.launch import BwrapLauncher, LandlockLauncher, Launcher, Limits, ProcessLauncher
from grader.sandbox.layers import INSTRUCTOR_LAYERS, LayerStatus, default_launcher, layer_report, require_layers
from grader.sandbox.process import CallOutcome, FunctionInfo, LoadResult, Sandbox, StudentError
from grader.sandbox.values import Outputs, Returned

__all__ = ["BwrapLauncher", "CallOutcome", "LandlockLauncher", "FunctionInfo", "INSTRUCTOR_LAYERS", "LayerStatus", "Launcher", "Limits",
           "LoadResult", "Outputs", "ProcessLauncher", "Returned", "Sandbox", "StudentError", "default_launcher",
           "layer_report", "require_layers"]
