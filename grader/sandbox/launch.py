"""Launchers: how a child process is started, and which isolation layers that gives.

`ProcessLauncher` is the portable floor: a separate process in its own
session and process group, a scrubbed environment, resource limits
(address space, CPU seconds, file size, open files), a private temp dir,
and parent-side deadlines that end in SIGKILL of the whole group; plus the
seccomp syscall filter where the kernel has one.

`BwrapLauncher` (bubblewrap) adds a minimal read-only filesystem view, and
PID, network, IPC and UTS namespaces; as root, an unprivileged uid per
parallel slot with every capability dropped.

`LandlockLauncher` is the fallback where namespaces are refused: the child
confines its own filesystem (and TCP, signals) with Landlock before the
submission runs; as root it first drops to a slot uid. See
`grader.sandbox.landlock` for the rules and their limits.

Every launcher puts the child in a cgroup of its own where a cgroup v2
hierarchy is writable (`grader.sandbox.cgroup`). See `grader.sandbox.layers`
for detection and policy.
"""

from __future__ import annotations

import os
import resource
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.sandbox import cgroup as cgroups
from grader.sandbox.paths import hide_within, interpreter_files, numpy_dirs, secret_paths, stdlib_paths, within

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
    # Called once the child (and everything it started) is dead: frees its uid slot.
    release: Callable[[], None] = lambda: None
    # The pid whose death ends every process of the child (a PID namespace's init), if any.
    reaper_pid: Callable[[int], int | None] = lambda pid: None
    # The launcher reports a child killed by signal N as exit code 128 + N (bwrap does).
    signal_as_code: bool = False
    # The child's own cgroup (it joins before anything of it runs), where cgroups work here.
    cgroup: "cgroups.Leaf | None" = None


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
    limits: Limits = Limits()
    use_cgroup: bool = False

    def plan(self, child_script: Path, submission: Path, tmpdir: Path) -> LaunchPlan:
        raise NotImplementedError

    def _cgroup_layers(self, enabled: bool | None) -> tuple[str, ...]:
        st = cgroups.status()
        self.use_cgroup = st.works if enabled is None else (enabled and st.works)
        if not self.use_cgroup:
            return ()
        return ("cgroup", "cgroup-limits") if st.limits else ("cgroup",)

    def _leaf(self) -> "cgroups.Leaf | None":
        if not self.use_cgroup:
            return None
        try:
            return cgroups.create_leaf(self.limits.address_space)
        except OSError as exc:
            from grader.errors import UnsafeError

            raise UnsafeError(f"could not create the child's cgroup ({exc}); run `grader doctor`, "
                              "or set GRADER_SANDBOX_CGROUP=0") from None


def audit_enabled() -> bool:
    """The honest-message audit hook; GRADER_SANDBOX_AUDIT=0 turns it off (the attack suite
    does, to prove that the real layers hold without it)."""
    return os.environ.get("GRADER_SANDBOX_AUDIT", "1") != "0"


def _seccomp_setup(enabled: bool) -> dict:
    if not enabled:
        return {}
    from grader.sandbox.seccomp import build_filter

    return {"seccomp": build_filter().hex()}


def _limits_setup(limits: Limits) -> dict:
    return {"rlimits": {"as": limits.address_space, "cpu": limits.cpu_seconds, "fsize": limits.file_size,
                        "nofile": limits.open_files}}


class ProcessLauncher(Launcher):
    def __init__(self, limits: Limits = Limits(), seccomp: bool | None = None, cgroup: bool | None = None) -> None:
        from grader.sandbox.seccomp import supported

        self.limits = limits
        self.seccomp = supported()[0] if seccomp is None else seccomp
        self.layers = (("process", "rlimits", "scrubbed-env") + (("seccomp", "no-new-privs") if self.seccomp else ())
                       + self._cgroup_layers(cgroup))

    def plan(self, child_script: Path, submission: Path, tmpdir: Path) -> LaunchPlan:
        return LaunchPlan(
            argv_prefix=[sys.executable, "-I", "-S", "-B"],
            child_script=str(child_script),
            env=child_env(str(tmpdir)),
            cwd=str(tmpdir),
            child_paths=numpy_paths(),
            submission_path=str(Path(submission).absolute()),
            tmpdir=str(tmpdir),
            setup_extra={"audit": audit_enabled(), **_seccomp_setup(self.seccomp), **_limits_setup(self.limits)},
            after_start=lambda pid: set_limits(pid, self.limits),
            cgroup=self._leaf(),
        )


