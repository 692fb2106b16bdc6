"""The sandbox's layers, attacked directly through `Sandbox` (the CLI-level suite is
tests/test_sandbox_attacks.py). Never skipped in CI: a missing layer fails there."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import struct
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.errors import UnsafeError, UsageError
from grader.sandbox import BwrapLauncher, LandlockLauncher, ProcessLauncher, Sandbox, cgroup, landlock, require_layers
from grader.sandbox.launch import _hide_args
from grader.sandbox.layers import bwrap_status, default_launcher
from grader.sandbox.paths import grant_around, hide_within, secret_paths
from grader.sandbox.seccomp import AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, build_filter, supported

pytestmark = pytest.mark.security
IN_CI = os.environ.get("CI") == "true"
PROJECT = Path(__file__).resolve().parents[1]


def _need_landlock() -> None:
    abi, why = landlock.abi_version()
    if abi < 1:
        if IN_CI:
            pytest.fail(f"Landlock must work in CI: {why}")
        pytest.skip(f"this kernel lacks Landlock: {why}")


def _need_cgroup() -> None:
    st = cgroup.status()
    if not st.works:
        pytest.skip(f"no writable cgroup v2 hierarchy here: {st.why}")


def _need_bwrap() -> None:
    ok, why = bwrap_status()
    if not ok:
        if IN_CI:
            pytest.fail(f"bubblewrap must work in CI: {why}")
        pytest.skip(f"this machine lacks bubblewrap: {why}")


def _run(tmp_path: Path, source: str, launcher, fn: str = "probe", args=(), audit: bool = False):
    sub = tmp_path / "hw2.py"
    sub.write_text(textwrap.dedent(source))
    os.environ["GRADER_SANDBOX_AUDIT"] = "1" if audit else "0"
    try:
        with Sandbox(sub, filename="hw2.py", launcher=launcher, call_timeout=5, total_timeout=30) as box:
            loaded = box.load()
            assert loaded.status == "ok", loaded
            out = box.call(fn, list(args))
            return out, box.output()
    finally:
        os.environ.pop("GRADER_SANDBOX_AUDIT", None)


PROBE = """
import os, numpy as np
def probe():
    results = []
    for attempt in ATTEMPTS:
        try:
            attempt()
            results.append(1.0)
        except BaseException:
            results.append(0.0)
    return np.array(results)
"""


def _attempts(tmp_path, body: str, launcher):
    out, output = _run(tmp_path, PROBE + textwrap.dedent(body), launcher)
    assert out.status == "ok", (out, output)
    return out.outputs.items[0].array.tolist()


def test_filter_bytes_are_a_valid_program():
    prog = build_filter()
    assert len(prog) % 8 == 0 and 0 < len(prog) // 8 < 4096
    insns = [struct.unpack("=HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    archs = {k for code, jt, jf, k in insns if code == 0x15 and k in (AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64)}
    assert archs == {AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64}
    for i, (code, jt, jf, _k) in enumerate(insns):  # every jump lands inside the program
        if code & 0x07 == 0x05:
            assert i + 1 + max(jt, jf) < len(insns)
    assert insns[-1] == (0x06, 0, 0, 0x80000000)  # unknown arch: kill


@pytest.mark.skipif(not supported()[0] and not IN_CI, reason="no seccomp here")
def test_seccomp_denies_process_network_signals(tmp_path):
    body = """
    import socket, _posixsubprocess, signal, threading
    def _sock(): socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    def _udp(): socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    def _fork():
        pid = os.fork()
        if pid == 0: os._exit(0)
    def _thread(): threading.Thread(target=lambda: None).start()
    def _kill(): os.kill(os.getpid(), 0)
    def _exec(): os.execv("/bin/true", ["/bin/true"])
    ATTEMPTS = [_sock, _udp, _fork, _thread, _kill, _exec]
    """
    assert _attempts(tmp_path, body, ProcessLauncher(seccomp=True)) == [0.0] * 6


@pytest.mark.skipif(not supported()[0] and not IN_CI, reason="no seccomp here")
def test_seccomp_keeps_pid_targeted_syscalls_to_the_child_itself(tmp_path):
    """Without a PID namespace the child may share the grader's uid: it must not lower the
    grader's limits, pin it to a CPU or renice it. On itself (pid 0) these still work."""
    import resource

    parent = os.getpid()
    before = (resource.getrlimit(resource.RLIMIT_NOFILE), os.sched_getaffinity(0), os.getpriority(os.PRIO_PROCESS, 0))
    body = f"""
    import resource
    def _read_parent(): resource.prlimit({parent}, resource.RLIMIT_NOFILE)
    def _lower_parent(): resource.prlimit({parent}, resource.RLIMIT_NOFILE, (3, 3))
    def _pin_parent(): os.sched_setaffinity({parent}, {{0}})
    def _renice_parent(): os.setpriority(os.PRIO_PROCESS, {parent}, 19)
    def _own_limit(): resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32)); resource.getrlimit(resource.RLIMIT_AS)
    def _own_affinity(): os.sched_setaffinity(0, os.sched_getaffinity(0))
    ATTEMPTS = [_read_parent, _lower_parent, _pin_parent, _renice_parent, _own_limit, _own_affinity]
    """
    assert _attempts(tmp_path, body, ProcessLauncher(seccomp=True)) == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    after = (resource.getrlimit(resource.RLIMIT_NOFILE), os.sched_getaffinity(0), os.getpriority(os.PRIO_PROCESS, 0))
    assert after == before


