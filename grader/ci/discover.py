"""Find the submission in a student's repository, without importing anything.

The rules, in order (documented in the README):

1. PATH is a file: that file. Its assignment is `--assignment`, else its name
   (`hw2.py` -> hw2) when that is a known assignment, else the assignment whose
   functions it defines most.
2. A file named `<assignment>.py` anywhere in the tree wins. Without
   `--assignment`, the assignment is the known one whose name the files carry;
   several is an error that asks for `--assignment`.
3. Otherwise every `.py` file is parsed (ast; never imported) and the one that
   defines the most of the assignment's functions is taken.

Among several candidates the one with the most implemented functions wins (a
body that is only `raise NotImplementedError`, `pass` or `...` is a stub), then
the most defined ones, then the shallowest; a tie that remains is an error
naming the files. The walk skips hidden folders (`.git`, `.venv`, ...),
virtual environments (any folder holding `pyvenv.cfg`), `node_modules`,
`site-packages`, `dist-packages` and `__pycache__`, and follows no symlink
that leads out of the repository.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UsageError
from grader.packs import SPEC_FILE, list_assignments

SKIP_DIRS = frozenset({"node_modules", "site-packages", "dist-packages", "__pycache__"})
MAX_FILES = 20_000
MAX_PARSE_BYTES = 1 << 20
_TOP_LEVEL_DEF = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


@dataclass(frozen=True)
class Candidate:
    path: Path
    defines: frozenset[str]
    implemented: frozenset[str]
    depth: int

    def key(self) -> tuple:
        return (-len(self.implemented), -len(self.defines), self.depth)


@dataclass(frozen=True)
class Found:
    """The submission `grader ci` grades, and why it was chosen."""

    path: Path
    root: Path
    assignment: str
    how: str
    functions: tuple[str, ...]
    defines: frozenset[str]
    others: tuple[Path, ...] = field(default=())

    def relative(self, path: Path | None = None) -> str:
        path = path or self.path
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def describe(self) -> str:
        missing = [f for f in self.functions if f not in self.defines]
        text = (f"found {self.relative()} for {self.assignment} ({self.how}; it defines {len(self.defines)} of "
                f"{len(self.functions)} functions")
        if missing and len(missing) <= 4:
            text += f", not {', '.join(missing)}"
        text += ")"
        if self.others:
            shown = ", ".join(self.relative(p) for p in self.others[:3])
            more = f" and {len(self.others) - 3} more" if len(self.others) > 3 else ""
            text += f"; also considered {shown}{more}"
        return text


def assignment_functions(assignment: str, root: Path) -> tuple[str, ...]:
    """The function names an assignment asks for, read from its spec (no reference imported)."""
    spec = root / assignment / SPEC_FILE
    if not spec.is_file():
        known = ", ".join(list_assignments(root)) or "none"
        raise UsageError(f"unknown assignment {assignment!r} in {root} (known: {known}); pass --assignment")
    try:
        data = tomllib.loads(spec.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise UsageError(f"{spec}: cannot be read ({exc})") from None
    names = [p.get("function") for p in data.get("problems", []) if isinstance(p, dict)]
    return tuple(dict.fromkeys(n for n in names if isinstance(n, str)))


def _is_stub(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body:
        return True
    if len(body) != 1:
        return False
    stmt = body[0]
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis:
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _module_defs(tree: ast.Module) -> dict[str, bool]:
    """Top-level function names (also under module-level if/try/with) -> implemented?"""
    out: dict[str, bool] = {}
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = not _is_stub(node)
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for name in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, name, []) or []:
                    stack.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])
    return out


def defined_functions(path: Path) -> dict[str, bool]:
    """Function name -> implemented, for a Python file, by parsing it (never importing).

    A file that does not parse (a syntax error is common in a student's work)
    falls back to its `def` lines at column 0, each counted as implemented."""
    try:
        if path.stat().st_size > MAX_PARSE_BYTES:
            return {}
        source = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    try:
        return _module_defs(ast.parse(source, filename=str(path)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {name: True for name in _TOP_LEVEL_DEF.findall(source)}


def python_files(root: Path) -> list[Path]:
    """Every `.py` file under `root`, skipping hidden folders, virtual environments,
    node_modules, site-packages and caches; symlinks only when they stay inside."""
    root_real = root.resolve()
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and d not in SKIP_DIRS
                             and not (here / d / "pyvenv.cfg").exists()
                             and not (here / d).is_symlink())
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = here / name
            if path.is_symlink():
                try:
                    path.resolve().relative_to(root_real)
                except (ValueError, OSError):
                    continue
            if path.is_file():
                out.append(path)
                if len(out) >= MAX_FILES:
                    return out
    return out


def _candidate(path: Path, root: Path, functions: tuple[str, ...]) -> Candidate:
    defs = defined_functions(path)
    wanted = set(functions)
    try:
        depth = len(path.relative_to(root).parts)
    except ValueError:
        depth = 0
    return Candidate(path, frozenset(n for n in defs if n in wanted),
                     frozenset(n for n, impl in defs.items() if impl and n in wanted), depth)


def _best(candidates: list[Candidate], root: Path, what: str) -> Candidate:
    ranked = sorted(candidates, key=lambda c: (c.key(), str(c.path)))
    if len(ranked) > 1 and ranked[0].key() == ranked[1].key():
        tied = [c for c in ranked if c.key() == ranked[0].key()]
        names = ", ".join(_rel(c.path, root) for c in tied[:5])
        raise UsageError(f"{root}: several files look like {what} ({names}); "
                         f"name the one to grade, e.g. grader ci {_rel(tied[0].path, root)}")
    return ranked[0]


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def find_submission(path: Path, *, assignment: str | None, problems_root: Path) -> Found:
    """Find what to grade under `path` (a repository folder or a file)."""
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder; give your repository's folder or your .py file")
    known = list_assignments(problems_root)
    if assignment is not None and assignment not in known:
        raise UsageError(f"unknown assignment {assignment!r} in {problems_root} "
                         f"(known: {', '.join(known) or 'none'}); pass --assignment")
    if path.is_file():
        return _given_file(path, assignment, known, problems_root)
    root = path
    files = python_files(root)
    funcs = {a: assignment_functions(a, problems_root) for a in ([assignment] if assignment else known)}
    named = {a: [f for f in files if f.name == f"{a}.py"] for a in funcs}
    named = {a: fs for a, fs in named.items() if fs}
    if assignment is None and len(named) > 1:
        listing = ", ".join(_rel(fs[0], root) for fs in named.values())
        raise UsageError(f"{root}: files for several assignments ({listing}); pass --assignment")
    if named:
        (aid, fs), = named.items()
        cands = [_candidate(f, root, funcs[aid]) for f in fs]
        best = _best(cands, root, f"{aid}.py")
        return Found(best.path, root, aid, "by its file name", funcs[aid], best.defines,
                     tuple(c.path for c in cands if c is not best))
    scored: list[tuple[str, Candidate]] = []
    for aid, names in funcs.items():
        for f in files:
            cand = _candidate(f, root, names)
            if cand.defines:
                scored.append((aid, cand))
    if not scored:
        wanted = ", ".join(f"{a}.py" for a in funcs) or "a submission"
        example = next(iter(funcs.values()), ())
        raise UsageError(f"{root}: no {wanted} found, and no .py file defines "
                         f"{'any of ' + ', '.join(example[:4]) if example else 'the functions asked for'}"
                         f"{'...' if len(example) > 4 else ''}; name your file {next(iter(funcs), 'hw')}.py "
                         f"or pass its path")
    # across assignments, compare the fraction of each assignment's functions a file defines
    def frac(item: tuple[str, Candidate]) -> tuple:
        aid, c = item
        n = max(len(funcs[aid]), 1)
        return (-len(c.implemented) / n, -len(c.defines) / n)

    scored.sort(key=lambda item: (frac(item), item[1].depth, str(item[1].path)))
    top_aid = scored[0][0]
    rival = next((item for item in scored if item[0] != top_aid), None)
    if rival is not None and frac(rival) == frac(scored[0]):
        raise UsageError(f"{root}: {_rel(scored[0][1].path, root)} and {_rel(rival[1].path, root)} fit "
                         f"{top_aid} and {rival[0]} equally well; pass --assignment")
    same = [c for a, c in scored if a == top_aid]
    best = _best(same, root, f"{top_aid} (they define the same functions)")
    return Found(best.path, root, top_aid, "by the functions it defines", funcs[top_aid], best.defines,
                 tuple(c.path for c in sorted(same, key=lambda c: (c.key(), str(c.path))) if c is not best))


def _given_file(path: Path, assignment: str | None, known: list[str], problems_root: Path) -> Found:
    root = path.parent
    if assignment is None and path.stem in known:
        assignment = path.stem
    if assignment is None:
        best: tuple[float, str] | None = None
        for aid in known:
            names = assignment_functions(aid, problems_root)
            cand = _candidate(path, root, names)
            score = len(cand.defines) / max(len(names), 1)
            if score > 0 and (best is None or score > best[0]):
                best = (score, aid)
        if best is None:
            raise UsageError(f"{path}: defines none of the functions of {', '.join(known) or 'any assignment'}; "
                             "pass --assignment")
        assignment = best[1]
    names = assignment_functions(assignment, problems_root)
    cand = _candidate(path, root, names)
    return Found(path, root, assignment, "as given", names, cand.defines)