# ----------------------------------------------------------------------------------------------
# bubblewrap

SANDBOX_BIN = "/sandbox/bin"
SANDBOX_SITE = "/sandbox/site"
SANDBOX_SUBMISSION = "/sandbox/submission.py"
SANDBOX_TMP = "/tmp"
TMP_SIZE = 64 << 20
SLOT_UID_BASE = 60000
SLOT_COUNT = 512


def _hide_args(bound: list[str], needed: list[str], secrets: list[str]) -> list[str]:
    """bwrap arguments that cover every secret inside a bound tree (an empty read-only
    tmpfs over a folder, /dev/null over a file), keeping the needed paths below them."""
    cover: list[str] = []
    for secret in secrets:
        if any(within(secret, top) for top in bound):
            cover += hide_within(secret, needed)
    cover = sorted(set(cover))
    cover = [c for c in cover if not any(c != o and within(c, o) for o in cover)]  # outermost only
    args: list[str] = []
    for path in cover:
        if os.path.isdir(path):
            args += ["--tmpfs", path, "--remount-ro", path]
        elif os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    return args


def _private_copy(submission: Path, tmpdir: Path) -> Path:
    """A private read-only copy of the submission: readable by the slot uid whatever the
    original's mode, and immune to the file changing during grading."""
    copy = Path(tmpdir) / "submission.py"
    if not copy.exists():
        copy.write_bytes(Path(submission).read_bytes())
        copy.chmod(0o444)
    return copy


