"""Landlock: unprivileged filesystem confinement, the fallback where bubblewrap's
namespaces are refused (unprivileged containers, CI runners whose AppArmor
restricts user namespaces).

The parent decides the rules (here); the child enforces them on itself with
ctypes (`child.py`: landlock_create_ruleset / landlock_add_rule /
landlock_restrict_self, syscalls 444-446 on x86_64 and aarch64) after numpy is
imported and before the submission runs, then installs seccomp. The rules:

- read and execute: the standard library (entry by entry around its
  site-packages), the system's shared-library folders, numpy's own folders, the
  interpreter and libpython;
- read: the submission (a private copy) and the folder that links numpy in;
- read and write: the private temp dir, and /dev/null.

Everything else is denied, /proc and /sys included. With ABI >= 4 every TCP bind
and connect is denied too; with ABI >= 6 the child cannot signal processes outside
its Landlock domain nor reach abstract unix sockets.

Known limits (the other layers cover them): Landlock does not govern stat, path
walks or readlink, so a submission can learn that a path exists (not its
contents); it does not stop UDP or other socket families (seccomp denies socket());
there is no PID namespace, so process ids outside stay addressable by the
syscalls seccomp allows (it denies kill, ptrace and the pid-targeted ones); the
temp dir is on the grader's disk, bounded per file by RLIMIT_FSIZE but not in
number of files; and the child shares the grader's uid unless the grader runs as
root (then it drops to a slot uid).
"""

from __future__ import annotations

import errno
import os
import platform
from functools import lru_cache

SYS_CREATE_RULESET = 444  # the same on x86_64 and aarch64 (and every arch with the unified table)
CREATE_RULESET_VERSION = 1


@lru_cache(maxsize=1)
def abi_version() -> tuple[int, str]:
    """(Landlock ABI version, why not): the version is 0 when Landlock is unusable."""
    if platform.system() != "Linux":
        return 0, f"Landlock is Linux-only (this is {platform.system()})"
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        abi = syscall(ctypes.c_long(SYS_CREATE_RULESET), ctypes.c_void_p(None), ctypes.c_size_t(0),
                      ctypes.c_uint32(CREATE_RULESET_VERSION))
        err = ctypes.get_errno()
    except (OSError, AttributeError) as exc:
        return 0, f"cannot query Landlock: {exc}"
    if abi >= 1:
        return int(abi), ""
    if err == errno.ENOSYS:
        return 0, "the kernel has no Landlock (Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK is needed)"
    if err == errno.EOPNOTSUPP:
        return 0, "Landlock is built into the kernel but not enabled (add landlock to the lsm= boot parameter)"
    if err == errno.EPERM:
        return 0, "a seccomp policy (e.g. a container runtime's default profile) blocks the Landlock syscalls"
    return 0, f"Landlock is unavailable: {os.strerror(err)}"


def status() -> tuple[bool, str]:
    """(Landlock works here, why not), honouring GRADER_SANDBOX=process."""
    if os.environ.get("GRADER_SANDBOX", "auto") == "process":
        return False, "disabled by GRADER_SANDBOX=process"
    abi, why = abi_version()
    return abi >= 1, why


def layers_for(abi: int) -> tuple[str, ...]:
    """The layers Landlock itself gives at this ABI version."""
    layers = ["filesystem", "landlock"]
    if abi >= 4:
        layers.append("network-tcp")
    if abi >= 6:
        layers.append("signal-scope")
    return tuple(layers)
