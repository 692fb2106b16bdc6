"""The attack suite: one hostile submission per attack (tests/attacks/), each graded
through the real CLI in a subprocess, with the honest-message audit hook OFF so that
only the real layers stand in the way (a few cases re-run with it on, for the message).

For every attack: the grader survives within its budget; the attacked problem does
not pass (no value or gradient check passes); the honest problems score full; nothing
outside changes (file, database table, TCP/UDP connection, process); the grader's
secret environment never shows; and the message says what happened.

Marked `security`; never skipped when CI=true (a missing layer fails there).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox.landlock import abi_version
from grader.sandbox.layers import bwrap_status

ROOT = Path(__file__).resolve().parents[1]
ATTACKS = Path(__file__).with_name("attacks")
# Each attack file holds only its hostile part; it is graded appended to this honest file.
HONEST_SOURCE = (Path(__file__).resolve().parent.parent / "submissions" / "examples" / "hw2"
                 / "correct_vectorized.py").read_text()
HONEST = ("graph", "svm_loss")
CALL_PROBLEMS = ("graph", "softmax_loss", "svm_loss")
NOT_PERMITTED = r"Operation not permitted|PermissionError"
HIDDEN = r"No such file|FileNotFoundError|PermissionError|unable to open|nothing to steal"

# attack -> (problems graded, regex the attacked problem's messages must match)
CASES = {
    "eq_override": (CALL_PROBLEMS, r"must be a number or an array"),
    "ndarray_subclass": (CALL_PROBLEMS, r"must be a number or an array"),
    "exit_in_call": (CALL_PROBLEMS, r"sys\.exit"),
    "os_exit_in_call": (CALL_PROBLEMS, r"exited with code 0"),
    "exit_at_import": (("graph",), r"cannot be imported.*sys\.exit"),
    "os_exit_at_import": (("graph",), r"cannot be imported.*exited with code 3"),
    "fake_report_output": (CALL_PROBLEMS, r"expected"),
    "forged_frames": (CALL_PROBLEMS, r"channel|malformed"),
    "read_reference": (CALL_PROBLEMS, HIDDEN),
    "read_other_submissions": (CALL_PROBLEMS, HIDDEN),
    "walk_filesystem": (CALL_PROBLEMS, HIDDEN),
    "read_database": (CALL_PROBLEMS, HIDDEN),
    "write_database": (CALL_PROBLEMS, HIDDEN),
    "tcp_connect": (CALL_PROBLEMS, NOT_PERMITTED),
    "udp_send": (CALL_PROBLEMS, NOT_PERMITTED),
    "write_outside": (CALL_PROBLEMS, HIDDEN),
    "fork_setsid_survivor": (CALL_PROBLEMS, NOT_PERMITTED),
    "kill_parent": (CALL_PROBLEMS, NOT_PERMITTED),
    "infinite_loop_ignoring_sigterm": (CALL_PROBLEMS, r"did not return within 5 s"),
    "memory_bomb": (CALL_PROBLEMS, r"MemoryError"),
    "memory_bomb_at_import": (("graph",), r"cannot be imported.*MemoryError"),
    "huge_output": (CALL_PROBLEMS, r"disagrees|wrong"),
    "monkeypatch": (CALL_PROBLEMS, r"expected"),
    "reduce_payload": (CALL_PROBLEMS, r"must be a number or an array"),
    "env_dump": (CALL_PROBLEMS, r"RuntimeError"),
    "ctypes_segfault": (CALL_PROBLEMS, r"SIGSEGV"),
    "recursion_bomb": (CALL_PROBLEMS, r"RecursionError: maximum recursion depth exceeded.*at most 10000"),
    "sleep_at_import": (("graph",), r"cannot be imported.*did not finish in time"),
    "thread_outlives_call": (CALL_PROBLEMS, r"thread|" + NOT_PERMITTED),
}
# Re-run with the audit hook on: the honest message for the student.
AUDITED = {
    "tcp_connect": r"network access is not allowed in submissions",
    "udp_send": r"network access is not allowed in submissions",
    "fork_setsid_survivor": r"starting processes is not allowed in submissions",
    # Under bubblewrap the sandbox's /tmp is its own: the grader's /tmp/... folder is not in it.
    "write_outside": r"writing files outside the temporary directory is not allowed|/tmp is private and starts empty",
    "thread_outlives_call": r"threads are not allowed in submissions",
}
SLOW = {"infinite_loop_ignoring_sigterm", "sleep_at_import", "memory_bomb", "memory_bomb_at_import", "huge_output",
        "walk_filesystem"}
# Re-run under Landlock (no namespaces): what the filesystem and network layers must stop.
LANDLOCK = ("read_reference", "read_other_submissions", "walk_filesystem", "read_database", "write_database",
            "write_outside", "tcp_connect", "udp_send", "env_dump", "kill_parent", "fork_setsid_survivor",
            "recursion_bomb")
LANDLOCK_HIDDEN = HIDDEN + r"|Permission denied"


def _needs_layers(mode: str = "auto") -> None:
    if mode == "landlock":
        abi, why = abi_version()
        ok = abi >= 1
    else:
        ok, why = bwrap_status()
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the attack suite must run in CI, but the {mode} sandbox does not work: {why}")
        pytest.skip(f"this machine lacks the filesystem layer ({why}); run `grader doctor`")


def _processes_with(needle: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if needle in cmdline:
                found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def _tables(db: Path) -> set[str]:
    con = sqlite3.connect(db)
    try:
        return {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()


def _grade(tmp_path: Path, attack: str, problems: tuple[str, ...], audit: bool, mode: str = "auto"):
    marker = f"grader-attack-marker-{secrets.token_hex(6)}"
    secret = f"grader-secret-{secrets.token_hex(8)}"
    outside_dir = tmp_path / "outside"
    outside_dir.mkdir()
    outside_dir.chmod(0o777)
    outside = outside_dir / "pwned"
    db = tmp_path / "x.db"
    grader_tmp = tmp_path / "t"  # the grader's TMPDIR: every sandbox dir and argv names it
    grader_tmp.mkdir()
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    constants = {
        "REFERENCE": str(ROOT / "problems" / "hw2" / "reference.py"),
        "SUBMISSIONS": str(ROOT / "submissions" / "examples" / "hw2"),
        "DATABASE": str(db), "OUTSIDE": str(outside), "MARKER": marker,
        "TCP_PORT": tcp.getsockname()[1], "UDP_PORT": udp.getsockname()[1],
    }
    header = "".join(f"{k} = {v!r}\n" for k, v in constants.items())
    source = HONEST_SOURCE.replace("import numpy as np\n", "import numpy as np\n" + header, 1)
    source += "\n\n" + (ATTACKS / f"{attack}.py").read_text()
    sub = tmp_path / "hw2.py"
    sub.write_text(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env.update(GRADER_TEST_SECRET=secret, GRADER_SANDBOX_AUDIT="1" if audit else "0", TMPDIR=str(grader_tmp),
               GRADER_SANDBOX=mode)
    argv = [sys.executable, "-m", "grader", "submit", str(sub), "--assignment", "hw2", "--db", str(db),
            "--format", "json", "--student", "attacker"]
    for p in problems:
        argv += ["--problem", p]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, env=env, cwd=ROOT, timeout=150)
    elapsed = time.monotonic() - started
    try:
        conn, _ = tcp.accept()
        conn.close()
        tcp_received = True
    except BlockingIOError:
        tcp_received = False
    try:
        udp.recvfrom(100)
        udp_received = True
    except BlockingIOError:
        udp_received = False
    tcp.close()
    udp.close()
    time.sleep(0.2)
    return {
        "proc": proc, "elapsed": elapsed, "secret": secret, "outside": outside, "db": db,
        "tcp": tcp_received, "udp": udp_received,
        "leftovers": _processes_with(marker) + _processes_with(str(grader_tmp)),
    }


def _check(run, attack: str, problems: tuple[str, ...], message: str, mode: str = "auto") -> None:
    proc = run["proc"]
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    # The grader survives, within its budget (total 60 s for hw2, plus start-up and storage).
    assert proc.returncode == 0, stderr[-2000:]
    assert run["elapsed"] < 75, run["elapsed"]
    report = json.loads(stdout)  # only the real report is on stdout
    assert report["student"] == "attacker"
    assert "filesystem" in report["sandbox"] and "seccomp" in report["sandbox"]
    if mode == "landlock":
        assert "landlock" in report["sandbox"] and "pid-namespace" not in report["sandbox"], report["sandbox"]
    results = {p["id"]: p for p in report["problems"]}
    assert list(results) == list(problems)
    # Nothing outside changed; the grader's secrets never show.
    assert not run["outside"].exists(), "the attacker wrote outside its sandbox"
    assert not run["tcp"], "a TCP connection reached the test's listener"
    assert not run["udp"], "a UDP datagram reached the test's listener"
    assert run["leftovers"] == [], run["leftovers"]
    assert "pwned" not in _tables(run["db"]), "the attacker wrote into the database"
    assert run["secret"] not in stdout and run["secret"] not in stderr
    assert len(report["output"]) < 100_000
    if problems == ("graph",):  # an import-time attack: nothing to grade
        graph = results["graph"]
        assert graph["score"] == 0 and graph["status"] in ("error", "timeout")
        text = " ".join(c["message"] for c in graph["checks"])
        assert re.search(message, text), text
        return
    attacked = results["softmax_loss"]
    assert attacked["status"] != "passed"
    value_checks = [c for c in attacked["checks"] if c["name"].split(":")[0] in ("value", "gradient")]
    assert value_checks and not any(c["passed"] for c in value_checks), attacked
    assert attacked["score"] == 0, attacked
    text = " ".join(c["message"] for c in attacked["checks"])
    assert re.search(message, text), text
    for honest in HONEST:
        assert results[honest]["score"] == results[honest]["max_score"], results[honest]


def _params():
    for name, (problems, message) in CASES.items():
        marks = [pytest.mark.slow] if name in SLOW else []
        yield pytest.param(name, problems, message, id=name, marks=marks)


@pytest.mark.security
@pytest.mark.parametrize("attack, problems, message", list(_params()))
def test_attack(tmp_path, attack, problems, message):
    _needs_layers()
    assert (ATTACKS / f"{attack}.py").exists()
    run = _grade(tmp_path, attack, problems, audit=False)
    _check(run, attack, problems, message)
    if attack == "recursion_bomb":
        assert run["elapsed"] < 20, run["elapsed"]  # fails fast, not by the 5 s call timeout
    if attack == "fake_report_output":
        assert "debug: loss is" in json.loads(run["proc"].stdout)["output"]  # honest debug prints are shown
    if attack == "huge_output":
        assert "more bytes of output dropped" in json.loads(run["proc"].stdout)["output"]


@pytest.mark.security
@pytest.mark.parametrize("attack", sorted(AUDITED))
def test_attack_message_with_audit_hook(tmp_path, attack):
    _needs_layers()
    problems, _ = CASES[attack]
    run = _grade(tmp_path, attack, problems, audit=True)
    _check(run, attack, problems, AUDITED[attack])


@pytest.mark.security
@pytest.mark.parametrize("attack", LANDLOCK)
def test_attack_under_landlock(tmp_path, attack):
    _needs_layers("landlock")
    problems, message = CASES[attack]
    if message == HIDDEN:
        message = LANDLOCK_HIDDEN  # Landlock denies (EACCES) what bubblewrap leaves out (ENOENT)
    run = _grade(tmp_path, attack, problems, audit=False, mode="landlock")
    _check(run, attack, problems, message, mode="landlock")


@pytest.mark.security
@pytest.mark.parametrize("attack", ["write_outside", "tcp_connect"])
def test_attack_message_with_audit_hook_under_landlock(tmp_path, attack):
    _needs_layers("landlock")
    problems, _ = CASES[attack]
    run = _grade(tmp_path, attack, problems, audit=True, mode="landlock")
    _check(run, attack, problems, r"writing files outside the temporary directory is not allowed in submissions"
           if attack == "write_outside" else AUDITED[attack], mode="landlock")


def test_every_attack_file_is_in_the_suite():
    assert {p.stem for p in ATTACKS.glob("*.py")} == set(CASES)
