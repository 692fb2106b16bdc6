"""The signature check: "callable with this signature", not "spelled exactly so"."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.evaluate import accepts_positional

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("params, ok", [
    (("W", "X", "y", "reg"), True),
    (("W", "X", "y", "reg", "verbose=False"), True),
    (("W", "X", "y", "reg", "*", "verbose=False"), True),
    (("*args",), True),
    (("W", "X", "y", "reg: float = 0.0"), True),
    (("W", "X", "y"), False),
    (("W", "X", "y", "reg", "extra"), False),
    (("W", "X", "*", "y", "reg"), False),
])
def test_accepts_positional(params, ok):
    assert accepts_positional(params, 4) is ok


def test_extra_parameters_through_the_cli(tmp_path):
    result = CliRunner().invoke(app, [
        "submit", str(HERE / "submissions" / "extra_parameters.py"), "--assignment", "hw2",
        "--db", str(tmp_path / "g.db"), "--format", "json",
        "--problem", "graph", "--problem", "sigmoid_neuron", "--problem", "l2_wx", "--problem", "two_layer"])
    assert result.exit_code == 0, result.output
    problems = {p["id"]: p for p in json.loads(result.stdout)["problems"]}
    assert all(problems[p]["score"] == problems[p]["max_score"] for p in ("graph", "sigmoid_neuron", "l2_wx"))
    signature = next(c for c in problems["two_layer"]["checks"] if c["name"] == "signature")
    assert not signature["passed"] and "(W1, W2, x, dout)" in signature["message"]
