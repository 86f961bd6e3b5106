"""Speedup of a chaos subset under pytest-xdist, measured side by side in one run.

Runs the same subset (default: tests/chaos/test_scenarios.py) with ``-n 0`` and with
``-n 2`` (each worker gets its own stack), ``--rounds`` times each, alternating, and
prints the wall times and the speedup of the medians. Target (issue #8): >= 1.6x on a
2-core machine.

Usage: ``.venv/bin/python bench/parallel.py [--rounds N] [SUBSET...]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(subset: list[str], workers: int) -> float:
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            "-n",
            str(workers),
            *(["--dist", "worksteal"] if workers else []),
            *subset,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - started
    last = (proc.stdout.strip().splitlines() or ["?"])[-1]
    print(f"  -n {workers}: {took:6.1f}s  {last}", flush=True)
    if proc.returncode != 0:
        sys.exit(f"the subset failed with -n {workers}:\n{proc.stdout[-3000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("subset", nargs="*", default=["tests/chaos/test_scenarios.py"])
    args = parser.parse_args()
    serial: list[float] = []
    parallel: list[float] = []
    print(f"chaos subset {' '.join(args.subset)}, {args.rounds} round(s) each:", flush=True)
    for _ in range(args.rounds):
        serial.append(run(args.subset, 0))
        parallel.append(run(args.subset, 2))
    s, p = statistics.median(serial), statistics.median(parallel)
    print()
    print("RESULTS")
    print(f"  -n 0 median {s:.1f}s, -n 2 median {p:.1f}s")
    print(f"  speedup {s / p:.2f}x   target >= 1.60x  {'OK' if s / p >= 1.6 else 'MISSED'}")


if __name__ == "__main__":
    main()
