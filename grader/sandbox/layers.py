"""Which isolation layers this machine offers, which launcher to use, and the policy.

`default_launcher()` picks the strongest launcher that works here (bubblewrap is
probed once per process, by starting a trivial Python in the real sandbox).
`require_layers()` is for instructor commands: it raises `UnsafeError` (exit 3)
naming each missing layer and its fix. `GRADER_SANDBOX=auto|bwrap|process`
overrides the choice (`process` simulates a machine without bubblewrap).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import lru_cache

from grader.errors import UnsafeError
from grader.sandbox.launch import BwrapLauncher, Launcher, ProcessLauncher

# Layers an instructor command refuses to run without.
INSTRUCTOR_LAYERS = ("filesystem", "seccomp")

FIXES = {
    "filesystem": "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow user namespaces "
                  "(sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu 24.04+ "
                  "kernel.apparmor_restrict_unprivileged_userns=0), or run the grader as root",
    "network": "install bubblewrap so the child gets an empty network namespace",
    "pid-namespace": "install bubblewrap so the child gets its own PID namespace",
    "ipc-namespace": "install bubblewrap so the child gets its own IPC namespace",
    "no-capabilities": "install bubblewrap (it drops every capability)",
    "unprivileged-uid": "install setpriv (util-linux) so a root grader can drop the child to a slot uid",
    "seccomp": "use Linux on x86_64 or aarch64 with a kernel built with CONFIG_SECCOMP_FILTER",
    "no-new-privs": "use Linux with seccomp support",
}


@dataclass(frozen=True)
class LayerStatus:
    name: str
    active: bool
    why: str = ""
    fix: str = ""


@lru_cache(maxsize=8)
def _probe_bwrap(bwrap: str) -> tuple[bool, str]:
    return BwrapLauncher(bwrap=bwrap).probe()


def bwrap_status() -> tuple[bool, str]:
    """(bubblewrap works here, why not); cached per process and bwrap path."""
    if os.environ.get("GRADER_SANDBOX", "auto") == "process":
        return False, "disabled by GRADER_SANDBOX=process"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, "bubblewrap (bwrap) is not installed or not on PATH"
    return _probe_bwrap(bwrap)


def default_launcher() -> Launcher:
    """The strongest launcher that works on this machine."""
    choice = os.environ.get("GRADER_SANDBOX", "auto")
    ok, why = bwrap_status()
    if ok:
        return BwrapLauncher(bwrap=shutil.which("bwrap"))
    if choice == "bwrap":
        raise UnsafeError(f"GRADER_SANDBOX=bwrap but bubblewrap does not work here ({why}); "
                          f"fix: {FIXES['filesystem']}")
    return ProcessLauncher()


ALL_LAYERS = ("process", "rlimits", "scrubbed-env", "filesystem", "network", "pid-namespace", "ipc-namespace",
              "no-capabilities", "unprivileged-uid", "seccomp", "no-new-privs")


def layer_report(launcher: Launcher | None = None) -> list[LayerStatus]:
    """Every known layer, whether `launcher` (default: the default one) gives it, and why not."""
    from grader.sandbox.seccomp import supported

    launcher = launcher or default_launcher()
    ok, bwrap_why = bwrap_status()
    seccomp_ok, seccomp_why = supported()
    out = []
    for name in ALL_LAYERS:
        active = name in launcher.layers
        why = ""
        if not active:
            if name in ("seccomp", "no-new-privs") and not seccomp_ok:
                why = seccomp_why
            elif name == "unprivileged-uid" and isinstance(launcher, BwrapLauncher):
                why = "running as root without setpriv"
            elif not isinstance(launcher, BwrapLauncher):
                why = bwrap_why or "bubblewrap is not used"
            else:
                why = "not provided by this launcher"
        out.append(LayerStatus(name, active, why, "" if active else FIXES.get(name, "")))
    return out


def require_layers(launcher: Launcher, needed: tuple[str, ...] = INSTRUCTOR_LAYERS) -> None:
    """Raise UnsafeError (exit 3) unless `launcher` gives every layer in `needed`."""
    missing = [n for n in needed if n not in launcher.layers]
    if not missing:
        return
    statuses = {s.name: s for s in layer_report(launcher)}
    parts = []
    for name in missing:
        st = statuses.get(name)
        why = f" ({st.why})" if st and st.why else ""
        parts.append(f"{name}{why}; fix: {FIXES.get(name, 'see grader doctor')}")
    raise UnsafeError("this machine cannot grade untrusted code safely: missing " + " | ".join(parts)
                      + ". Run `grader doctor` for details.")