def test_bwrap_filesystem_view(tmp_path):
    _need_bwrap()
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    project = Path(__file__).resolve().parents[1]
    body = f"""
    def _secret(): open({str(secret)!r}).read()
    def _reference(): open({str(project / 'problems/hw2/reference.py')!r}).read()
    def _project(): os.listdir({str(project)!r})
    def _home(): assert set(os.listdir("/root")) - {{".pyenv"}}
    def _write_root(): open("/pwned", "w").write("x")
    def _write_usr(): open("/usr/pwned", "w").write("x")
    def _write_tmp(): open("/tmp/ok", "w").write("x")
    def _site():
        import sys
        assert not any("site-packages" in p for p in sys.path)
        import grader
    def _proc_other(): assert len([p for p in os.listdir("/proc") if p.isdigit()]) > 3
    ATTEMPTS = [_secret, _reference, _project, _home, _write_root, _write_usr, _write_tmp, _site, _proc_other]
    """
    got = _attempts(tmp_path, body, BwrapLauncher())
    assert got == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert not Path("/pwned").exists() and not Path("/usr/pwned").exists()


def test_bwrap_child_is_unprivileged(tmp_path):
    _need_bwrap()
    body = """
    def _status():
        text = open("/proc/self/status").read()
        assert "CapEff:\\t0000000000000000" in text and "CapBnd:\\t0000000000000000" in text
        assert "NoNewPrivs:\\t1" in text and "Seccomp:\\t2" in text
        assert os.getuid() != 0 and os.geteuid() != 0
        raise RuntimeError("all good")
    ATTEMPTS = [_status]
    """
    out, output = _run(tmp_path, PROBE.replace("except BaseException", "except RuntimeError") + textwrap.dedent(body),
                       BwrapLauncher())
    assert out.status == "ok", (out, output)
    assert out.outputs.items[0].array.tolist() == [0.0]


def test_require_layers_refuses_with_the_fix():
    with pytest.raises(UnsafeError) as err:
        require_layers(ProcessLauncher(seccomp=False))
    assert "filesystem" in str(err.value) and "seccomp" in str(err.value) and "bubblewrap" in str(err.value)
    assert err.value.exit_code == 3


def test_require_layers_accepts_bwrap():
    _need_bwrap()
    require_layers(BwrapLauncher())


# ---- bubblewrap: nothing of the grader's installs under the bound trees ------------------------

