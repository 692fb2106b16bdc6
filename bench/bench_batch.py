"""Benchmark: `grader batch` on a generated class of 200 hw2 submissions.

Run:  python bench/bench_batch.py [--n 200] [--baseline-runs 15]

The class mixes correct files (the bundled correct examples), files with bugs
(submissions/examples/hw2: bug_*.py and mistakes/), a few that time out (an
endless loop in one function, the tests/attacks style), a few that crash (os._exit,
a ctypes segfault) and a syntax error. Each file differs (a comment naming its
student), so nothing is deduplicated. The batch runs in this process exactly as
`grader batch` runs it (grader.batch.run.run_batch, the default sandbox,
a fresh SQLite gradebook per run).

Reported, with the baselines measured in this same run:
- throughput with 1 and 2 workers, and the speed-up (target >= 1.7x on 2 cores);
- the marginal cost of a correct submission (median wall time of grading it in
  the 1-worker run, timeouts excluded) against a cold `sys.executable -c
  "import numpy"` (median of runs before and after the batches; target <= 0.5x);
- peak memory per worker (target <= 200 MiB): the peak summed PSS of the grader
  process and every descendant (sampled from /proc every 100 ms) divided by the
  workers, next to the grader's own peak RSS and the largest sandbox process's
  RSS (getrusage's RUSAGE_CHILDREN is not used: a forked child is charged its
  parent's pages until it execs);
- the projected time for a class of 1,000 at the 2-worker throughput.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions" / "examples" / "hw2"
SPEEDUP_TARGET, MARGINAL_TARGET, MEMORY_TARGET = 1.7, 0.5, 200.0


def inject(source: str, function: str, line: str) -> str:
    """`source` with `line` run first thing in `function` (tests/attacks style: honest elsewhere)."""
    head = f"def {function}("
    start = source.index(head)
    end = source.index(":\n", start) + 2
    return source[:end] + f"    {line}\n" + source[end:]


def make_class(root: Path, n: int) -> dict[str, str]:
    """Write n submissions PATH/<student>.py; returns student -> kind."""
    correct = [EXAMPLES / f"{name}.py" for name in ("correct_vectorized", "correct_loops", "correct_styles",
                                                    "correct_loose_types")]
    buggy = sorted(EXAMPLES.glob("bug_*.py")) + sorted((EXAMPLES / "mistakes").glob("*.py"))
    base = (EXAMPLES / "correct_vectorized.py").read_text()
    special = {
        "timeout": inject(base, "svm_loss", "while True: pass"),
        "crash": inject(base, "softmax_loss", "import os; os._exit(3)"),
        "segfault": inject(base, "two_layer", "import ctypes; ctypes.string_at(0)"),
        "syntax": (EXAMPLES / "syntax_error.py").read_text(),
    }
    plan = ["timeout"] * 4 + ["crash"] * 3 + ["segfault"] * 2 + ["syntax"] * 1
    n_buggy = min(len(buggy), (n - len(plan)) * 2 // 5)
    kinds: dict[str, str] = {}
    i = 0
    for kind in plan:
        kinds[f"s{i:04d}"] = kind
        (root / f"s{i:04d}.py").write_text(special[kind] + f"\n# student s{i:04d}\n")
        i += 1
    for k in range(n_buggy):
        kinds[f"s{i:04d}"] = "bug"
        (root / f"s{i:04d}.py").write_text(buggy[k % len(buggy)].read_text() + f"\n# student s{i:04d}\n")
        i += 1
    while i < n:
        kinds[f"s{i:04d}"] = "correct"
        (root / f"s{i:04d}.py").write_text(correct[i % len(correct)].read_text() + f"\n# student s{i:04d}\n")
        i += 1
    return kinds


def cold_numpy() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy"], check=True)
    return time.perf_counter() - t


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                out += [int(c) for c in handle.read().split()]
    except (OSError, ValueError):
        pass
    return out


def _pss_rss(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in bytes; PSS shares a page among the processes that map it,
    so a sum over processes is real memory (a forked child before exec does not count twice)."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return pss, rss


def _tree_memory(root_pid: int) -> tuple[int, int]:
    """(summed PSS of `root_pid` and all its descendants, largest sandbox process's RSS), bytes."""
    total, largest, stack = 0, 0, [root_pid]
    with open(f"/proc/{root_pid}/comm") as handle:
        own_comm = handle.read()
    while stack:
        pid = stack.pop()
        if pid != root_pid:
            try:
                with open(f"/proc/{pid}/comm") as handle:
                    comm = handle.read()
                with open(f"/proc/{pid}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
                # a child forked (vfork: the very same memory) but not yet exec'd: not counted twice
                transient = comm == own_comm and ppid == root_pid
            except (OSError, ValueError, IndexError):
                transient = True
            if transient:
                continue
        pss, rss = _pss_rss(pid)
        total += pss
        if pid != root_pid:
            largest = max(largest, rss)
        stack.extend(_children(pid))
    return total, largest


class PeakSampler:
    def __init__(self) -> None:
        self.peak = 0
        self.largest_child = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.1):
            total, largest = _tree_memory(me)
            self.peak = max(self.peak, total)
            self.largest_child = max(self.largest_child, largest)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run(cls: Path, workers: int, db: Path):
    from grader.batch.discover import discover
    from grader.batch.run import run_batch

    with discover(cls, assignment="hw2", problems_root=ROOT / "problems") as roster:
        with PeakSampler() as sampler:
            t = time.perf_counter()
            result = run_batch(roster, assignment="hw2", db_url=str(db), workers=workers)
            wall = time.perf_counter() - t
    return result, wall, sampler.peak, sampler.largest_child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--baseline-runs", type=int, default=15)
    args = parser.parse_args()
    from grader.sandbox import default_launcher

    print(f"{os.cpu_count()} CPU(s); sandbox: {type(default_launcher()).__name__}; python {sys.version.split()[0]}; "
          f"load average before {os.getloadavg()[0]:.2f} (other work on the machine skews every figure)")
    with tempfile.TemporaryDirectory(prefix="grader-bench-batch-") as tmp:
        cls = Path(tmp) / "class"
        cls.mkdir()
        kinds = make_class(cls, args.n)
        counts = {k: sum(v == k for v in kinds.values()) for k in sorted(set(kinds.values()))}
        print(f"class of {len(kinds)}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        baseline = [cold_numpy() for _ in range(args.baseline_runs)]
        runs = {}
        for workers in (1, 2):
            result, wall, peak, largest = run(cls, workers, Path(tmp) / f"w{workers}.db")
            runs[workers] = (result, wall, peak, largest)
            baseline += [cold_numpy() for _ in range(args.baseline_runs)]
            graded = result.count("graded")
            print(f"{workers} worker(s): {graded} graded in {wall:6.1f} s = {graded / wall:5.2f} submissions/s "
                  f"(errors {result.count('error')}); peak PSS of grader + children {peak / 2**20:6.1f} MiB")
    base = statistics.median(baseline)
    (r1, w1, _, _), (r2, w2, peak2, largest) = runs[1], runs[2]
    speedup = (r1.count("graded") / w1) and (r2.count("graded") / w2) / (r1.count("graded") / w1)
    # The timeouts (each a whole call budget spent waiting) parallelise perfectly; estimate the speed-up
    # without them by taking their time out of each run's wall clock.
    t1 = sum(o.seconds for o in r1.outcomes if kinds.get(o.entry.student) == "timeout")
    t2 = sum(o.seconds for o in r2.outcomes if kinds.get(o.entry.student) == "timeout") / 2
    speedup_rest = (w1 - t1) / (w2 - t2) if w2 > t2 else float("nan")
    correct = [o.seconds for o in r1.outcomes
               if kinds.get(o.entry.student) == "correct" and o.report is not None
               and o.report.score == o.report.max_score]
    timeouts = [o.seconds for o in r1.outcomes if kinds.get(o.entry.student) == "timeout"]
    marginal = statistics.median(correct)
    per_worker = peak2 / 2 / 2**20
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_1000 = 1000 / (r2.count("graded") / w2)

    def verdict(ok: bool, miss: str) -> str:
        return "meets" if ok else f"MISSES: {miss}"

    print()
    print(f"baseline: cold python -c 'import numpy'  median {base * 1000:7.1f} ms ({len(baseline)} runs, before and "
          f"after the batches)")
    print(f"speed-up 2 workers / 1 worker        {speedup:7.2f}x  (target >= {SPEEDUP_TARGET}x: "
          f"{verdict(speedup >= SPEEDUP_TARGET, f'{SPEEDUP_TARGET / speedup:.2f}x short')})")
    print(f"  without the timeouts (estimated)   {speedup_rest:7.2f}x  ({w1 - t1:.1f} s vs {w2 - t2:.1f} s)")
    print(f"marginal cost per correct submission {marginal * 1000:7.1f} ms median over {len(correct)} "
          f"(1 worker; timeouts excluded, each cost {statistics.median(timeouts):.1f} s)")
    ratio = marginal / base
    print(f"  / cold numpy import                {ratio:7.2f}x  (target <= {MARGINAL_TARGET}x: "
          f"{verdict(ratio <= MARGINAL_TARGET, f'{ratio / MARGINAL_TARGET:.1f}x over')})")
    print(f"peak memory per worker               {per_worker:7.1f} MiB (grader + children, PSS at peak / 2; target <= "
          f"{MEMORY_TARGET:.0f}: {verdict(per_worker <= MEMORY_TARGET, f'{per_worker - MEMORY_TARGET:.0f} MiB over')})")
    print(f"  grader process peak RSS {own:.1f} MiB (one process, shared by the workers); largest sandbox "
          f"process {largest / 2**20:.1f} MiB")
    print(f"load average after {os.getloadavg()[0]:.2f}")
    print(f"projected: 1,000 submissions like these take {per_1000 / 60:.1f} min with 2 workers on 2 cores "
          f"({per_1000 / 1000 * 1000:.0f} s)")


if __name__ == "__main__":
    main()
