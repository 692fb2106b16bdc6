"""Finding the submission in a student repository (grader/ci/discover.py): by file
name, by the functions it defines (parsed, never imported), the assignment
inferred, folders skipped, ties and nothing found as one-line usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.ci.discover import defined_functions, find_submission, python_files
from grader.errors import UsageError
from grader.packs import problems_root
from test_ci_util import EXAMPLES, ROOT, make_repo

HW2 = problems_root()
TINY = ROOT / "tests" / "packs"
CORRECT = EXAMPLES / "correct_vectorized.py"
STARTER = ROOT / "problems" / "hw2" / "starter.py"


def find(path, assignment=None, root=HW2):
    return find_submission(path, assignment=assignment, problems_root=root)


def test_by_file_name_anywhere_in_the_tree(tmp_path):
    repo = make_repo(tmp_path, {"homework/two/hw2.py": CORRECT, "README.md": "hi", "notes.py": "x = 1\n"})
    found = find(repo)
    assert found.path == repo / "homework" / "two" / "hw2.py"
    assert found.assignment == "hw2" and found.how == "by its file name"
    assert len(found.defines) == len(found.functions) == 9
    assert found.describe().startswith("found homework/two/hw2.py for hw2 (by its file name; it defines 9 of 9")


def test_file_name_wins_over_function_matches(tmp_path):
    repo = make_repo(tmp_path, {"hw2.py": "def graph(x, y, z):\n    return 1\n", "solution.py": CORRECT})
    assert find(repo).path.name == "hw2.py"


def test_by_functions_when_no_file_has_the_name(tmp_path):
    repo = make_repo(tmp_path, {"src/backprop.py": CORRECT, "src/util.py": "def graph(x, y, z):\n    return 0\n",
                                "tests/test_backprop.py": "from backprop import graph\n"})
    found = find(repo, "hw2")
    assert found.path == repo / "src" / "backprop.py"
    assert found.how == "by the functions it defines"
    assert "also considered src/util.py" in found.describe()


def test_assignment_inferred_from_functions_without_a_name(tmp_path):
    repo = make_repo(tmp_path, {"mywork.py": CORRECT})
    assert find(repo).assignment == "hw2"


def test_implemented_beats_the_starter_stubs(tmp_path):
    repo = make_repo(tmp_path, {"starter/starter.py": STARTER, "solution.py": CORRECT})
    assert find(repo, "hw2").path.name == "solution.py"


def test_shallowest_of_two_named_files(tmp_path):
    repo = make_repo(tmp_path, {"hw2.py": CORRECT, "old/attempt/hw2.py": CORRECT})
    found = find(repo)
    assert found.path == repo / "hw2.py"
    assert found.others == (repo / "old" / "attempt" / "hw2.py",)


def test_a_tie_is_a_usage_error_naming_both(tmp_path):
    repo = make_repo(tmp_path, {"a/hw2.py": CORRECT, "b/hw2.py": CORRECT})
    with pytest.raises(UsageError, match=r"a/hw2\.py, b/hw2\.py"):
        find(repo)


def test_skipped_folders(tmp_path):
    repo = make_repo(tmp_path, {
        ".git/hw2.py": CORRECT, ".venv/lib/hw2.py": CORRECT, "venv/pyvenv.cfg": "home = /usr\n",
        "venv/lib/python3.11/site-packages/pkg/hw2.py": CORRECT, "node_modules/x/hw2.py": CORRECT,
        "lib/site-packages/hw2.py": CORRECT, "__pycache__/hw2.py": CORRECT, "work/answer.py": CORRECT,
    })
    assert [p.relative_to(repo).as_posix() for p in python_files(repo)] == ["work/answer.py"]
    assert find(repo).path == repo / "work" / "answer.py"


def test_symlink_out_of_the_repository_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "hw2.py").write_text(CORRECT.read_text())
    repo = make_repo(tmp_path, {"mine.py": CORRECT})
    (repo / "hw2.py").symlink_to(outside / "hw2.py")
    (repo / "linked").symlink_to(outside, target_is_directory=True)
    assert find(repo).path == repo / "mine.py"


def test_parsing_never_imports(tmp_path):
    marker = tmp_path / "imported"
    repo = make_repo(tmp_path, {"hw2_work.py": f"open({str(marker)!r}, 'w').write('x')\n"
                                               "def graph(x, y, z):\n    return 1\n"})
    assert find(repo, "hw2").path.name == "hw2_work.py"
    assert not marker.exists()


def test_a_file_with_a_syntax_error_still_counts_its_defs(tmp_path):
    defs = defined_functions(EXAMPLES / "syntax_error.py")
    assert {"graph", "sigmoid_neuron", "svm_loss"} <= set(defs)
    repo = make_repo(tmp_path, {"answers.py": EXAMPLES / "syntax_error.py"})
    assert find(repo, "hw2").path.name == "answers.py"


def test_stubs_are_told_apart():
    defs = defined_functions(STARTER)
    assert defs and not any(defs.values())
    assert all(defined_functions(CORRECT).values())


def test_nothing_found_is_a_usage_error(tmp_path):
    repo = make_repo(tmp_path, {"main.py": "print('hello')\n"})
    with pytest.raises(UsageError, match="no hw2.py found") as info:
        find(repo)
    assert "\n" not in str(info.value)


def test_a_given_file(tmp_path):
    repo = make_repo(tmp_path, {"whatever.py": CORRECT})
    found = find(repo / "whatever.py")
    assert (found.path, found.assignment, found.how) == (repo / "whatever.py", "hw2", "as given")


def test_unknown_assignment_and_missing_path(tmp_path):
    with pytest.raises(UsageError, match="unknown assignment 'hw9'"):
        find(tmp_path, "hw9")
    with pytest.raises(UsageError, match="no such file or folder"):
        find(tmp_path / "nope")


def test_several_assignments_by_name_need_assignment(tmp_path):
    root = tmp_path / "problems"
    for aid in ("hw2", "hw3"):
        (root / aid).mkdir(parents=True)
        (root / aid / "assignment.toml").write_text((HW2 / "hw2" / "assignment.toml").read_text())
    repo = make_repo(tmp_path, {"hw2.py": CORRECT, "hw3.py": CORRECT})
    with pytest.raises(UsageError, match="several assignments.*--assignment"):
        find(repo, root=root)
    assert find(repo, "hw3", root=root).path.name == "hw3.py"


def test_works_with_another_pack(tmp_path):
    from grader.ci.discover import assignment_functions

    names = assignment_functions("hw_tiny", TINY)
    assert names
    repo = make_repo(tmp_path, {"x.py": "".join(f"def {n}(*a):\n    return 0\n" for n in names)})
    found = find(repo, root=TINY)
    assert found.assignment == "hw_tiny" and found.path == repo / "x.py"
