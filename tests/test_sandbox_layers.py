"""The sandbox's layers, attacked directly through `Sandbox` (the CLI-level suite is
tests/test_sandbox_attacks.py). Never skipped in CI: a missing layer fails there."""

from __future__ import annotations

import os
import struct
import textwrap
from pathlib import Path

import pytest

from grader.errors import UnsafeError
from grader.sandbox import BwrapLauncher, ProcessLauncher, Sandbox, require_layers
from grader.sandbox.layers import bwrap_status
from grader.sandbox.seccomp import AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, build_filter, supported

pytestmark = pytest.mark.security
IN_CI = os.environ.get("CI") == "true"


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
