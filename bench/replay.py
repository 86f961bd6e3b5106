"""Offline replay throughput on real recorded 4-activity histories.

Records N orders of the reference app (check inventory → charge → reserve → notify) on a
real stack once, then replays the recorded histories offline, R rounds each:

1. strict replay from the history files (read, checksum, parse, replay turn by turn);
2. strict replay of the histories already in memory;
3. side by side, the SDK's own (lax) replay: one executor pass over the whole history,
   which is what the sidecar does once per turn and what strict replay improves on.

Target (issue #4): strict replay >= 1,000 histories/s on this machine.
Usage: ``.venv/bin/python bench/replay.py [--histories N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402  # noqa: E402
    InstanceReader,
    OrderAPIClient,
    Orders,
    Stack,
    StackConfig,
    read_history,
    record_histories,
)
from harness.replay import load_workflows, replay_histories  # noqa: E402
from harness.replay.adapter import event_type  # noqa: E402

WORKFLOWS = "harness.reference_apps.orders.workflow"
TARGET = 1000.0


def record(count: int, directory: Path) -> list[Path]:
    print(f"recording {count} orders of the reference app on a real stack ...", flush=True)
    with Stack(StackConfig()) as stack:
        orders = Orders(OrderAPIClient(stack.ports["app"]), prefix="bench-", seed=4)
        ids = orders.submit_many(count, quantity=1)
        orders.wait_terminal(ids, timeout=300)
        reader = InstanceReader(stack.ports["daprd_grpc"], stack.api_token)
        try:
            return record_histories(reader, directory, ids)
        finally:
            reader.close()


def rates(count: int, rounds: int, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median histories per second of each of ``runs`` (each replays ``count``
    histories), interleaved round by round so that load from other processes falls on
    all of them alike."""
    for run in runs.values():
        run()  # warm up: imports, registration, caches
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: count / statistics.median(t) for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--histories", type=int, default=200, help="orders to record (200)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (7)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dapr-chaos-bench-replay-") as tmp:
        paths = record(args.histories, Path(tmp))
        loaded = [read_history(p) for p in paths]
        activities = {sum(event_type(e) == "taskScheduled" for e in h.events) for h in loaded}
        if activities != {4}:
            print(f"expected 4-activity histories only, got activity counts {activities}")
            return 1
        workflows = load_workflows(WORKFLOWS)
        report = replay_histories(workflows, loaded)
        if not report.clean:
            print(report.report())
            return 1
        n = len(loaded)
        events = sum(len(h.events) for h in loaded) / n

        def lax() -> None:
            for h in loaded:
                replayed = [e for e in h.events if event_type(e) != "executionCompleted"]
                workflows.turn(h.instance_id, replayed[:-1], replayed[-1:])

        measured = rates(
            n,
            args.rounds,
            {
                "files": lambda: replay_histories(workflows, paths),
                "memory": lambda: replay_histories(workflows, loaded),
                "lax": lax,
            },
        )
        from_files, in_memory, sdk = measured["files"], measured["memory"], measured["lax"]
    print(f"{n} recorded histories, 4 activities and {events:.0f} events each")
    print(f"strict replay from files : {from_files:8.0f} histories/s")
    print(f"strict replay in memory  : {in_memory:8.0f} histories/s")
    print(f"SDK's own lax replay     : {sdk:8.0f} histories/s (one executor pass each)")
    print(f"strict / lax             : {in_memory / sdk:8.2f}x the throughput")
    verdict = "meets" if from_files >= TARGET else "MISSES"
    print(f"target {TARGET:.0f} histories/s from files: {verdict} ({from_files / TARGET:.2f}x)")
    return 0 if from_files >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
