"""cgroup v2: each child in a cgroup of its own, ended whole with cgroup.kill.

Where a cgroup v2 hierarchy is writable, every child (with anything it starts,
bubblewrap included) runs in a leaf cgroup. At the end the grader writes
`cgroup.kill`, which SIGKILLs every process in the leaf at once, wherever it
moved in the process tree (a setsid survivor, a double fork), then removes the
leaf. Where the memory and pids controllers are available to us, the leaf also
gets `memory.max` (a little above the address-space limit, so that the rlimit's
clean MemoryError comes first), `memory.swap.max` 0 and `pids.max`.

Leaves live under `<cgroup2 mount>/grader/` when the grader runs in the root
cgroup (a root container, a VM), else under the grader's own cgroup when that is
delegated to it (systemd `Delegate=yes`). A leaf is named after the grader's PID
namespace and pid; leaves of a grader of the same namespace that died are killed
and removed the next time a grader starts one. `GRADER_SANDBOX_CGROUP=0`
turns the layer off. Nothing here is needed for safety when it is missing: the
process group, the PID namespace and seccomp still end every child.

The child joins its leaf before it runs anything: the launch command starts
with `/bin/sh -c 'echo 0 > LEAF/cgroup.procs && exec ...'`, so there is no
window in which a process of the child lives outside it. If joining fails the
child does not start (the grader reports that the sandbox could not start).
"""

from __future__ import annotations

import errno
import itertools
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache

PIDS_MAX = 16  # bwrap, its init, setpriv/prlimit exec in place, the child: a handful
MEMORY_SLACK = 256 << 20
_counter = itertools.count()


@dataclass(frozen=True)
class CgroupStatus:
    works: bool
    why: str = ""
    base: str = ""
    limits: bool = False
    limits_why: str = ""


def _mount_point() -> tuple[str, str] | None:
    """(mount point, root within the hierarchy) of the cgroup2 filesystem."""
    found = []
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                left, _, right = line.partition(" - ")
                if right.split(" ", 1)[0] == "cgroup2":
                    fields = left.split()
                    found.append((fields[4], fields[3]))
    except OSError:
        return None
    if not found:
        return None
    found.sort(key=lambda f: (f[0] != "/sys/fs/cgroup", f[0] != "/sys/fs/cgroup/unified"))
    return found[0]


def _own_cgroup() -> str | None:
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                if line.startswith("0::"):
                    return line[3:].strip()
    except OSError:
        pass
    return None


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _locate() -> tuple[str, str]:
    """(base directory for our leaves, why not)."""
    mount = _mount_point()
    if mount is None:
        return "", "no cgroup v2 hierarchy is mounted (cgroup v1 only, or no /sys/fs/cgroup)"
    point, root = mount
    own = _own_cgroup()
    if own is None:
        return "", "this process is not in a cgroup v2 hierarchy"
    if not (own == root or own.startswith(root.rstrip("/") + "/")):
        return "", f"this process's cgroup {own} is outside the mounted hierarchy at {point}"
    own_dir = os.path.join(point, own[len(root):].lstrip("/"))
    if os.path.realpath(own_dir) == os.path.realpath(point):
        return os.path.join(point, "grader"), ""
    return own_dir, ""


def _enable_controllers(base: str) -> tuple[bool, str]:
    try:
        available = set(_read(os.path.join(base, "cgroup.controllers")).split())
    except OSError as exc:
        return False, f"cannot read {base}/cgroup.controllers: {exc.strerror}"
    missing = {"memory", "pids"} - available
    if missing:
        return False, (f"the {' and '.join(sorted(missing))} controller{'s are' if len(missing) > 1 else ' is'} "
                       f"not available to {base} (on a hybrid hierarchy they are bound to cgroup v1; or the "
                       "parent cgroup does not delegate them)")
    enabled = set(_read(os.path.join(base, "cgroup.subtree_control")).split())
    if not {"memory", "pids"} <= enabled:
        try:
            _write(os.path.join(base, "cgroup.subtree_control"), "+memory +pids")
        except OSError as exc:
            why = ("the grader's own cgroup holds processes, so it cannot hand controllers to leaves; run the "
                   "grader in a delegated cgroup of its own (systemd-run --scope -p Delegate=yes)"
                   if exc.errno == errno.EBUSY else exc.strerror)
            return False, f"cannot enable memory and pids in {base}: {why}"
    return True, ""