def test_hide_args_cover_secrets_inside_bound_trees(tmp_path):
    usr = tmp_path / "usr"
    (usr / "lib/python3.11/json").mkdir(parents=True)
    (usr / "lib/python3/dist-packages/grader").mkdir(parents=True)
    (usr / "share/grader-install/problems").mkdir(parents=True)
    (usr / "local/lib/python3.11/site-packages/grader").mkdir(parents=True)
    (usr / "local/bin").mkdir(parents=True)
    (usr / "local/bin/python3").write_text("")
    (usr / "local/notes.txt").write_text("")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secrets = [str(usr / "lib/python3/dist-packages"), str(usr / "share/grader-install"),
               str(usr / "lib/python3/dist-packages/grader"),  # nested: covered by its parent
               str(usr / "local"),  # holds the interpreter: covered around it
               str(outside)]  # not bound: nothing to hide
    args = _hide_args([str(usr)], [str(usr / "lib/python3.11"), str(usr / "local/bin/python3")], secrets)
    tmpfs = [args[i + 1] for i, a in enumerate(args) if a == "--tmpfs"]
    files = [args[i + 2] for i, a in enumerate(args) if a == "--ro-bind"]
    assert sorted(tmpfs) == sorted([str(usr / "lib/python3/dist-packages"), str(usr / "share/grader-install"),
                                    str(usr / "local/lib")])
    assert files == [str(usr / "local/notes.txt")]
    assert hide_within(str(usr / "local"), [str(usr / "local")]) == []


def test_grant_around_skips_secrets(tmp_path):
    std = tmp_path / "lib/python3.11"
    (std / "json").mkdir(parents=True)
    (std / "site-packages/grader").mkdir(parents=True)
    (std / "os.py").write_text("")
    (std / "link-to-site").symlink_to(std / "site-packages")
    secrets = [str(std / "site-packages")]
    assert sorted(grant_around(str(std), secrets)) == sorted([str(std / "json"), str(std / "os.py")])
    assert grant_around(str(std / "json"), secrets) == [str(std / "json")]
    assert grant_around(str(std / "site-packages/grader"), secrets) == [str(std / "site-packages/grader")]


def test_secret_paths_name_every_install_of_the_grader():
    secrets = secret_paths()
    import grader
    import problems

    assert str(Path(grader.__file__).resolve().parent) in secrets
    assert str(Path(problems.__file__).resolve().parent) in secrets
    for entry in sys.path:
        if "site-packages" in entry or "dist-packages" in entry:
            assert os.path.realpath(entry) in secrets


def test_bwrap_hides_every_sys_path_entry_and_the_grader(tmp_path, monkeypatch):
    _need_bwrap()
    # A folder under /usr on the grader's import path, as a system-wide install would put there.
    under_usr = next((d for d in ("/usr/include", "/usr/share/doc", "/usr/games") if os.listdir(d or "/")), None)
    if under_usr is None:
        pytest.skip("no non-empty folder under /usr to stand in for a system install")
    monkeypatch.syspath_prepend(under_usr)
    secrets = secret_paths()
    assert under_usr in secrets
    body = f"""
    SECRETS = {secrets!r}
    def _visible():
        seen = []
        for path in SECRETS:
            try:
                if os.path.isdir(path):
                    if os.listdir(path):
                        seen.append(path)
                elif open(path, "rb").read():
                    seen.append(path)
            except OSError:
                pass
        if seen:
            raise RuntimeError(seen)
    def _stdlib():
        import json, inspect, sqlite3, decimal, email.mime.text
    ATTEMPTS = [_visible, _stdlib]
    """
    out, output = _run(tmp_path, PROBE.replace("except BaseException", "except ImportError") + textwrap.dedent(body),
                       BwrapLauncher())
    assert out.status == "ok", (out, output)
    assert out.outputs.items[0].array.tolist() == [1.0, 1.0]


# ---- Landlock ---------------------------------------------------------------------------------

