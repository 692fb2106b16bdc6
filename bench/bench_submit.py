"""Benchmark: `grader submit` of a correct full hw2 (cold start, sandboxed,
stored) against `python -c "import numpy"`, interleaved, by median.

Run:  python bench/bench_submit.py [--runs 15]

Also prints how many forward evaluations each gradient check costs, for the
hw2 cases and for a CIFAR-sized W of shape (3073, 10).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "submissions" / "examples" / "hw2" / "correct_vectorized.py"
TARGET = 2.5


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def wall_clock(runs: int) -> None:
    baseline, submit = [], []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        grade = [sys.executable, "-m", "grader", "submit", str(CORRECT), "--assignment", "hw2", "--db", str(db),
                 "--format", "json", "--student", "bench"]
        subprocess.run(grade, check=True, stdout=subprocess.DEVNULL)  # migrate once; later runs are warm-disk cold-start
        for _ in range(runs):
            baseline.append(timed([sys.executable, "-c", "import numpy"]))
            submit.append(timed(grade))
    b, s = statistics.median(baseline), statistics.median(submit)
    print(f"python -c 'import numpy'   median {b * 1000:7.1f} ms  ({runs} runs, interleaved)")
    print(f"grader submit (full hw2)   median {s * 1000:7.1f} ms")
    verdict = "meets" if s / b <= TARGET else "misses"
    print(f"ratio submit / numpy       {s / b:7.2f}x  (target <= {TARGET}x: {verdict})")


def fd_costs() -> None:
    from grader.cases import draw_cases
    from grader.check import fd
    from grader.evaluate import ProblemGrader
    from grader.packs import load_pack, problems_root

    pack = load_pack("hw2", problems_root())
    seed = pack.spec.default_seed
    print("\nforward evaluations per gradient check (first random case, correct gradient):")
    for problem in pack.spec.problems:
        grader = ProblemGrader(problem, pack.function, seed)
        case = next(c for c in draw_cases(problem, seed, pack.function) if c.name.startswith("random"))
        expected = grader.expected(case)
        for k, out in enumerate(problem.outputs):
            if out.kind != "grad":
                continue
            tol = problem.tolerance
            x = np.asarray(case.args[out.wrt], dtype=np.float64)
            result = fd.check_gradient(grader.objective(case, out.wrt), x, expected[k].reshape(x.shape),
                                       np.random.default_rng(0), step=tol.fd_step, rtol=tol.fd_rtol,
                                       noise=tol.fd_noise, kink_rtol=tol.kink_rtol,
                                       max_coordinates=tol.max_coordinates,
                                       random_directions=tol.random_directions, min_conclusive=tol.min_conclusive)
            print(f"  {problem.id:18s} {out.name:5s} size {x.size:4d}: {result.evaluations:4d} evaluations "
                  f"({result.verdict})")
    softmax = pack.spec.problem("softmax_loss")
    grader = ProblemGrader(softmax, pack.function, seed)
    rng = np.random.default_rng(1)
    n, d, c = 200, 3073, 10
    X = np.hstack([rng.standard_normal((n, d - 1)), np.ones((n, 1))])
    W = 1e-4 * rng.standard_normal((d, c))
    y = rng.integers(0, c, size=n)
    from grader.cases import Case

    case = Case("cifar", None, 1.0, {"W": W, "X": X, "y": y, "reg": 5e-6})
    _, dW = grader.expected(case)
    tol = softmax.tolerance
    start = time.perf_counter()
    result = fd.check_gradient(grader.objective(case, "W"), W, dW, rng, step=tol.fd_step, rtol=tol.fd_rtol,
                               noise=tol.fd_noise, kink_rtol=tol.kink_rtol, max_coordinates=tol.max_coordinates,
                               random_directions=tol.random_directions, min_conclusive=tol.min_conclusive)
    print(f"  softmax W (3073, 10): {result.evaluations} evaluations instead of {2 * W.size} "
          f"({result.verdict}, {time.perf_counter() - start:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    wall_clock(args.runs)
    fd_costs()


if __name__ == "__main__":
    main()
