"""Startup and per-test isolation cost, measured side by side in one run.

1. Cold start: ``Stack().start()`` to workflow-ready with cached binaries, N times
   (median, min, max, and the per-member breakdown of the median run).
2. Per-test isolation: one pytest session with the dapr-chaos plugin runs K tests that
   each get the ``orders`` fixture (own id prefix on the shared stack) and K tests that
   use the same stack through one session-wide client. Both kinds make the same single
   request. The difference of the medians of their (setup + call + teardown) durations is
   what isolation by prefix costs per test. It is set against restarting the stack per test.

Targets (issue #2): cold start <= 2 s, isolation <= 50 ms per test.
Usage: ``.venv/bin/python bench/startup.py [--starts N] [--tests K]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from harness import Settings, Stack, provision_stack

ROOT = Path(__file__).resolve().parents[1]

TESTS = textwrap.dedent("""
    import pytest
    from harness import OrderAPIClient

    @pytest.fixture(scope="session")
    def shared_client(dapr_stack):
        return OrderAPIClient(dapr_stack.ports["app"])

    @pytest.mark.parametrize("i", range({k}))
    def test_isolated(orders, i):
        assert orders.api.request("GET", f"/orders/{{orders.prefix}}none").status == 404

    @pytest.mark.parametrize("i", range({k}))
    def test_shared(shared_client, i):
        assert shared_client.request("GET", "/orders/shared-none").status == 404
""")

CONFTEST = textwrap.dedent("""
    import json, os
    DURATIONS = {}
    def pytest_runtest_logreport(report):
        DURATIONS.setdefault(report.nodeid, 0.0)
        DURATIONS[report.nodeid] += report.duration
    def pytest_sessionfinish(session):
        with open(os.environ["BENCH_OUT"], "w") as f:
            json.dump(DURATIONS, f)
""")


def cold_starts(n: int) -> list[Stack]:
    settings = Settings.from_env()
    binaries = provision_stack(settings)  # cached: what "binaries cached" means
    runs = []
    for i in range(n):
        stack = Stack(settings=settings, binaries=binaries)
        started = time.monotonic()
        stack.start()
        stack.timings["measured"] = time.monotonic() - started
        stack.stop()
        runs.append(stack)
        print(f"  start {i + 1}/{n}: {stack.timings['measured']:.3f}s", flush=True)
    return runs


def isolation(k: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_bench.py").write_text(TESTS.format(k=k))
        Path(tmp, "conftest.py").write_text(CONFTEST)
        out = Path(tmp, "durations.json")
        env = dict(os.environ, BENCH_OUT=str(out))
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", tmp],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            sys.exit(f"the isolation run failed:\n{proc.stdout}\n{proc.stderr}")
        durations = json.loads(out.read_text())
    # The first test of each kind pays for the session stack / the shared client: drop it.
    isolated = sorted(v for n, v in durations.items() if "test_isolated" in n)[:-1]
    shared = sorted(v for n, v in durations.items() if "test_shared" in n)[:-1]
    return statistics.median(isolated), statistics.median(shared)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--tests", type=int, default=200)
    args = parser.parse_args()

    print(f"cold start to workflow-ready (binaries cached), {args.starts} runs:", flush=True)
    runs = cold_starts(args.starts)
    times = sorted(r.timings["measured"] for r in runs)
    median = statistics.median(times)
    mid = min(runs, key=lambda r: abs(r.timings["measured"] - median))
    breakdown = ", ".join(
        f"{k} {v:.3f}s"
        for k, v in mid.timings.items()
        if k in ("valkey", "placement", "scheduler", "daprd", "app")
    )
    print(f"isolation: {args.tests} tests with the per-test `orders` fixture vs {args.tests}")
    print("           without it, on one shared stack, in one pytest session ...", flush=True)
    isolated, shared = isolation(args.tests)
    cost = max(0.0, isolated - shared)

    print()
    print("RESULTS")
    print(
        f"  cold start       median {median:.3f}s  (min {times[0]:.3f}s, max {times[-1]:.3f}s)"
        f"   target <= 2.000s  {'OK' if median <= 2 else 'MISSED'}"
    )
    print(f"                   median run: {breakdown}  (members wait in parallel where safe)")
    print(
        f"  per-test         with `orders` {isolated * 1000:.2f} ms, shared client "
        f"{shared * 1000:.2f} ms"
    )
    print(
        f"  isolation cost   {cost * 1000:.2f} ms per test   target <= 50 ms  "
        f"{'OK' if cost <= 0.05 else 'MISSED'}"
    )
    print(
        f"  ratio            restart-per-test / isolation-by-prefix = "
        f"{median / max(isolated, 1e-6):.0f}x  (per test: {median:.3f}s vs {isolated:.4f}s)"
    )


if __name__ == "__main__":
    main()
