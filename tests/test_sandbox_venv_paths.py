"""Run from a virtualenv, the base interpreter's site-packages is not on sys.path
but is still on disk under the bound standard library: it must be hidden too."""

import sys
import sysconfig

from grader.sandbox.paths import secret_paths


def test_base_interpreter_site_packages_is_secret():
    base = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix})
    secrets = secret_paths()
    for key in ("purelib", "platlib"):
        from pathlib import Path

        path = Path(base[key])
        if path.exists():
            assert str(path.resolve()) in secrets, (key, path)
