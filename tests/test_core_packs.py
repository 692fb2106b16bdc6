"""Assignment packs: a broken pack is a one-line SpecError naming its file; a new
assignment (tests/packs/hw_tiny) needs no change in grader/; a pack with no
reference.py (tests/packs/hw_stored) grades from stored expected outputs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import SpecError, UsageError
from grader.packs import list_assignments, load_pack

PACKS = Path(__file__).resolve().parent / "packs"

GOOD_TOML = """\
id = "hw_x"
[[problems]]
id = "cube"
function = "cube"
points = 4
forward = "cube_forward"
args = [{ name = "x", shape = [3] }]
outputs = [{ name = "f", kind = "value" }, { name = "dx", kind = "grad", wrt = "x" }]
cases = [{ name = "random", repeat = 2 }]
"""
GOOD_REFERENCE = "import numpy as np\n\ndef cube_forward(x):\n    return float(np.sum(x ** 3))\n"


def make_pack(root: Path, toml: str = GOOD_TOML, reference: str | None = GOOD_REFERENCE, name: str = "hw_x") -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "assignment.toml").write_text(toml)
    if reference is not None:
        (directory / "reference.py").write_text(reference)
    return directory


def submit(tmp_path: Path, source: str, *args: str, name: str = "sub.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    result = CliRunner().invoke(app, ["submit", str(path), "--db", str(tmp_path / "g.db"), "--format", "json", *args])
    return result


# ----- broken packs --------------------------------------------------------------------
BROKEN = {
    "bad TOML": (GOOD_TOML.replace('points = 4', 'points = = 4'), GOOD_REFERENCE, "assignment.toml"),
    "unknown field": (GOOD_TOML.replace('points = 4', 'points = 4\npionts = 5'), GOOD_REFERENCE, "assignment.toml"),
    "unknown field in a case": (GOOD_TOML.replace('repeat = 2', 'repeat = 2, reapet = 3'), GOOD_REFERENCE,
                                "assignment.toml"),
    "gradient wrt unknown arg": (GOOD_TOML.replace('wrt = "x"', 'wrt = "z"'), GOOD_REFERENCE, "assignment.toml"),
    "grad without wrt": (GOOD_TOML.replace(', wrt = "x"', ''), GOOD_REFERENCE, "assignment.toml"),
    "points not positive": (GOOD_TOML.replace('points = 4', 'points = 0'), GOOD_REFERENCE, "assignment.toml"),
    "case value for unknown arg": (GOOD_TOML.replace('repeat = 2', 'repeat = 2, values = { q = 1.0 }'),
                                   GOOD_REFERENCE, "assignment.toml"),
    "repeated problem ids": (GOOD_TOML + GOOD_TOML[GOOD_TOML.index("[[problems]]"):], GOOD_REFERENCE,
                             "assignment.toml"),
    "reference missing a named function": (GOOD_TOML, "def something_else(x):\n    return 0.0\n", "reference.py"),
    "reference names a builder that is missing": (
        GOOD_TOML.replace('repeat = 2 }', 'repeat = 2, build = "make_case" }'), GOOD_REFERENCE, "reference.py"),
    "reference that cannot be imported": (GOOD_TOML, "import numpy as np\nraise RuntimeError('boom')\n",
                                          "reference.py"),
    "reference with a syntax error": (GOOD_TOML, "def cube_forward(x)\n    return 0\n", "reference.py"),
    "shape names an undeclared dim": (GOOD_TOML.replace('shape = [3]', 'shape = ["n"]'), GOOD_REFERENCE,
                                      "assignment.toml"),
    "dim range with low > high": (GOOD_TOML.replace('points = 4', 'points = 4\ndims = { n = [5, 2] }').replace(
        'shape = [3]', 'shape = ["n"]'), GOOD_REFERENCE, "assignment.toml"),
    "bad dim expression": (GOOD_TOML.replace('points = 4', 'points = 4\ndims = { n = [2, 5] }').replace(
        'shape = [3]', 'shape = ["n+x"]'), GOOD_REFERENCE, "assignment.toml"),
    "no reference.py for a named forward": (GOOD_TOML, None, "reference.py"),
    "no forward, no reference, no stored outputs": (GOOD_TOML.replace('forward = "cube_forward"\n', ''), None,
                                                    "assignment.toml"),
    "not UTF-8": (GOOD_TOML.replace('id = "hw_x"', 'id = "hw_x"\ntitle = "caf\udce9"'), GOOD_REFERENCE,
                  "assignment.toml"),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_broken_pack_is_a_one_line_spec_error_naming_the_file(tmp_path, kind):
    toml, reference, culprit = BROKEN[kind]
    directory = tmp_path / "hw_x"
    directory.mkdir()
    (directory / "assignment.toml").write_bytes(toml.encode("utf-8", "surrogateescape"))
    if reference is not None:
        (directory / "reference.py").write_text(reference)
    with pytest.raises(SpecError) as info:
        load_pack("hw_x", tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert str(directory / culprit) in message, message
    assert "Traceback" not in message


def test_spec_error_says_what_is_wrong(tmp_path):
    make_pack(tmp_path, GOOD_TOML.replace('wrt = "x"', 'wrt = "z"'))
    with pytest.raises(SpecError, match="'z'"):
        load_pack("hw_x", tmp_path)
    make_pack(tmp_path, GOOD_TOML.replace('points = 4', 'points = 4\npionts = 5'), name="hw_y")
    with pytest.raises(SpecError, match="pionts"):
        load_pack("hw_y", tmp_path)
    make_pack(tmp_path, GOOD_TOML, "def other(x):\n    return 0.0\n", name="hw_z")
    with pytest.raises(SpecError, match="cube_forward"):
        load_pack("hw_z", tmp_path)


def test_broken_pack_through_the_cli_exits_2_with_one_line(tmp_path):
    root = tmp_path / "packs"
    make_pack(root, GOOD_TOML.replace('wrt = "x"', 'wrt = "z"'))
    sub = tmp_path / "hw_x.py"
    sub.write_text("def cube(x):\n    return 0.0, x\n")
    result = CliRunner().invoke(app, ["submit", str(sub), "--problems", str(root), "--db", str(tmp_path / "g.db")])
    assert result.exit_code == 2, result.output
    assert str(root / "hw_x" / "assignment.toml") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output


def test_unknown_assignment_is_a_usage_error(tmp_path):
    make_pack(tmp_path)
    with pytest.raises(UsageError, match="hw_nope") as info:
        load_pack("hw_nope", tmp_path)
    assert not isinstance(info.value, SpecError)
    assert "hw_x" in str(info.value)  # lists the known ones


def test_list_assignments_sees_only_packs(tmp_path):
    make_pack(tmp_path)
    (tmp_path / "notes").mkdir()
    (tmp_path / "README.md").write_text("x")
    assert list_assignments(tmp_path) == ["hw_x"]
    assert list_assignments(PACKS) == ["hw_stored", "hw_tiny"]


def test_spec_sha_changes_with_the_reference(tmp_path):
    make_pack(tmp_path)
    first = load_pack("hw_x", tmp_path).spec_sha256
    (tmp_path / "hw_x" / "reference.py").write_text(GOOD_REFERENCE + "\n# edited\n")
    assert load_pack("hw_x", tmp_path).spec_sha256 != first


# ----- a new assignment needs no change in grader/ -----------------------------------------
CUBE_RIGHT = """\
    import numpy as np

    def cube(x):
        return float(np.sum(x ** 3)), 3 * x ** 2
