"""`grader doctor`: which isolation layers work here (bubblewrap, Landlock, seccomp,
cgroups...), why the others don't, and canary attacks run through the real sandbox
(the default launcher, or the one GRADER_SANDBOX names) to prove it.

The canaries run with the honest-message audit hook off, so what stops them is
a real layer (namespaces, seccomp, uid), never the hook.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.sandbox import cgroup, landlock
from grader.sandbox.layers import (INSTRUCTOR_LAYERS, LayerStatus, bwrap_status, default_launcher, landlock_status,
                                   layer_report)

CANARY = '''
import os
def read_secret(path):
    return len(open(path).read())
def open_socket(port):
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(("127.0.0.1", int(port)))
    return 1.0
def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return 1.0
def write_outside(path):
    with open(path, "w") as handle:
        handle.write("canary")
    return 1.0
'''


@dataclass
class Canary:
    name: str
    blocked: bool
    detail: str


@dataclass
class DoctorReport:
    launcher: str
    bwrap: str
    layers: list[LayerStatus]
    canaries: list[Canary] = field(default_factory=list)
    missing_for_instructor: list[str] = field(default_factory=list)
    landlock: str = ""
    cgroup: str = ""

    @property
    def ok(self) -> bool:
        return all(c.blocked for c in self.canaries)

    def as_dict(self) -> dict:
        return {"launcher": self.launcher, "bwrap": self.bwrap, "landlock": self.landlock, "cgroup": self.cgroup,
                "ok": self.ok,
                "instructor_grading": not self.missing_for_instructor,
                "missing_for_instructor": self.missing_for_instructor,
                "layers": [asdict(s) for s in self.layers], "canaries": [asdict(c) for c in self.canaries]}


def _describe(outcome) -> str:
    if outcome.status == "ok":
        return "succeeded"
    if outcome.error is not None:
        return f"{outcome.error.type}: {outcome.error.message}"[:200]
    return outcome.detail[:200]


def run_canaries(launcher) -> list[Canary]:
    from grader.sandbox.process import Sandbox

    results: list[Canary] = []
    with tempfile.TemporaryDirectory(prefix="grader-doctor-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        secret = root / "secret.txt"
        secret.write_text(secrets.token_hex(16))
        secret.chmod(0o644)
        outside = root / "written-by-canary"
        sub = root / "canary.py"
        sub.write_text(textwrap.dedent(CANARY))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(0.3)
        port = listener.getsockname()[1]
        previous = os.environ.get("GRADER_SANDBOX_AUDIT")
        os.environ["GRADER_SANDBOX_AUDIT"] = "0"
        try:
            with Sandbox(sub, filename="canary.py", launcher=launcher, call_timeout=10, total_timeout=60) as box:
                loaded = box.load()
                if loaded.status != "ok":
                    why = loaded.detail or (loaded.error.message if loaded.error else loaded.status)
                    return [Canary("sandbox start", False, f"the canary could not run: {why}")]
                out = box.call("read_secret", [str(secret)])
                results.append(Canary("read a secret file", out.status != "ok", _describe(out)))
                out = box.call("open_socket", [port])
                try:
                    conn, _ = listener.accept()
                    conn.close()
                    received = True
                except OSError:
                    received = False
                results.append(Canary("open a socket", out.status != "ok" and not received,
                                      "a connection reached the grader's listener" if received else _describe(out)))
                out = box.call("fork", [])
                results.append(Canary("fork a process", out.status != "ok", _describe(out)))
                out = box.call("write_outside", [str(outside)])
                written = outside.exists()
                results.append(Canary("write outside the temp dir", out.status != "ok" and not written,
                                      f"{outside} was written" if written else _describe(out)))
        finally:
            listener.close()
            if previous is None:
                os.environ.pop("GRADER_SANDBOX_AUDIT", None)
            else:
                os.environ["GRADER_SANDBOX_AUDIT"] = previous
    return results


def _landlock_text() -> str:
    ok, why = landlock_status()
    abi = landlock.abi_version()[0]
    if ok:
        return f"works (ABI {abi})"
    return why + (f" (the kernel offers ABI {abi})" if abi else "")


def _cgroup_text() -> str:
    st = cgroup.status()
    if not st.works:
        return st.why
    limits = "memory.max and pids.max set" if st.limits else f"no memory/pids limits: {st.limits_why}"
    return f"works under {st.base} (cgroup.kill; {limits})"


def diagnose(canaries: bool = True) -> DoctorReport:
    launcher = default_launcher()
    ok, why = bwrap_status()
    report = DoctorReport(launcher=type(launcher).__name__, bwrap="works" if ok else why,
                          layers=layer_report(launcher),
                          missing_for_instructor=[n for n in INSTRUCTOR_LAYERS if n not in launcher.layers],
                          landlock=_landlock_text(), cgroup=_cgroup_text())
    if canaries:
        report.canaries = run_canaries(launcher)
    return report
