"""Any workflow under load: the cost of the automatic instrumentation, and Locust over gRPC
against a raw gRPC driver, measured side by side in one run.

The app is a user's task chain (three activities, written without dapr-chaos in mind).
Two stacks are up at once: the app hosted by the harness, instrumented (an invocation
record and the ``<activity>.before`` / ``.after`` failpoints around every activity), and
the same module started plainly, not instrumented. Legs, in every round, in turn:

1. raw driver on the plain app, 2. raw driver on the instrumented app (target: the
   instrumentation costs <= 3% of throughput), 3. Locust (harness.workload.
   locust_workflows) on the plain app (target: >= 95% of the raw driver).

The raw driver is ``users`` threads, each a closed loop: start an instance through
daprd's gRPC workflow API, poll it every 0.1 s until terminal, repeat (what the Locust
user does). Throughput is instances seen COMPLETED per second of load; medians over the
rounds are compared. Usage: ``.venv/bin/python bench/workflows.py [--users N]
[--duration S] [--rounds K]``
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness import (
    AppSpec,
    LoadProfile,
    Stack,
    StackConfig,
    WorkflowAPI,
    WorkloadError,
    hosted_app,
    run_load,
)

POLL_S = 0.1  # the Locust user's default poll interval

CHAIN_APP = """\
from dapr.ext.workflow import DaprWorkflowContext, WorkflowActivityContext, WorkflowRuntime

wfr = WorkflowRuntime()


@wfr.workflow(name="chain")
def chain(ctx: DaprWorkflowContext, text: str):
    a = yield ctx.call_activity(step1, input=text)
    b = yield ctx.call_activity(step2, input=a)
    c = yield ctx.call_activity(step3, input=b)
    return c


@wfr.activity(name="step1")
def step1(ctx: WorkflowActivityContext, text: str) -> str:
    return text + "-1"


@wfr.activity(name="step2")
def step2(ctx: WorkflowActivityContext, text: str) -> str:
    return text + "-2"


@wfr.activity(name="step3")
def step3(ctx: WorkflowActivityContext, text: str) -> str:
    return text + "-3"
"""

# The same module, started as a user would start it: no harness in the process.
PLAIN_RUNNER = """\
import signal, sys, threading
sys.path.insert(0, {directory!r})
import chain_app
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
chain_app.wfr.start()
stop.wait()
chain_app.wfr.shutdown()
"""


@dataclass(frozen=True)
class Leg:
    wps: float
    p50: float
    completed: int


def raw_leg(stack: Stack, users: int, duration: float, prefix: str) -> Leg:
    """``users`` threads in a closed loop for ``duration`` seconds."""
    done: list[float] = []
    lock = threading.Lock()
    counter = itertools.count(1)
    stop_at = time.monotonic() + duration

    def user() -> None:
        api = WorkflowAPI(stack.ports["daprd_grpc"], stack.api_token)
        try:
            while time.monotonic() < stop_at:
                instance = f"{prefix}{next(counter)}"
                started = time.perf_counter()
                try:
                    api.start("chain", instance, "x")
                except WorkloadError:
                    time.sleep(0.5)
                    continue
                while time.monotonic() < stop_at:
                    time.sleep(POLL_S)
                    status = api.status(instance)
                    if status is not None and status.terminal:
                        if status.runtime_status == "COMPLETED":
                            with lock:
                                done.append((time.perf_counter() - started) * 1e3)
                        break
        finally:
            api.close()

    threads = [threading.Thread(target=user, daemon=True) for _ in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Leg(len(done) / duration, statistics.median(done) if done else 0.0, len(done))


def locust_leg(stack: Stack, users: int, duration: float, prefix: str) -> Leg:
    result = run_load(
        stack,
        LoadProfile(users=users, spawn_rate=float(users), duration=duration),
        prefix=prefix,
        workflow="chain",
        inputs=["x"],
    )
    return Leg(result.workflows_per_s, result.latency_ms.p50 or 0.0, result.completed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-workflows-") as tmp:
        directory = Path(tmp)
        (directory / "chain_app.py").write_text(CHAIN_APP)
        runner = directory / "plain_runner.py"
        runner.write_text(PLAIN_RUNNER.format(directory=str(directory)))
        plain = StackConfig(app=AppSpec((sys.executable, str(runner))))
        hosted = StackConfig(app=hosted_app("chain_app:wfr", cwd=directory))
        with Stack(plain) as plain_stack, Stack(hosted) as hosted_stack:
            legs: dict[str, list[Leg]] = {"raw-plain": [], "raw-instrumented": [], "locust": []}
            runs = {
                "raw-plain": lambda r: raw_leg(plain_stack, args.users, args.duration, f"p{r}-"),
                "raw-instrumented": lambda r: raw_leg(
                    hosted_stack, args.users, args.duration, f"i{r}-"
                ),
                "locust": lambda r: locust_leg(plain_stack, args.users, args.duration, f"l{r}-"),
            }
            order = list(runs)
            for r in range(1, args.rounds + 1):
                # A different leg goes first each round: drift and warm-up hit all three.
                for name in order[r % 3 :] + order[: r % 3]:
                    legs[name].append(runs[name](r))
                line = "  ".join(f"{k} {v[-1].wps:.1f}/s" for k, v in legs.items())
                print(f"round {r}: {line}", flush=True)
    med = {k: statistics.median(leg.wps for leg in v) for k, v in legs.items()}
    p50 = {k: statistics.median(leg.p50 for leg in v) for k, v in legs.items()}
    print(f"\n{args.users} users, {args.duration:g}s legs, {args.rounds} rounds (medians)")
    for name in legs:
        print(f"  {name:17} {med[name]:6.1f} workflows/s   p50 {p50[name]:6.0f} ms")
    cost = 1 - med["raw-instrumented"] / med["raw-plain"] if med["raw-plain"] else float("nan")
    ratio = med["locust"] / med["raw-plain"] if med["raw-plain"] else float("nan")
    per_round = [
        1 - i.wps / p.wps for p, i in zip(legs["raw-plain"], legs["raw-instrumented"], strict=True)
    ]
    print(
        f"instrumentation cost: {cost:.1%} of throughput (target <= 3%; per round "
        + ", ".join(f"{c:.0%}" for c in per_round)
        + ")"
    )
    locust_rounds = [
        lo.wps / p.wps for p, lo in zip(legs["raw-plain"], legs["locust"], strict=True)
    ]
    print(
        f"Locust over gRPC: {ratio:.1%} of the raw gRPC driver (target >= 95%; per round "
        + ", ".join(f"{c:.0%}" for c in locust_rounds)
        + ")"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