"""
CUBE_WRONG_GRADIENT = CUBE_RIGHT.replace("3 * x ** 2", "2 * x ** 2")


def test_new_assignment_is_graded_from_its_pack_folder(tmp_path):
    result = submit(tmp_path, CUBE_RIGHT, "--problems", str(PACKS), "--assignment", "hw_tiny")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["assignment"] == "hw_tiny"
    assert (report["score"], report["max_score"]) == (10.0, 10.0)
    assert [p["id"] for p in report["problems"]] == ["cube"]


def test_new_assignment_finds_a_wrong_gradient_by_finite_differences_alone(tmp_path):
    """hw_tiny gives only a forward: finite differences are the oracle."""
    result = submit(tmp_path, CUBE_WRONG_GRADIENT, "--problems", str(PACKS), "--assignment", "hw_tiny")
    assert result.exit_code == 0, result.output
    (problem,) = json.loads(result.stdout)["problems"]
    failed = {c["name"]: c["message"] for c in problem["checks"] if not c["passed"]}
    assert list(failed) == ["gradient: dx"]
    assert "finite differences" in failed["gradient: dx"]
    assert problem["status"] == "failed" and 0 < problem["score"] < 10


def test_new_assignment_defaults_from_the_file_name(tmp_path):
    result = submit(tmp_path, CUBE_RIGHT, "--problems", str(PACKS), name="hw_tiny.py")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["score"] == 10.0


def test_problems_lists_packs_of_a_given_folder():
    result = CliRunner().invoke(app, ["problems", "--problems", str(PACKS)])
    assert result.exit_code == 0, result.output
    for text in ("hw_tiny", "cube", "hw_stored", "scaled_sum"):
        assert text in result.stdout


def test_grader_problems_env_var_points_at_a_pack_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_PROBLEMS", str(PACKS))
    result = CliRunner().invoke(app, ["problems", "hw_tiny"])
    assert result.exit_code == 0, result.output
    assert "cube" in result.stdout


# ----- a pack with no reference: stored expected outputs ---------------------------------------
STORED_RIGHT = """\
    def scaled_sum(a, x):
        return a * float(sum(x)), float(sum(x)), [a] * len(x)
