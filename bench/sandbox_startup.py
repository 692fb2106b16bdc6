"""Sandbox start-up cost: Sandbox start() -> load() of a trivial file, per launcher,
against a plain `sys.executable -c "import numpy"`, interleaved, compared by median.

    python bench/sandbox_startup.py [--runs 30]

Launchers: the default one, bubblewrap, Landlock (the fallback where namespaces are
refused) and the bare process (seccomp only), each with its cgroup where cgroups
work, plus bubblewrap without the cgroup to show what the cgroup costs.

Target: the default (strongest) launcher within +15% of the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.sandbox import BwrapLauncher, LandlockLauncher, ProcessLauncher, Sandbox, cgroup, default_launcher, landlock


def _sandbox(launcher, sub: Path) -> float:
    t = time.perf_counter()
    with Sandbox(sub, filename="trivial.py", launcher=launcher, call_timeout=10, total_timeout=30) as box:
        box.start()
        assert box.load().status == "ok"
    return time.perf_counter() - t


def _baseline() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy"], check=True)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "trivial.py"
        sub.write_text("import numpy as np\n\ndef f(x):\n    return x\n")
        launchers = {"default (" + type(default_launcher()).__name__ + ")": default_launcher(),
                     "process+seccomp": ProcessLauncher()}
        try:
            if BwrapLauncher().probe()[0]:
                launchers["bwrap+seccomp"] = BwrapLauncher()
                if cgroup.status().works:
                    launchers["bwrap+seccomp, no cgroup"] = BwrapLauncher(cgroup=False)
        except OSError:
            pass
        if landlock.abi_version()[0] >= 1:
            launchers["landlock+seccomp"] = LandlockLauncher()
        times: dict[str, list[float]] = {"baseline: python -c 'import numpy'": [], **{k: [] for k in launchers}}
        for name, launcher in launchers.items():  # warm-up
            _sandbox(launcher, sub)
        _baseline()
        for _ in range(args.runs):
            times["baseline: python -c 'import numpy'"].append(_baseline())
            for name, launcher in launchers.items():
                times[name].append(_sandbox(launcher, sub))
    base = statistics.median(times["baseline: python -c 'import numpy'"])
    print(f"{args.runs} interleaved runs, medians:")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  {name:40s} {med * 1000:7.1f} ms   {100 * (med / base - 1):+6.1f}%")


if __name__ == "__main__":
    main()
