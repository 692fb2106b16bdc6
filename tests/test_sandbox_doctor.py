"""`grader doctor` reports truthfully, including on a machine that lacks a layer."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.sandbox import layers
from grader.sandbox.layers import bwrap_status

pytestmark = pytest.mark.security


def _doctor(monkeypatch, *args, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    layers._probe_bwrap.cache_clear()
    try:
        result = CliRunner().invoke(app, ["doctor", *args])
    finally:
        layers._probe_bwrap.cache_clear()
    return result


def test_doctor_all_layers_and_canaries_blocked(monkeypatch):
    ok, why = bwrap_status()
    if not ok and os.environ.get("CI") != "true":
        pytest.skip(f"this machine lacks bubblewrap: {why}")
    result = _doctor(monkeypatch, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["instructor_grading"] and data["launcher"] == "BwrapLauncher"
    assert {c["name"] for c in data["canaries"]} == {"read a secret file", "open a socket", "fork a process",
                                                     "write outside the temp dir"}
    assert all(c["blocked"] for c in data["canaries"])
    assert all(layer["active"] for layer in data["layers"])


def test_doctor_without_bubblewrap_fails_and_names_the_fix(monkeypatch):
    result = _doctor(monkeypatch, GRADER_SANDBOX="process")
    assert result.exit_code == 3, result.output
    out = " ".join(result.output.split())
    assert "MISSING filesystem" in out and "install bubblewrap" in out
    assert "SUCCEEDED read a secret file" in out and "SUCCEEDED write outside the temp dir" in out
    assert "instructor grading (batch, worker, regrade) will refuse" in out


def test_doctor_with_no_bwrap_on_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no bwrap to be found
    result = _doctor(monkeypatch, "--json", "--no-canaries")
    data = json.loads(result.output)
    assert data["launcher"] == "ProcessLauncher"
    assert "not installed" in data["bwrap"]
    missing = {layer["name"]: layer for layer in data["layers"] if not layer["active"]}
    assert "filesystem" in missing and "bubblewrap" in missing["filesystem"]["fix"]
    assert data["missing_for_instructor"] == ["filesystem"]