def _child_module():
    """child.py loaded for its pure helpers (it adds nothing to sys.path for good)."""
    path = PROJECT / "grader/sandbox/child.py"
    before = list(sys.path)
    spec = importlib.util.spec_from_file_location("grader_child_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.path[:] = before
    return module


def test_landlock_masks_follow_the_abi():
    child = _child_module()
    fs1, net1, scoped1, size1 = child.landlock_masks(1)
    assert fs1 == (1 << 13) - 1 and net1 == 0 and scoped1 == 0 and size1 == 8
    assert child.landlock_masks(2)[0] == (1 << 14) - 1
    assert child.landlock_masks(3)[0] == (1 << 15) - 1 and child.landlock_masks(3)[3] == 8
    assert child.landlock_masks(4)[1:] == (3, 0, 16)
    assert child.landlock_masks(5)[0] == (1 << 16) - 1
    assert child.landlock_masks(6)[1:] == (3, 3, 24)
    assert child.landlock_masks(7) == child.landlock_masks(6)
    assert landlock.layers_for(3) == ("filesystem", "landlock")
    assert landlock.layers_for(4) == ("filesystem", "landlock", "network-tcp")
    assert landlock.layers_for(7) == ("filesystem", "landlock", "network-tcp", "signal-scope")


def test_seccomp_leaves_the_landlock_syscalls_alone():
    prog = build_filter()
    numbers = {struct.unpack("=HBBI", prog[i:i + 8])[3] for i in range(0, len(prog), 8)}
    assert not {444, 445, 446} & numbers


def test_landlock_filesystem_view(tmp_path):
    _need_landlock()
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    secret.chmod(0o644)
    site = next(p for p in secret_paths() if "site-packages" in p)
    body = f"""
    import sys
    def _secret(): open({str(secret)!r}).read()
    def _reference(): open({str(PROJECT / 'problems/hw2/reference.py')!r}).read()
    def _project(): os.listdir({str(PROJECT)!r})
    def _home(): os.listdir("/root")
    def _etc(): open("/etc/passwd").read()
    def _write_tmp_root(): open("/tmp/pwned-by-landlock", "w").write("x")
    def _write_tmp(): open("ok.txt", "w").write("x"); os.mkdir("d"); os.rename("ok.txt", "d/ok.txt")
    def _site(): os.listdir({site!r})
    def _grader(): import grader
    def _proc_other(): os.listdir("/proc/1")
    def _proc_self(): open("/proc/self/environ").read()
    def _sys(): os.listdir("/sys")
    def _stdlib(): import json, inspect, sqlite3, decimal, email.mime.text, ctypes, unittest
    def _numpy(): np.linalg.inv(np.eye(3)); np.random.default_rng(0).normal(size=3); np.fft.fft(np.ones(4))
    def _devnull(): open("/dev/null", "w").write("x")
    ATTEMPTS = [_secret, _reference, _project, _home, _etc, _write_tmp_root, _write_tmp, _site, _grader,
                _proc_other, _proc_self, _sys, _stdlib, _numpy, _devnull]
    """
    got = _attempts(tmp_path, body, LandlockLauncher())
    assert got == [0.0] * 6 + [1.0] + [0.0] * 5 + [1.0, 1.0, 1.0]
    assert not Path("/tmp/pwned-by-landlock").exists()


@pytest.mark.parametrize("as_root", [True, False], ids=["root-grader", "user-grader"])
def test_landlock_child_is_unprivileged(tmp_path, as_root):
    """As root: a slot uid, keeping at most CAP_DAC_READ_SEARCH. As a user (simulated from
    root: no uid change): every capability dropped all the same."""
    _need_landlock()
    launcher = LandlockLauncher()
    if not as_root:
        launcher.as_root, launcher.keep_caps = False, []
    elif os.geteuid() != 0:
        pytest.skip("the grader does not run as root here")
    body = """
    import ctypes
    def _caps():
        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
        class Data(ctypes.Structure):
            _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]
        data = (Data * 2)()
        assert ctypes.CDLL(None).capget(ctypes.byref(Header(0x20080522, 0)), data) == 0
        raise RuntimeError(repr([os.getuid(), os.geteuid(), data[0].effective, data[0].permitted, data[1].effective]))
    ATTEMPTS = [_caps]
    """
    out, output = _run(tmp_path, PROBE.replace("except BaseException", "except AssertionError")
                       + textwrap.dedent(body), launcher)
    assert out.status == "error" and out.error.type == "RuntimeError", (out, output)
    uid, euid, eff, perm, eff_hi = eval(out.error.message)
    if as_root:
        assert uid != 0 and euid != 0
        assert ("no-capabilities" in launcher.layers) == (not launcher.keep_caps)
    else:
        assert uid == os.getuid()
    allowed = sum(1 << c for c in launcher.keep_caps)
    assert eff == allowed and perm == allowed and eff_hi == 0


def test_landlock_alone_denies_tcp_but_not_udp(tmp_path):
    """Without seccomp, Landlock (ABI >= 4) still refuses TCP; UDP gets through, which is why
    seccomp's socket() denial is part of every launcher (a documented Landlock limit)."""
    _need_landlock()
    if landlock.abi_version()[0] < 4:
        pytest.skip("Landlock ABI < 4 has no network rules")
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(4)
    tcp.settimeout(0.5)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(2)
    try:
        body = f"""
        import socket
        def _tcp():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(("127.0.0.1", {tcp.getsockname()[1]}))
        def _bind():
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).bind(("127.0.0.1", 0))
        def _udp():
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", {udp.getsockname()[1]}))
        ATTEMPTS = [_tcp, _bind, _udp]
        """
        got = _attempts(tmp_path, body, LandlockLauncher(seccomp=False))
        assert got == [0.0, 0.0, 1.0]
        with pytest.raises(OSError):
            tcp.accept()
        assert udp.recvfrom(10)[0] == b"x"
        # With seccomp (the default) no socket at all.
        assert _attempts(tmp_path, body, LandlockLauncher()) == [0.0, 0.0, 0.0]
    finally:
        tcp.close()
        udp.close()


def test_landlock_alone_stops_signals_to_the_grader(tmp_path):
    _need_landlock()
    body = f"""
    import signal
    def _parent(): os.kill({os.getpid()}, signal.SIGUSR1)
    ATTEMPTS = [_parent]
    """
    seen = []
    previous = signal.signal(signal.SIGUSR1, lambda *a: seen.append(a))
    try:
        assert _attempts(tmp_path, body, LandlockLauncher(seccomp=False)) == [0.0]
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert seen == []


def test_require_layers_accepts_landlock():
    _need_landlock()
    launcher = LandlockLauncher()
    require_layers(launcher)
    assert "filesystem" in launcher.layers and "landlock" in launcher.layers
    assert "network" not in launcher.layers and "pid-namespace" not in launcher.layers


def test_grader_sandbox_selects_the_launcher(monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX", "process")
    assert type(default_launcher()) is ProcessLauncher
    monkeypatch.setenv("GRADER_SANDBOX", "nonsense")
    with pytest.raises(UsageError):
        default_launcher()
    if landlock.abi_version()[0] >= 1:
        monkeypatch.setenv("GRADER_SANDBOX", "landlock")
        assert type(default_launcher()) is LandlockLauncher
    monkeypatch.setattr(landlock, "abi_version", lambda: (0, "simulated"))
    monkeypatch.setenv("GRADER_SANDBOX", "landlock")
    with pytest.raises(UnsafeError) as err:
        default_launcher()
    assert err.value.exit_code == 3 and "simulated" in str(err.value)


# ---- cgroups ----------------------------------------------------------------------------------

SURVIVOR = """
import os, time, numpy as np
def escape(pidfile):
    pid = os.fork()
    if pid == 0:
        os.setsid()  # a new session and process group: killpg of the child's group misses it
        if os.fork() == 0:
            with open(pidfile, "w") as handle:
                handle.write(str(os.getpid()))
            time.sleep(300)
        os._exit(0)
    os.waitpid(pid, 0)
    while not os.path.exists(pidfile):
        time.sleep(0.01)
    with open("/proc/self/cgroup") as handle:
        raise RuntimeError(handle.read().strip())
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_cgroup_kill_ends_what_the_process_group_misses(tmp_path):
    """Seccomp off, no namespaces: only the cgroup stands between a setsid survivor and freedom."""
    _need_cgroup()
    sub = tmp_path / "hw2.py"
    sub.write_text(SURVIVOR)
    for use_cgroup in (True, False):
        pidfile = tmp_path / f"survivor-{use_cgroup}"
        launcher = ProcessLauncher(seccomp=False, cgroup=use_cgroup)
        assert ("cgroup" in launcher.layers) == use_cgroup
        os.environ["GRADER_SANDBOX_AUDIT"] = "0"
        try:
            with Sandbox(sub, filename="hw2.py", launcher=launcher, call_timeout=10, total_timeout=30) as box:
                assert box.load().status == "ok"
                out = box.call("escape", [str(pidfile)])
                leaf = box._child.plan.cgroup
        finally:
            os.environ.pop("GRADER_SANDBOX_AUDIT", None)
        assert out.status == "error", out
        time.sleep(0.2)
        survivor = int(pidfile.read_text())
        survived = _alive(survivor)
        if survived:
            os.kill(survivor, signal.SIGKILL)
        if use_cgroup:
            assert "/leaf-" in out.error.message  # the child ran in its own leaf...
            assert not survived  # ...and cgroup.kill took the survivor with it
            assert not os.path.exists(leaf.path)  # and the leaf is gone
        else:
            assert survived  # the process group kill alone misses it (seccomp is what stops it)


def test_every_launcher_puts_the_child_in_a_cgroup(tmp_path):
    _need_cgroup()
    launchers = [ProcessLauncher()]
    if landlock.abi_version()[0] >= 1:
        launchers.append(LandlockLauncher())
    if bwrap_status()[0]:
        launchers.append(BwrapLauncher())
    sub = tmp_path / "hw2.py"
    sub.write_text("import numpy as np\ndef f():\n    return 1.0\n")
    base = cgroup.status().base
    for launcher in launchers:
        assert "cgroup" in launcher.layers
        with Sandbox(sub, filename="hw2.py", launcher=launcher, call_timeout=10, total_timeout=30) as box:
            assert box.load().status == "ok"
            leaf = box._child.plan.cgroup
            assert leaf is not None and os.path.dirname(leaf.path) == base
            procs = Path(leaf.procs).read_text().split()
            assert str(box._child.proc.pid) in procs, (type(launcher).__name__, procs)
            assert box.call("f", []).status == "ok"
        assert not os.path.exists(leaf.path)


def test_stale_leaves_of_a_dead_grader_are_swept():
    _need_cgroup()
    base = cgroup.status().base
    import subprocess

    proc = subprocess.Popen(["/bin/true"])
    proc.wait()
    dead = proc.pid  # a grader that has just died
    stale = Path(base) / f"leaf-{cgroup._pid_namespace()}-{dead}-0"
    foreign = Path(base) / f"leaf-1-{dead}-0"  # another PID namespace's grader: not ours to judge
    stale.mkdir()
    foreign.mkdir()
    cgroup._swept.discard(base)
    try:
        leaf = cgroup.create_leaf(1 << 30)
        try:
            assert not stale.exists() and foreign.exists()
        finally:
            leaf.remove()
        assert not os.path.exists(leaf.path)
    finally:
        for d in (stale, foreign):
            if d.exists():
                d.rmdir()


def test_leaf_limits_where_the_controllers_exist(monkeypatch, tmp_path):
    """memory.max (above RLIMIT_AS, so the clean MemoryError comes first), no swap, pids.max."""
    writes = {}
    monkeypatch.setattr(cgroup, "status", lambda: cgroup.CgroupStatus(True, "", str(tmp_path), True, ""))
    monkeypatch.setattr(cgroup, "_write", lambda path, value: writes.__setitem__(os.path.basename(path), value))
    monkeypatch.setattr(cgroup, "_sweep", lambda base: None)
    monkeypatch.setattr(os.path, "exists", lambda p, real=os.path.exists: p.endswith("memory.swap.max") or real(p))
    leaf = cgroup.create_leaf(2 << 30)
    assert os.path.dirname(leaf.path) == str(tmp_path)
    assert writes == {"memory.max": str((2 << 30) + cgroup.MEMORY_SLACK), "memory.swap.max": "0",
                      "pids.max": str(cgroup.PIDS_MAX)}
    assert leaf.wrap(["python", "-c", "1"])[:4] == ["/bin/sh", "-c", 'echo 0 > "$0" && exec "$@"', leaf.procs]


def test_the_child_must_confirm_the_layers_it_applies():
    from grader.sandbox.launch import LaunchPlan
    from grader.sandbox.process import _unapplied

    plan = LaunchPlan(argv_prefix=[], child_script="", env={}, cwd="/", child_paths=[], submission_path="",
                      tmpdir="/tmp", setup_extra={"seccomp": "00", "landlock": {"read": []}, "user": {"uid": 1}})
    assert _unapplied(plan, ["user", "landlock-abi-7", "seccomp"]) == []
    assert _unapplied(plan, ["seccomp"]) == ["Landlock", "the uid and capability drop"]
    assert _unapplied(plan, None) == ["the syscall filter", "Landlock", "the uid and capability drop"]
