"""Which isolation layers this machine offers, which launcher to use, and the policy.

`default_launcher()` picks the strongest launcher that works here: bubblewrap
(probed once per process, by starting a trivial Python in the real sandbox), else
Landlock (where namespaces are refused), else the bare process. `require_layers()`
is for instructor commands: it raises `UnsafeError` (exit 3) naming each missing
layer and its fix; Landlock's confinement counts as filesystem confinement.

`GRADER_SANDBOX=auto|bwrap|landlock|process` overrides the choice: `landlock`
skips bubblewrap (simulates a machine whose namespaces are refused), `process`
skips both (a machine with neither). `GRADER_SANDBOX_CGROUP=0` turns cgroups off.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import lru_cache

from grader.errors import UnsafeError, UsageError
from grader.sandbox import cgroup, landlock
from grader.sandbox.launch import BwrapLauncher, LandlockLauncher, Launcher, ProcessLauncher

# Layers an instructor command refuses to run without.
INSTRUCTOR_LAYERS = ("filesystem", "seccomp")
CHOICES = ("auto", "bwrap", "landlock", "process")

USERNS_FIX = ("allow user namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu 24.04+ "
              "kernel.apparmor_restrict_unprivileged_userns=0), or run the grader as root")
FIXES = {
    "filesystem": "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and " + USERNS_FIX
                  + "; or use a kernel with Landlock (Linux 5.13+, landlock in the lsm= boot parameter)",
    "landlock": "not needed where bubblewrap works; elsewhere use Linux 5.13+ with landlock in lsm=",
    "network": "bubblewrap gives the child an empty network namespace: install it and " + USERNS_FIX,
    "network-tcp": "use Linux 6.7+ (Landlock ABI 4) to deny TCP in Landlock too",
    "signal-scope": "use Linux 6.12+ (Landlock ABI 6) to scope signals and abstract sockets",
    "pid-namespace": "bubblewrap gives the child its own PID namespace: install it and " + USERNS_FIX,
    "ipc-namespace": "bubblewrap gives the child its own IPC namespace: install it and " + USERNS_FIX,
    "no-capabilities": "install bubblewrap (it drops every capability), or install Python where other "
                       "users can read it (not under a 0700 /root) so a root grader's child needs none",
    "unprivileged-uid": "install setpriv (util-linux) so a root grader can drop the child to a slot uid",
    "seccomp": "use Linux on x86_64 or aarch64 with a kernel built with CONFIG_SECCOMP_FILTER",
    "no-new-privs": "use Linux with seccomp support",
    "cgroup": "make a cgroup v2 hierarchy writable for the grader (run as root, or in a delegated "
              "cgroup: systemd-run --user --scope -p Delegate=yes grader ...)",
    "cgroup-limits": "boot with the unified cgroup v2 hierarchy (systemd.unified_cgroup_hierarchy=1) so the "
                     "memory and pids controllers are available, and run the grader in a delegated cgroup",
}
NAMESPACE_LAYERS = ("network", "pid-namespace", "ipc-namespace")
LANDLOCK_LAYERS = ("landlock", "network-tcp", "signal-scope")
ALL_LAYERS = ("process", "rlimits", "scrubbed-env", "filesystem", "network", "pid-namespace", "ipc-namespace",
              "no-capabilities", "unprivileged-uid", "seccomp", "no-new-privs", "cgroup", "cgroup-limits")


@dataclass(frozen=True)
class LayerStatus:
    name: str
    active: bool
    why: str = ""
    fix: str = ""


def _choice() -> str:
    choice = os.environ.get("GRADER_SANDBOX", "auto") or "auto"
    if choice not in CHOICES:
        raise UsageError(f"GRADER_SANDBOX={choice} is not one of {', '.join(CHOICES)}")
    return choice


@lru_cache(maxsize=8)
def _probe_bwrap(bwrap: str) -> tuple[bool, str]:
    return BwrapLauncher(bwrap=bwrap).probe()


def bwrap_status() -> tuple[bool, str]:
    """(bubblewrap works here, why not); cached per process and bwrap path."""
    choice = os.environ.get("GRADER_SANDBOX", "auto")
    if choice in ("process", "landlock"):
        return False, f"disabled by GRADER_SANDBOX={choice}"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, "bubblewrap (bwrap) is not installed or not on PATH"
    return _probe_bwrap(bwrap)


def landlock_status() -> tuple[bool, str]:
    """(Landlock works here, why not)."""
    return landlock.status()


def default_launcher() -> Launcher:
    """The strongest launcher that works on this machine (or the one GRADER_SANDBOX names)."""
    choice = _choice()
    if choice in ("auto", "bwrap"):
        ok, why = bwrap_status()
        if ok:
            return BwrapLauncher(bwrap=shutil.which("bwrap"))
        if choice == "bwrap":
            raise UnsafeError(f"GRADER_SANDBOX=bwrap but bubblewrap does not work here ({why}); "
                              f"fix: {FIXES['filesystem']}")
    if choice in ("auto", "landlock"):
        ok, why = landlock_status()
        if ok:
            return LandlockLauncher()
        if choice == "landlock":
            raise UnsafeError(f"GRADER_SANDBOX=landlock but Landlock does not work here ({why}); "
                              "fix: use Linux 5.13+ with landlock in the lsm= boot parameter")
    return ProcessLauncher()


def _layer_names(launcher: Launcher) -> tuple[str, ...]:
    if isinstance(launcher, LandlockLauncher):
        return ALL_LAYERS[:4] + LANDLOCK_LAYERS + ALL_LAYERS[4:]
    return ALL_LAYERS


def _why_missing(name: str, launcher: Launcher) -> str:
    from grader.sandbox.seccomp import supported

    seccomp_ok, seccomp_why = supported()
    bwrap_ok, bwrap_why = bwrap_status()
    if name in ("seccomp", "no-new-privs") and not seccomp_ok:
        return seccomp_why
    if name in ("cgroup", "cgroup-limits"):
        st = cgroup.status()
        if not st.works:
            return st.why
        if name == "cgroup-limits" and st.limits_why:
            return st.limits_why
        return "turned off for this launcher"
    if isinstance(launcher, BwrapLauncher):
        if name == "unprivileged-uid":
            return "running as root without setpriv"
        return "not provided by this launcher"
    if isinstance(launcher, LandlockLauncher):
        if name in NAMESPACE_LAYERS:
            return f"needs bubblewrap's namespaces ({bwrap_why or 'not used'})"
        if name in ("network-tcp", "signal-scope"):
            return f"this kernel's Landlock is ABI {launcher.abi}"
        if name == "no-capabilities":
            return ("the child keeps CAP_DAC_READ_SEARCH: the Python install or the temp dir is not "
                    "readable by other users")
        return "not provided by this launcher"
    ll_ok, ll_why = landlock_status()
    if name == "filesystem":
        return f"bubblewrap: {bwrap_why or 'not used'}; Landlock: {ll_why or 'not used'}"
    return bwrap_why or "bubblewrap is not used"


def layer_report(launcher: Launcher | None = None) -> list[LayerStatus]:
    """Every layer that matters for `launcher` (default: the default one), whether it is
    active, and why not with the fix."""
    launcher = launcher or default_launcher()
    out = []
    for name in _layer_names(launcher):
        active = name in launcher.layers
        why = "" if active else _why_missing(name, launcher)
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