def _probe() -> CgroupStatus:
    if os.environ.get("GRADER_SANDBOX_CGROUP", "1") == "0":
        return CgroupStatus(False, "disabled by GRADER_SANDBOX_CGROUP=0")
    base, why = _locate()
    if not base:
        return CgroupStatus(False, why)
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as exc:
        return CgroupStatus(False, f"cannot create {base}: {exc.strerror} (the cgroup hierarchy is not writable)")
    if not os.access(base, os.W_OK):
        return CgroupStatus(False, f"{base} is not writable")
    limits, limits_why = _enable_controllers(base)
    leaf = os.path.join(base, f"probe-{_pid_namespace()}-{os.getpid()}")
    try:
        os.mkdir(leaf)
    except FileExistsError:
        pass
    except OSError as exc:
        return CgroupStatus(False, f"cannot create a cgroup under {base}: {exc.strerror}")
    try:
        if not os.path.exists(os.path.join(leaf, "cgroup.kill")):
            return CgroupStatus(False, "the kernel has no cgroup.kill (Linux 5.14+ needed)")
        # A real process must be able to join (delegation rules apply to the move).
        proc = subprocess.run(["/bin/sh", "-c", 'echo 0 > "$0"', os.path.join(leaf, "cgroup.procs")],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            return CgroupStatus(False, f"a process cannot join a cgroup under {base}: {err[-1] if err else proc.returncode}")
    except (OSError, subprocess.SubprocessError) as exc:
        return CgroupStatus(False, f"cgroup probe failed: {exc}")
    finally:
        _remove(leaf)
    return CgroupStatus(True, "", base, limits, limits_why)


@lru_cache(maxsize=1)
def _cached_status(key: str) -> CgroupStatus:
    return _probe()


def status() -> CgroupStatus:
    """Whether children get a cgroup of their own here (probed once per process)."""
    return _cached_status(os.environ.get("GRADER_SANDBOX_CGROUP", "1"))


def _remove(path: str, wait: float = 2.0) -> bool:
    end = time.monotonic() + wait
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() >= end:
                return False
            time.sleep(0.005)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_swept: set[str] = set()


def _pid_namespace() -> str:
    """This process's PID namespace: a pid in a leaf's name means something only inside it
    (graders in other containers may share the hierarchy)."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def _owner(name: str) -> int | None:
    """The pid of the grader (in our PID namespace) that made leaf `name`, if any."""
    parts = name.split("-")
    if len(parts) >= 3 and parts[0] in ("leaf", "probe") and parts[1] == _pid_namespace() and parts[2].isdigit():
        return int(parts[2])
    return None


def _sweep(base: str) -> None:
    """Kill and remove leaves left by graders of this PID namespace that died."""
    if base in _swept:
        return
    _swept.add(base)
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        owner = _owner(name)
        if owner is not None and owner != os.getpid() and not _alive(owner):
            leaf = Leaf(os.path.join(base, name))
            leaf.kill()
            leaf.remove()


class Leaf:
    """One child's cgroup."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.procs = os.path.join(path, "cgroup.procs")

    def kill(self) -> None:
        """SIGKILL every process in the leaf."""
        try:
            _write(os.path.join(self.path, "cgroup.kill"), "1")
            return
        except FileNotFoundError:
            if not os.path.isdir(self.path):
                return
        except OSError:
            pass
        try:  # no cgroup.kill: signal each member
            for pid in _read(self.procs).split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError, ValueError):
                    pass
        except OSError:
            pass

    def remove(self) -> None:
        if not _remove(self.path, wait=0.2):
            self.kill()
            _remove(self.path, wait=2.0)

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv`, run from inside this leaf (joined before anything of it runs)."""
        return ["/bin/sh", "-c", 'echo 0 > "$0" && exec "$@"', self.procs, *argv]


def create_leaf(memory_max: int) -> Leaf | None:
    """A new leaf for one child, or None where cgroups are not used.

    Raises OSError when cgroups work here but this leaf cannot be made (the caller
    fails closed rather than run without a layer it recorded).
    """
    st = status()
    if not st.works:
        return None
    _sweep(st.base)
    path = os.path.join(st.base, f"leaf-{_pid_namespace()}-{os.getpid()}-{next(_counter)}")
    os.mkdir(path)
    leaf = Leaf(path)
    if st.limits:
        try:
            _write(os.path.join(path, "memory.max"), str(memory_max + MEMORY_SLACK))
            if os.path.exists(os.path.join(path, "memory.swap.max")):
                _write(os.path.join(path, "memory.swap.max"), "0")
            _write(os.path.join(path, "pids.max"), str(PIDS_MAX))
        except OSError:
            leaf.remove()
            raise
    return leaf