"""


def test_pack_without_reference_grades_from_stored_outputs(tmp_path):
    assert not (PACKS / "hw_stored" / "reference.py").exists()
    assert load_pack("hw_stored", PACKS).reference is None
    result = submit(tmp_path, STORED_RIGHT, "--problems", str(PACKS), "--assignment", "hw_stored")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["score"] == report["max_score"] == 6.0


@pytest.mark.parametrize("mistake, check", [
    ("return a * float(sum(x)), a, [a] * len(x)", "gradient: da"),
    ("return a * float(sum(x)) + 1, float(sum(x)), [a] * len(x)", "value: f"),
    ("return a * float(sum(x)), float(sum(x)), [1.0] * len(x)", "gradient: dx"),
    ("return a * float(sum(x)), float(sum(x)), [a] * (len(x) + 1)", "shape: dx"),
])
def test_stored_outputs_catch_a_wrong_output(tmp_path, mistake, check):
    source = f"def scaled_sum(a, x):\n    {mistake}\n"
    result = submit(tmp_path, source, "--problems", str(PACKS), "--assignment", "hw_stored")
    assert result.exit_code == 0, result.output
    (problem,) = json.loads(result.stdout)["problems"]
    failed = [c["name"] for c in problem["checks"] if not c["passed"]]
    assert check in failed, failed
    assert problem["score"] < 6.0


def test_stored_outputs_must_name_real_outputs(tmp_path):
    """A typo in `expected` must not silently leave an output unchecked."""
    toml = (PACKS / "hw_stored" / "assignment.toml").read_text().replace("dx = [2.0, 2.0, 2.0]",
                                                                          "dz = [2.0, 2.0, 2.0]")
    make_pack(tmp_path, toml.replace('id = "hw_stored"', 'id = "hw_x"'), reference=None)
    with pytest.raises(SpecError, match="dz"):
        load_pack("hw_x", tmp_path)


def test_stored_outputs_need_fixed_inputs(tmp_path):
    toml = (PACKS / "hw_stored" / "assignment.toml").read_text().replace("values = { a = 2.0, x = [1.0, 2.0, 3.0] }",
                                                                          "values = { a = 2.0 }")
    make_pack(tmp_path, toml.replace('id = "hw_stored"', 'id = "hw_x"'), reference=None)
    with pytest.raises(SpecError, match="fixed"):
        load_pack("hw_x", tmp_path)


def test_stored_outputs_must_cover_every_output_without_a_reference(tmp_path):
    toml = (PACKS / "hw_stored" / "assignment.toml").read_text().replace(", dx = [2.0, 2.0, 2.0]", "")
    make_pack(tmp_path, toml.replace('id = "hw_stored"', 'id = "hw_x"'), reference=None)
    with pytest.raises(SpecError, match="dx"):
        load_pack("hw_x", tmp_path)


def test_forward_only_pack_checks_the_value(tmp_path):
    source = CUBE_RIGHT.replace("float(np.sum(x ** 3))", "42.0")
    result = submit(tmp_path, source, "--problems", str(PACKS), "--assignment", "hw_tiny")
    assert result.exit_code == 0, result.output
    (problem,) = json.loads(result.stdout)["problems"]
    failed = [c["name"] for c in problem["checks"] if not c["passed"]]
    assert failed == ["value: f"]