class _SlotPool:
    """Parallel slots, each with its own uid, held with flock across processes."""

    def __init__(self) -> None:
        # A fixed place (never $TMPDIR): every grader on this machine must share one pool.
        run = Path("/run")
        self.dir = run / "grader-slots" if os.geteuid() == 0 and run.is_dir() else Path(f"/tmp/grader-slots-{os.geteuid()}")

    def acquire(self) -> tuple[int, Callable[[], None]]:
        import fcntl

        self.dir.mkdir(mode=0o700, exist_ok=True)
        st = self.dir.lstat()
        if st.st_uid != os.geteuid() or st.st_mode & 0o077 or not os.path.isdir(self.dir) or self.dir.is_symlink():
            raise OSError(f"{self.dir} is not a private directory of this user")
        start = os.getpid() % SLOT_COUNT
        for i in range(SLOT_COUNT):
            slot = (start + i) % SLOT_COUNT
            fd = os.open(self.dir / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            released = False

            def release(fd: int = fd) -> None:
                nonlocal released
                if not released:
                    released = True
                    os.close(fd)

            return slot, release
        raise OSError("all sandbox slots are busy")


_SLOTS = _SlotPool()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except (OSError, ValueError):
        return []


class BwrapLauncher(Launcher):
    """bubblewrap: the child sees only Python, numpy, its own file and an empty /tmp."""

    def __init__(self, limits: Limits = Limits(), seccomp: bool | None = None, bwrap: str | None = None,
                 cgroup: bool | None = None) -> None:
        import shutil

        from grader.sandbox.seccomp import supported

        self.limits = limits
        self.bwrap = bwrap or shutil.which("bwrap") or "bwrap"
        self.seccomp = supported()[0] if seccomp is None else seccomp
        self.as_root = os.geteuid() == 0
        self.setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
        self.prlimit = shutil.which("prlimit", path="/usr/bin:/bin:/usr/sbin:/sbin")
        self.drop_uid = self.as_root and self.setpriv is not None
        layers = ["process", "rlimits", "scrubbed-env", "filesystem", "network", "pid-namespace",
                  "ipc-namespace", "no-capabilities"]
        if self.drop_uid or not self.as_root:
            layers.append("unprivileged-uid")
        if self.seccomp:
            layers += ["seccomp", "no-new-privs"]
        self.layers = tuple(layers) + self._cgroup_layers(cgroup)

    @property
    def executable(self) -> str:
        return os.path.realpath(sys.executable)

    def _mounts(self) -> list[str]:
        args: list[str] = []
        for top in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        if os.path.exists("/etc/ld.so.cache"):
            args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
        # The interpreter and its stdlib, at their own path (its RUNPATH may be absolute);
        # never its site-packages.
        prefixes = {os.path.realpath(sys.base_prefix), os.path.dirname(os.path.dirname(self.executable))}
        for prefix in sorted(prefixes):
            if not any(prefix == top or prefix.startswith(top + "/") for top in ("/usr",)) and os.path.isdir(prefix):
                # bwrap copies the mode of the host's parents (a 0700 /root): make them traversable.
                for parent in reversed(Path(prefix).parents[:-1]):
                    args += ["--perms", "0755", "--dir", str(parent)]
                args += ["--ro-bind", prefix, prefix]
        bound = sorted({os.path.realpath(t) for t in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
                        if os.path.isdir(t)} | prefixes)
        needed = stdlib_paths() + interpreter_files()
        args += _hide_args(bound, needed, secret_paths())
        for d in ("/sandbox", SANDBOX_SITE, SANDBOX_BIN):
            args += ["--perms", "0755", "--dir", d]
        for d in numpy_dirs():
            args += ["--ro-bind", d, f"{SANDBOX_SITE}/{os.path.basename(d)}"]
        here = Path(__file__).resolve().parent
        args += ["--ro-bind", str(here / "child.py"), f"{SANDBOX_BIN}/child.py",
                 "--ro-bind", str(here / "wire.py"), f"{SANDBOX_BIN}/wire.py"]
        args += ["--perms", "1777", "--size", str(TMP_SIZE), "--tmpfs", SANDBOX_TMP, "--dev", "/dev", "--proc", "/proc"]
        return args

    def command(self, env: dict[str, str], uid: int | None, inner: list[str], submission: str | None) -> list[str]:
        argv = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
                "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        argv += self._mounts()
        if submission is not None:
            argv += ["--ro-bind", submission, SANDBOX_SUBMISSION]
        argv += ["--chdir", SANDBOX_TMP, "--clearenv"]
        for key, value in env.items():
            argv += ["--setenv", key, value]
        if uid is not None:
            # Root: bwrap keeps uid 0 (which is uid 0 outside too); keep only what setpriv needs to
            # drop to the slot's uid, then setpriv drops every capability and sets no_new_privs.
            argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                     "--cap-add", "CAP_SETPCAP", "--"]
            argv += [self.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                     "--inh-caps=-all", "--bounding-set=-all"]
        else:
            argv += ["--cap-drop", "ALL", "--"]
        if self.prlimit:
            lim = self.limits
            argv += [self.prlimit, f"--as={lim.address_space}", f"--cpu={lim.cpu_seconds}",
                     f"--fsize={lim.file_size}", f"--nofile={lim.open_files}"]
            if uid is not None:
                argv += ["--nproc=1"]  # the slot's uid owns exactly this one process
            argv += ["--"]
        return argv + inner

    def plan(self, child_script: Path, submission: Path, tmpdir: Path) -> LaunchPlan:
        leaf = self._leaf()
        release: Callable[[], None] = lambda: None
        uid = None
        try:
            if self.drop_uid:
                slot, release = _SLOTS.acquire()
                uid = SLOT_UID_BASE + slot
            copy = _private_copy(submission, tmpdir)
        except BaseException:
            release()
            if leaf is not None:
                leaf.remove()
            raise
        env = child_env(SANDBOX_TMP)
        argv = self.command(env, uid, [self.executable, "-I", "-S", "-B"], str(copy))
        return LaunchPlan(
            argv_prefix=argv,
            child_script=f"{SANDBOX_BIN}/child.py",
            env=env,
            cwd="/",
            child_paths=[SANDBOX_SITE],
            submission_path=SANDBOX_SUBMISSION,
            tmpdir=SANDBOX_TMP,
            setup_extra={"audit": audit_enabled(), **_seccomp_setup(self.seccomp), **_limits_setup(self.limits)},
            release=release,
            reaper_pid=lambda pid: next(iter(_children(pid)), None),
            signal_as_code=True,
            cgroup=leaf,
        )

    def probe(self) -> tuple[bool, str]:
        """Start a trivial Python in the real sandbox; (works, why not)."""
        import subprocess

        if not os.path.exists(self.bwrap) and "/" in self.bwrap:
            return False, f"{self.bwrap} not found"
        uid = None
        release: Callable[[], None] = lambda: None
        try:
            if self.drop_uid:
                slot, release = _SLOTS.acquire()
                uid = SLOT_UID_BASE + slot
            env = child_env(SANDBOX_TMP)
            argv = self.command(env, uid, [self.executable, "-I", "-S", "-B", "-c",
                                           "import os; print(os.getuid())"], None)
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=20, cwd="/")
        except FileNotFoundError:
            return False, "bubblewrap (bwrap) is not installed"
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"bwrap could not be started: {exc}"
        finally:
            release()
        if proc.returncode != 0:
            why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            return False, f"bwrap failed: {why[-1] if why else f'exit code {proc.returncode}'}"
        if uid is not None and proc.stdout.strip() != str(uid).encode():
            return False, f"the child did not run as uid {uid}"
        return True, ""


