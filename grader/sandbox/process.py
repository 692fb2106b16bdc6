"""One child process running a submission, spoken to over the wire protocol.

`Sandbox` is the parent's handle: it starts the child (through a launcher
that applies the isolation layers), loads the submission, calls functions
with deadlines, restarts the child after a crash or timeout, captures the
child's output (capped), and kills the child's whole process group at the end.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.errors import UnsafeError
from grader.sandbox import wire
from grader.sandbox.launch import Launcher, LaunchPlan
from grader.sandbox.values import BadValue, Outputs, Returned, decode_outputs, decode_value, encode_args

OUTPUT_CAP = 64 * 1024
CHILD_SCRIPT = Path(__file__).with_name("child.py")

Status = Literal["ok", "error", "timeout", "crash", "violation"]


@dataclass(frozen=True)
class StudentError:
    """An exception raised by student code, as the child described it."""

    type: str
    message: str
    line: int | None
    not_implemented: bool

    @classmethod
    def from_header(cls, raw: object) -> "StudentError":
        raw = raw if isinstance(raw, dict) else {}
        line = raw.get("line")
        return cls(
            type=str(raw.get("type", "Exception"))[:100],
            message=str(raw.get("message", ""))[:2000],
            line=line if type(line) is int else None,
            not_implemented=raw.get("not_implemented") is True,
        )


@dataclass(frozen=True)
class FunctionInfo:
    params: tuple[str, ...] | None
    line: int | None


@dataclass(frozen=True)
class LoadResult:
    status: Status
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    error: StudentError | None = None
    detail: str = ""


@dataclass(frozen=True)
class CallOutcome:
    status: Status
    outputs: Outputs | None = None
    args_after: tuple[Returned, ...] = ()
    error: StudentError | None = None
    detail: str = ""


class _OutputSink:
    """Drains a child's stdout+stderr, keeping the first OUTPUT_CAP bytes."""

    def __init__(self) -> None:
        self.kept = bytearray()
        self.dropped = 0
        self.lock = threading.Lock()

    def drain(self, fd: int) -> None:
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                with self.lock:
                    room = OUTPUT_CAP - len(self.kept)
                    self.kept += chunk[:room]
                    self.dropped += max(0, len(chunk) - room)
        except OSError:
            pass
        finally:
            os.close(fd)

    def text(self) -> str:
        with self.lock:
            text = self.kept.decode("utf-8", "replace")
            if self.dropped:
                text += f"\n[... {self.dropped} more bytes of output dropped]"
            return text


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "the submission's process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = {"SIGSEGV": " (a segmentation fault, e.g. from ctypes or too deep recursion)", "SIGKILL": " (killed, e.g. for using too much memory)",
                "SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file size limit)"}.get(name, "")
        return f"the submission's process was killed by {name}{hint}"
    return f"the submission's process exited with code {code}"


def _unapplied(plan: LaunchPlan, applied: object) -> list[str]:
    """Layers the plan asked the child to apply itself that its ready frame does not confirm."""
    applied = [str(a) for a in applied] if isinstance(applied, list) else []
    missing = []
    if plan.setup_extra.get("seccomp") and "seccomp" not in applied:
        missing.append("the syscall filter")
    if plan.setup_extra.get("landlock") and not any(a.startswith("landlock-abi-") for a in applied):
        missing.append("Landlock")
    if isinstance(plan.setup_extra.get("user"), dict) and "user" not in applied:
        missing.append("the uid and capability drop")
    return missing


