"""What students actually hand in: other file names, encodings, notebooks."""

import json
from pathlib import Path

from typer.testing import CliRunner

from grader.cli import app
from grader.pipeline import assignment_from_filename

CORRECT = Path(__file__).resolve().parent.parent / "submissions" / "examples" / "hw2" / "correct_vectorized.py"
runner = CliRunner()


def test_assignment_is_found_in_the_file_name():
    known = ["hw2", "hw3"]
    assert assignment_from_filename(Path("hw2.py"), known) == "hw2"
    assert assignment_from_filename(Path("alice_hw2.py"), known) == "hw2"
    assert assignment_from_filename(Path("HW2-final.py"), known) == "hw2"
    assert assignment_from_filename(Path("hw2_and_hw3.py"), known) == "hw2_and_hw3"  # ambiguous: left as is
    assert assignment_from_filename(Path("homework.py"), known) == "homework"


def _submit(path, tmp_path, *extra):
    return runner.invoke(app, ["submit", str(path), "--db", str(tmp_path / "g.db"), "--format", "json",
                               "--problem", "graph", *extra])


def test_a_named_copy_is_graded_as_its_assignment(tmp_path):
    path = tmp_path / "alice_hw2_final.py"
    path.write_bytes(CORRECT.read_bytes())
    result = _submit(path, tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["assignment"], report["score"]) == ("hw2", 5.0)


def test_a_declared_latin1_file_is_graded(tmp_path):
    path = tmp_path / "hw2.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\n# r\xe9sum\xe9 of my work\n"
                     b"def graph(x, y, z):\n    return (x + y) * z, z, z, x + y\n")
    result = _submit(path, tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["score"] == 5.0


def test_an_undeclared_latin1_file_is_a_usage_error(tmp_path):
    path = tmp_path / "hw2.py"
    path.write_bytes(b"# r\xe9sum\xe9\n")
    result = _submit(path, tmp_path)
    assert result.exit_code == 2
    assert "hw2.py" in result.stderr and "UTF-8" in result.stderr


def test_a_notebook_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "hw2.ipynb"
    path.write_text(json.dumps({"cells": [], "nbformat": 4, "nbformat_minor": 5}))
    result = _submit(path, tmp_path, "--assignment", "hw2")
    assert result.exit_code == 2
    assert "notebook" in result.stderr and ".py" in result.stderr


def test_a_misnamed_function_gets_a_did_you_mean(tmp_path):
    path = tmp_path / "hw2.py"
    path.write_text("def softmax_loss_vectorized(W, X, y, reg):\n    return 0.0, W\n"
                    "def svm_los(W, X, y, reg):\n    return 0.0, W\n"
                    "def loss(W):\n    return 0.0\n")
    result = runner.invoke(app, ["submit", str(path), "--db", str(tmp_path / "g.db"), "--format", "json",
                                 "--problem", "softmax_loss", "--problem", "svm_loss", "--problem", "graph"])
    assert result.exit_code == 0, result.output
    messages = {p["id"]: p["checks"][0]["message"] for p in json.loads(result.stdout)["problems"]}
    assert "your file has softmax_loss_vectorized: rename it to softmax_loss?" in messages["softmax_loss"]
    assert "your file has svm_los: rename it to svm_loss?" in messages["svm_loss"]
    assert "your file has" not in messages["graph"]