# ----------------------------------------------------------------------------------------------
# Landlock

CAP_DAC_READ_SEARCH = 2


def _reachable_by_others(path: str) -> bool:
    """Whether an unrelated uid can reach `path` (search on every parent, read on it)."""
    try:
        p = Path(path)
        for parent in reversed(p.parents):
            if not os.stat(parent).st_mode & 0o001:
                return False
        st = os.stat(p)
    except OSError:
        return False
    import stat

    return bool(st.st_mode & 0o004) and (not stat.S_ISDIR(st.st_mode) or bool(st.st_mode & 0o001))


class LandlockLauncher(Launcher):
    """Landlock: the child confines itself to Python, numpy, its own file and a private temp dir.

    The layout in the sandbox's temp dir (the child sees nothing else of the machine):
    `site/` (links to numpy's folders: the only entry on the child's import path besides the
    standard library), `submission.py` (a private read-only copy) and `tmp/` (the child's
    writable temp dir, emptied for every new child). As root, the child drops to a slot uid
    before it restricts itself, keeping CAP_DAC_READ_SEARCH only where the Python install or
    the temp dir is not reachable by other users (e.g. a pyenv under a 0700 /root).
    """

    def __init__(self, limits: Limits = Limits(), seccomp: bool | None = None, cgroup: bool | None = None) -> None:
        import tempfile

        from grader.sandbox.landlock import abi_version, layers_for
        from grader.sandbox.paths import python_read_paths
        from grader.sandbox.seccomp import supported

        self.limits = limits
        self.abi = abi_version()[0]
        self.seccomp = supported()[0] if seccomp is None else seccomp
        self.as_root = os.geteuid() == 0
        self.read_dirs, self.read_files = python_read_paths()
        needs_reach = self.read_dirs + self.read_files + [tempfile.gettempdir()]
        self.keep_caps = ([CAP_DAC_READ_SEARCH] if self.as_root and not all(map(_reachable_by_others, needs_reach))
                          else [])
        layers = ["process", "rlimits", "scrubbed-env", *layers_for(self.abi), "unprivileged-uid"]
        if not self.keep_caps:
            layers.append("no-capabilities")
        if self.seccomp:
            layers.append("seccomp")
        layers.append("no-new-privs")  # Landlock requires it
        self.layers = tuple(layers) + self._cgroup_layers(cgroup)

    def plan(self, child_script: Path, submission: Path, tmpdir: Path) -> LaunchPlan:
        import shutil

        root = Path(tmpdir)
        leaf = self._leaf()
        release: Callable[[], None] = lambda: None
        uid = None
        try:
            if self.as_root:
                slot, release = _SLOTS.acquire()
                uid = SLOT_UID_BASE + slot
            copy = _private_copy(submission, root)
            site = root / "site"
            site.mkdir(mode=0o755, exist_ok=True)
            for d in numpy_dirs():
                link = site / os.path.basename(d)
                if not link.is_symlink():
                    link.symlink_to(d, target_is_directory=True)
            work = root / "tmp"
            if work.exists():
                shutil.rmtree(work)  # every child starts with an empty temp dir
            work.mkdir(mode=0o700)
            if uid is not None:
                os.chown(work, uid, uid)
                os.chmod(root, 0o711)
        except BaseException:
            release()
            if leaf is not None:
                leaf.remove()
            raise
        rules = {"read": self.read_dirs + [str(site)], "files": self.read_files + [str(copy)],
                 "write": [str(work)], "devices": ["/dev/null"]}
        rlimits = _limits_setup(self.limits)
        if uid is not None:
            rlimits["rlimits"]["nproc"] = 1  # the slot's uid owns exactly this one process
        return LaunchPlan(
            argv_prefix=[sys.executable, "-I", "-S", "-B"],
            child_script=str(child_script),
            env=child_env(str(work)),
            cwd=str(work),
            child_paths=[str(site)],
            submission_path=str(copy),
            tmpdir=str(work),
            setup_extra={"audit": audit_enabled(), **_seccomp_setup(self.seccomp), **rlimits, "landlock": rules,
                         "user": {"uid": uid, "keep_caps": self.keep_caps}},
            after_start=lambda pid: set_limits(pid, self.limits),
            release=release,
            cgroup=leaf,
        )