class _Child:
    def __init__(self, plan: LaunchPlan, sink: _OutputSink) -> None:
        self.plan = plan
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        out_r, out_w = os.pipe()
        argv = [*plan.argv_prefix, str(plan.child_script), str(to_child_r), str(from_child_w)]
        if plan.cgroup is not None:
            argv = plan.cgroup.wrap(argv)
        try:
            self.proc = subprocess.Popen(  # noqa: S603
                argv, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                pass_fds=(to_child_r, from_child_w), env=plan.env, cwd=plan.cwd,
                start_new_session=True, close_fds=True,
            )
        except BaseException:
            for fd in (self.to_child, self.from_child, out_r):
                os.close(fd)
            plan.release()
            if plan.cgroup is not None:
                plan.cgroup.remove()
            raise
        finally:
            for fd in (to_child_r, from_child_w, out_w):
                os.close(fd)
        plan.after_start(self.proc.pid)
        threading.Thread(target=sink.drain, args=(out_r,), daemon=True).start()

    def kill(self, grace: float = 0.0) -> None:
        if grace:
            try:  # a child that died on its own: let the launcher report its real exit status
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # A PID namespace's init first: its death takes every process inside with it, and
        # the launcher (bwrap) exits only once they are all gone.
        reaper = self.plan.reaper_pid(self.proc.pid) if self.proc.poll() is None else None
        if reaper is not None:
            try:
                os.kill(reaper, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass
        if self.plan.cgroup is not None:
            self.plan.cgroup.kill()  # every process of the child, wherever it went
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()
        if self.plan.cgroup is not None:
            self.plan.cgroup.remove()
        self.plan.release()
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass

    def exit_detail(self) -> str:
        try:
            code = self.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and self.plan.signal_as_code and 128 < code < 128 + 65:
            code = -(code - 128)
        return _describe_exit(code)


class Sandbox:
    """Runs one submission's functions in a child process.

    Usage: `start()` early (the child imports numpy while the parent works),
    then `load()`, then `call()` as often as needed, then `close()`.
    """

    def __init__(self, submission: Path, *, filename: str, launcher: Launcher,
                 call_timeout: float, total_timeout: float) -> None:
        self.submission = Path(submission).absolute()
        self.filename = filename
        self.launcher = launcher
        self.call_timeout = call_timeout
        self.total_timeout = total_timeout
        self._sink = _OutputSink()
        self._child: _Child | None = None
        self._loaded: LoadResult | None = None
        self._deadline: float | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="grader-sandbox-")

    @property
    def layers(self) -> list[str]:
        return list(self.launcher.layers)

    def start(self) -> None:
        if self._deadline is None:
            self._started = time.monotonic()
            self._deadline = self._started + self.total_timeout
        if self._child is None:
            plan = self.launcher.plan(CHILD_SCRIPT, self.submission, Path(self._tmp.name))
            self._child = _Child(plan, self._sink)
            setup = {"paths": plan.child_paths, "submission": plan.submission_path, "filename": self.filename,
                     "tmpdir": plan.tmpdir, **plan.setup_extra}
            try:
                wire.write_frame(self._child.to_child, setup)
            except OSError:
                pass  # the child died at once; load() reports it

    def _drop_child(self, grace: float = 0.0) -> str:
        child, self._child = self._child, None
        if child is None:
            return ""
        child.kill(grace)
        return child.exit_detail()

    def _deadline_for_call(self) -> float:
        assert self._deadline is not None
        return min(self._deadline, time.monotonic() + self.call_timeout)

    def load(self) -> LoadResult:
        """Import the submission (restarting the child when needed)."""
        if self._child is not None and self._loaded is not None:
            return self._loaded
        self.start()
        assert self._child is not None
        if time.monotonic() >= self._deadline:
            return LoadResult("timeout", detail="the time budget for this submission is used up")
        deadline = min(self._deadline, time.monotonic() + max(self.call_timeout, 10.0))
        try:
            ready, _ = wire.read_frame(self._child.from_child, deadline=deadline, max_payload=0)
        except wire.WireTimeout:
            self._drop_child()
            return LoadResult("timeout", detail="the sandbox did not start in time")
        except wire.WireError:
            detail = self._drop_child(grace=1.0)
            return LoadResult("crash", detail=f"the sandbox could not start ({detail}); run `grader doctor`")
        if ready.get("ready") is not True:
            self._drop_child()
            raise UnsafeError(f"{str(ready.get('detail', 'the sandbox could not start'))[:300]}; run `grader doctor`")
        missing = _unapplied(self._child.plan, ready.get("layers"))
        if missing:
            self._drop_child()
            raise UnsafeError(f"the sandbox's child did not apply {', '.join(missing)}; run `grader doctor`")
        try:
            header, _ = wire.read_frame(self._child.from_child, deadline=deadline, max_payload=0)
        except wire.WireTimeout:
            self._drop_child()
            return LoadResult("timeout", detail="importing the submission did not finish in time")
        except wire.WireError:
            return LoadResult("crash", detail=self._drop_child(grace=1.0))
        if header.get("ok") is not True:
            self._drop_child()
            return LoadResult("error", error=StudentError.from_header(header.get("error")))
        functions = {}
        raw = header.get("functions")
        for name, info in (raw.items() if isinstance(raw, dict) else ()):
            if isinstance(info, dict) and len(functions) < 512:
                params = info.get("params")
                params = tuple(str(p)[:100] for p in params) if isinstance(params, list) else None
                line = info.get("line") if type(info.get("line")) is int else None
                functions[name] = FunctionInfo(params, line)
        self._loaded = LoadResult("ok", functions=functions)
        return self._loaded

    def set_timeouts(self, *, call_timeout: float, total_timeout: float) -> None:
        """Adjust the budgets once the assignment is known (before load())."""
        self.call_timeout = call_timeout
        self.total_timeout = total_timeout
        if self._deadline is not None:
            self._deadline = self._started + total_timeout

    def call(self, function: str, args: list) -> CallOutcome:
        if self._child is None or self._loaded is None:
            self._loaded = None
            loaded = self.load()
            if loaded.status != "ok":
                return CallOutcome(loaded.status, error=loaded.error, detail=loaded.detail)
        child = self._child
        assert child is not None
        if time.monotonic() >= self._deadline:
            self._drop_child()
            return CallOutcome("timeout", detail="the time budget for this submission is used up")
        request_id = secrets.token_hex(8)
        metas, payload = encode_args(args)
        try:
            wire.write_frame(child.to_child, {"op": "call", "id": request_id, "fn": function, "args": metas}, payload)
            header, data = wire.read_frame(child.from_child, deadline=self._deadline_for_call())
        except wire.WireTimeout:
            self._drop_child()
            return CallOutcome("timeout", detail=f"{function} did not return within {self.call_timeout:g} s")
        except (wire.WireError, OSError) as exc:
            detail = self._drop_child(grace=1.0 if isinstance(exc, (wire.WireClosed, OSError)) else 0.0)
            if isinstance(exc, wire.WireClosed) or isinstance(exc, OSError):
                return CallOutcome("crash", detail=detail)
            return CallOutcome("violation", detail=f"the submission corrupted the grader's channel ({exc})")
        if header.get("id") != request_id or wire.pending(child.from_child):
            self._drop_child()
            return CallOutcome("violation", detail="the submission wrote to the grader's channel")
        if header.get("ok") is not True:
            return CallOutcome("error", error=StudentError.from_header(header.get("error")))
        try:
            outputs = decode_outputs(header.get("result"), data)
            after_meta = header.get("args_after")
            if not isinstance(after_meta, list) or len(after_meta) != len(args):
                raise BadValue("bad args_after")
            after = tuple(decode_value(m, data) for m in after_meta)
        except BadValue as exc:
            self._drop_child()
            return CallOutcome("violation", detail=f"the submission sent a malformed answer ({exc})")
        return CallOutcome("ok", outputs=outputs, args_after=after)

    def output(self) -> str:
        return self._sink.text()

    def close(self) -> None:
        if self._child is not None:
            try:
                wire.write_frame(self._child.to_child, {"op": "exit"})
            except OSError:
                pass
            self._drop_child()
        self._tmp.cleanup()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
