"""`grader doctor` reports truthfully, including on a machine that lacks a layer
(simulated: GRADER_SANDBOX=landlock|process, an empty PATH, Landlock or cgroups off)."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.sandbox import cgroup, landlock, layers
from grader.sandbox.layers import bwrap_status

pytestmark = pytest.mark.security
IN_CI = os.environ.get("CI") == "true"
CANARIES = {"read a secret file", "open a socket", "fork a process", "write outside the temp dir"}


def _doctor(monkeypatch, *args, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    layers._probe_bwrap.cache_clear()
    try:
        result = CliRunner().invoke(app, ["doctor", *args])
    finally:
        layers._probe_bwrap.cache_clear()
    return result


def _need_landlock():
    if landlock.abi_version()[0] < 1:
        if IN_CI:
            pytest.fail(f"Landlock must work in CI: {landlock.abi_version()[1]}")
        pytest.skip(f"this kernel lacks Landlock: {landlock.abi_version()[1]}")


def _no_landlock(monkeypatch):
    monkeypatch.setattr(landlock, "abi_version", lambda: (0, "simulated: the kernel has no Landlock"))


def _expected_inactive() -> set[str]:
    st = cgroup.status()
    if not st.works:
        return {"cgroup", "cgroup-limits"}
    return set() if st.limits else {"cgroup-limits"}


def test_doctor_all_layers_and_canaries_blocked(monkeypatch):
    ok, why = bwrap_status()
    if not ok and not IN_CI:
        pytest.skip(f"this machine lacks bubblewrap: {why}")
    result = _doctor(monkeypatch, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["instructor_grading"] and data["launcher"] == "BwrapLauncher"
    assert {c["name"] for c in data["canaries"]} == CANARIES
    assert all(c["blocked"] for c in data["canaries"])
    inactive = {layer["name"] for layer in data["layers"] if not layer["active"]}
    assert inactive == _expected_inactive(), data["layers"]
    for layer in data["layers"]:
        assert layer["active"] or (layer["why"] and layer["fix"]), layer


def test_doctor_without_bubblewrap_or_landlock_fails_and_names_the_fix(monkeypatch):
    result = _doctor(monkeypatch, GRADER_SANDBOX="process")
    assert result.exit_code == 3, result.output
    out = " ".join(result.output.split())
    assert "MISSING filesystem" in out and "install bubblewrap" in out and "Landlock" in out
    assert "SUCCEEDED read a secret file" in out and "SUCCEEDED write outside the temp dir" in out
    assert "instructor grading (batch, worker, regrade) will refuse" in out
    assert "landlock: disabled by GRADER_SANDBOX=process" in out


def test_doctor_with_no_bwrap_on_path_falls_back_to_landlock(monkeypatch, tmp_path):
    _need_landlock()
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no bwrap to be found
    result = _doctor(monkeypatch, "--json", "--no-canaries")
    data = json.loads(result.output)
    assert data["launcher"] == "LandlockLauncher"
    assert "not installed" in data["bwrap"] and data["landlock"].startswith("works (ABI")
    assert data["instructor_grading"] and data["missing_for_instructor"] == []
    status = {layer["name"]: layer for layer in data["layers"]}
    assert status["filesystem"]["active"] and status["landlock"]["active"] and status["seccomp"]["active"]
    for name in ("network", "pid-namespace", "ipc-namespace"):  # what only namespaces give, and why
        assert not status[name]["active"] and "bubblewrap" in status[name]["why"], status[name]
        assert "user namespaces" in status[name]["fix"]


def test_doctor_with_landlock_forced_blocks_every_canary(monkeypatch):
    _need_landlock()
    result = _doctor(monkeypatch, GRADER_SANDBOX="landlock")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "launcher: LandlockLauncher" in out and "bubblewrap: disabled by GRADER_SANDBOX=landlock" in out
    assert "landlock: works (ABI" in out
    for name in CANARIES:
        assert f"canary blocked {name}" in out, out
    assert "ok landlock" in out and "ok filesystem" in out
    assert "MISSING pid-namespace" in out
    assert "instructor grading: allowed" in out


def test_doctor_with_no_bwrap_and_no_landlock(monkeypatch, tmp_path):
    _no_landlock(monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path))
    result = _doctor(monkeypatch, "--json", "--no-canaries")
    data = json.loads(result.output)
    assert data["launcher"] == "ProcessLauncher"
    assert "not installed" in data["bwrap"] and "simulated" in data["landlock"]
    missing = {layer["name"]: layer for layer in data["layers"] if not layer["active"]}
    assert "filesystem" in missing and "bubblewrap" in missing["filesystem"]["fix"]
    assert "simulated" in missing["filesystem"]["why"] and "Landlock" in missing["filesystem"]["fix"]
    assert data["missing_for_instructor"] == ["filesystem"]


def test_doctor_landlock_forced_but_missing_exits_3(monkeypatch):
    _no_landlock(monkeypatch)
    result = _doctor(monkeypatch, "--no-canaries", GRADER_SANDBOX="landlock")
    assert result.exit_code == 3, result.output
    assert "GRADER_SANDBOX=landlock but Landlock does not work here" in " ".join(result.output.split())


def test_doctor_reports_cgroups(monkeypatch):
    result = _doctor(monkeypatch, "--json", "--no-canaries")
    data = json.loads(result.output)
    st = cgroup.status()
    status = {layer["name"]: layer for layer in data["layers"]}
    assert status["cgroup"]["active"] == st.works
    assert data["cgroup"].startswith("works under") == st.works
    if st.works and not st.limits:
        assert status["cgroup-limits"]["why"] == st.limits_why and "memory" in st.limits_why


def test_doctor_without_cgroups(monkeypatch):
    result = _doctor(monkeypatch, "--json", "--no-canaries", GRADER_SANDBOX_CGROUP="0")
    data = json.loads(result.output)
    status = {layer["name"]: layer for layer in data["layers"]}
    assert not status["cgroup"]["active"] and "GRADER_SANDBOX_CGROUP=0" in status["cgroup"]["why"]
    assert status["cgroup"]["fix"]
    assert data["cgroup"] == "disabled by GRADER_SANDBOX_CGROUP=0"
