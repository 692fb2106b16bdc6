"""Which paths the child needs, which it must never see, and how to carve one out of the other.

Both filesystem layers use this. bubblewrap binds whole trees (/usr, the Python
prefix) and then hides the secrets inside them with empty mounts (`hide_within`).
Landlock grants trees and cannot take a subtree back, so a granted directory that
holds a secret is granted entry by entry around it instead (`grant_around`).

Secrets are every folder on `sys.path` that is not the standard library (site- and
dist-packages, editable installs, the project directory), the installed grader
package and its problems folder, and whatever GRADER_PROBLEMS / GRADER_DATABASE_URL
point at.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

SITE_NAMES = ("site-packages", "dist-packages")


def within(path: str, top: str) -> bool:
    """`path` is `top` or lies below it (both real, absolute)."""
    return path == top or path.startswith(top.rstrip("/") + "/")


def strictly_within(path: str, top: str) -> bool:
    return path != top and within(path, top)


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(path))


def stdlib_paths() -> list[str]:
    """The standard library: stdlib, platstdlib, lib-dynload and the stdlib zip (real paths)."""
    found: list[str] = []
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib"):
        if key in paths:
            found.append(_real(paths[key]))
    for entry in sys.path:
        if entry.endswith(".zip") or os.path.basename(entry.rstrip("/")) == "lib-dynload":
            found.append(_real(entry))
    return sorted(set(found))


def interpreter_files() -> list[str]:
    """The interpreter and its shared library (real paths that exist)."""
    files = {_real(sys.executable)}
    libdir, ldlib = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    if libdir and ldlib and ".so" in ldlib:
        lib = os.path.join(libdir, ldlib)
        if os.path.exists(lib):
            files.add(_real(lib))
    return sorted(f for f in files if os.path.exists(f))


def numpy_dirs() -> list[str]:
    """numpy's own directories (numpy/ and numpy.libs/ when present), never the whole site-packages."""
    import importlib.util

    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return []
    pkg = Path(next(iter(spec.submodule_search_locations))).resolve()
    dirs = [str(pkg)]
    libs = pkg.parent / "numpy.libs"
    if libs.is_dir():
        dirs.append(str(libs.resolve()))
    return dirs


def grader_dirs() -> list[str]:
    """The grader package and the problems folder next to it (installed or source tree)."""
    pkg = Path(__file__).resolve().parents[1]
    return [str(pkg), str(pkg.parent / "problems")]


def system_site_dirs() -> list[str]:
    """Every Python's site- and dist-packages under the system prefixes (another
    interpreter's packages may hold a grader install too)."""
    import glob

    found = []
    for lib in ("/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64", "/usr/share"):
        for name in SITE_NAMES:
            found += glob.glob(f"{lib}/python*/{name}")
    return found


def _env_secrets() -> list[str]:
    found = []
    problems = os.environ.get("GRADER_PROBLEMS")
    if problems:
        found.append(problems)
    url = os.environ.get("GRADER_DATABASE_URL", "")
    if url.startswith("sqlite:///"):
        found.append(url[len("sqlite:///"):].split("?")[0])
    elif url and "://" not in url:
        found.append(url)
    return found


def secret_paths(extra: tuple[str, ...] = ()) -> list[str]:
    """Existing real paths the child must never see (see the module docstring)."""
    std = set(stdlib_paths())
    candidates: list[str] = []
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        real = _real(entry or os.getcwd())
        if real not in std:
            candidates.append(real)
    try:
        candidates += site.getsitepackages() + [site.getusersitepackages()]
    except AttributeError:  # a virtualenv's old site.py
        pass
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    for scheme_vars in ({}, base):  # a venv's packages, and its base interpreter's (not on sys.path, still on disk)
        for key in ("purelib", "platlib"):
            path = sysconfig.get_paths(vars=scheme_vars).get(key)
            if path:
                candidates.append(path)
    candidates += grader_dirs() + _env_secrets() + system_site_dirs() + list(extra)
    found = {_real(p) for p in candidates if p}
    return sorted(p for p in found if os.path.exists(p) and p != "/")


def hide_within(secret: str, needed: list[str]) -> list[str]:
    """Paths to cover so that `secret` is hidden but every `needed` path below it stays:
    the secret itself, or (when it holds a needed path) its other entries, recursively."""
    if not any(within(n, secret) for n in needed):
        return [secret]
    if not os.path.isdir(secret) or any(n == secret for n in needed):
        return []
    out: list[str] = []
    try:
        entries = sorted(os.scandir(secret), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        path = entry.path
        if entry.is_symlink():
            continue  # a link's target is judged where it lives
        out += hide_within(path, needed)
    return out


def grant_around(top: str, secrets: list[str]) -> list[str]:
    """Real paths to grant so that all of `top` is reachable except the secrets below it:
    `top` itself when it holds no secret, else its entries around them, recursively."""
    top = _real(top)
    if not os.path.exists(top) or top in secrets:
        return []
    if not any(strictly_within(s, top) for s in secrets):
        return [top]
    out: list[str] = []
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        real = _real(entry.path)
        if entry.is_symlink():
            # Granting a link grants its target: only when that is no secret and holds none.
            if os.path.exists(real) and not any(within(real, s) or strictly_within(s, real) for s in secrets):
                out.append(real)
            continue
        out += grant_around(real, secrets)
    return out


def system_lib_dirs() -> list[str]:
    """Where the dynamic loader finds shared libraries for modules imported later
    (libffi for ctypes, libsqlite3, libz...): the multiarch and lib64 folders."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = []
    for d in (f"/lib/{multiarch}" if multiarch else "", f"/usr/lib/{multiarch}" if multiarch else "",
              "/lib64", "/usr/lib64"):
        if d and os.path.isdir(d):
            dirs.append(_real(d))
    if not multiarch:  # e.g. Fedora, Arch: libraries straight in /usr/lib(64)
        for d in ("/usr/lib", "/lib"):
            if os.path.isdir(d):
                dirs.append(_real(d))
    return sorted(set(dirs))


@lru_cache(maxsize=4)
def _python_read_paths(key: tuple) -> tuple[tuple[str, ...], tuple[str, ...]]:
    secrets = secret_paths()
    dirs: list[str] = []
    for top in stdlib_paths():
        if top.endswith(".zip"):
            continue
        dirs += grant_around(top, secrets)
    for top in system_lib_dirs():
        dirs += grant_around(top, secrets)
    for d in numpy_dirs():
        dirs += grant_around(d, secrets)
    files = interpreter_files() + [p for p in stdlib_paths() if p.endswith(".zip") and os.path.isfile(p)]
    if os.path.exists("/etc/ld.so.cache"):
        files.append("/etc/ld.so.cache")
    return tuple(dict.fromkeys(dirs)), tuple(dict.fromkeys(files))


def python_read_paths() -> tuple[list[str], list[str]]:
    """(directories, files) the child may read and map: the standard library (without its
    site-packages), system shared libraries, numpy's own folders and the interpreter."""
    key = (tuple(p for p in sys.path if isinstance(p, str)), os.environ.get("GRADER_PROBLEMS"),
           os.environ.get("GRADER_DATABASE_URL"), os.getcwd())
    dirs, files = _python_read_paths(key)
    return list(dirs), list(files)
