"""Throughput of the reference workflow and the overhead of the load tooling, measured
side by side in one run.

1. Locust vs a raw asyncio driver, on the same stack at the same concurrency: both run
   the same closed loop (POST an order from the same mix, poll it every 0.1 s until
   terminal, repeat) over the same HTTP API, for the same seconds. Rounds alternate the
   two so drift in the machine's load hits both. Target (issue #5): Locust >= 90% of raw.
2. Instrumentation: two stacks up at once, the reference app with the ledger and
   failpoints (as dapr-chaos runs it) and without them (DAPR_CHAOS_LEDGER and
   DAPR_CHAOS_FAILPOINTS empty: both become no-ops); the raw driver alternates between
   them. Target: the instrumentation costs <= 5% of throughput.

Throughput is workflows seen COMPLETED per second of load; latency is end to end (POST
sent until seen terminal), in milliseconds. Medians over the rounds are compared.
Usage: ``.venv/bin/python bench/throughput.py [--users N] [--duration S] [--rounds K]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness import LoadProfile, Stack, StackConfig, reference_app, run_load
from harness.record.history import TERMINAL
from harness.record.series import percentile
from harness.workload.order_generator import OrderGenerator

POLL_S = 0.1  # the locustfile's default poll interval
BACKOFF_S = 0.5  # and its pause after a failed request


@dataclass(frozen=True)
class Leg:
    """One measured run: completed workflows per second, latency percentiles (ms), and
    the CPU seconds the load driver itself used."""

    wps: float
    p50: float
    p95: float
    p99: float
    cpu_s: float = 0.0
    completed: int = 0


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1 (the order API answers with a
    Content-Length on every response)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += "Content-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _user(
    port: int, gen: OrderGenerator, stop_at: float, done: list[tuple[float, float]]
) -> None:
    conn = Connection(port)
    try:
        while time.monotonic() < stop_at:
            order = gen.mixed(0.05)
            started = time.perf_counter()
            status, _ = await conn.request("POST", "/orders", json.dumps(order.as_json()).encode())
            if status != 202:
                await asyncio.sleep(BACKOFF_S)
                continue
            while True:
                await asyncio.sleep(POLL_S)
                if time.monotonic() >= stop_at:
                    return
                status, body = await conn.request("GET", f"/orders/{order.order_id}")
                state = json.loads(body).get("runtimeStatus") if status == 200 else None
                if state in TERMINAL:
                    if state == "COMPLETED":
                        done.append((time.monotonic(), (time.perf_counter() - started) * 1e3))
                    break
    finally:
        conn.close()


def raw_leg(port: int, users: int, duration: float, prefix: str, seed: int) -> Leg:
    """The raw asyncio driver: ``users`` concurrent closed loops for ``duration`` s."""
    done: list[tuple[float, float]] = []

    async def main() -> None:
        stop_at = time.monotonic() + duration
        gens = [OrderGenerator(f"{prefix}u{i}-", seed * 1000 + i) for i in range(users)]
        await asyncio.gather(*(_user(port, g, stop_at, done) for g in gens))

    cpu = time.process_time()
    asyncio.run(main())
    cpu = time.process_time() - cpu
    latencies = [lat for _, lat in done]
    return Leg(
        len(latencies) / duration,
        percentile(latencies, 50) or 0.0,
        percentile(latencies, 95) or 0.0,
        percentile(latencies, 99) or 0.0,
        cpu,
        len(latencies),
    )


class LocustCpu(threading.Thread):
    """Samples the CPU seconds (user + system) of this process's Locust children every
    0.25 s, so the CPU of the measured window can be told from Locust's start-up
    (importing gevent, Locust and the harness), which happens before the load begins."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def _locust_pids(self) -> list[int]:
        me, found = os.getpid(), []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if int(fields[1]) == me and b"locust" in cmdline:
                    found.append(int(entry))
        return found

    def run(self) -> None:
        pids: list[int] = []
        while not self.done.wait(0.25):
            pids = pids or self._locust_pids()
            total = 0.0
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    return  # Locust exited: the window is over
                total += (int(fields[11]) + int(fields[12])) / self.tick
            if pids:
                self.samples.append((time.monotonic(), total))

    def window(self, seconds: float) -> float:
        """CPU seconds used in the last ``seconds`` before Locust exited."""
        if len(self.samples) < 2:
            return 0.0
        end_t, end_cpu = self.samples[-1]
        start = min(self.samples, key=lambda s: abs(s[0] - (end_t - seconds)))
        return end_cpu - start[1]


def locust_leg(stack: Stack, users: int, duration: float, prefix: str, seed: int) -> Leg:
    """run_load with every user spawned at once, as the raw driver starts them. CPU: the
    Locust process during the load, not its start-up nor the harness following the
    operation log."""
    sampler = LocustCpu()
    sampler.start()
    profile = LoadProfile(users, float(users) * 10, duration)
    result = run_load(stack, profile, prefix=prefix, seed=seed)
    sampler.done.set()
    sampler.join()
    cpu = sampler.window(duration)
    lat = result.latency_ms
    return Leg(
        result.workflows_per_s,
        lat.p50 or 0.0,
        lat.p95 or 0.0,
        lat.p99 or 0.0,
        cpu,
        result.completed,
    )


def median_leg(legs: list[Leg]) -> Leg:
    return Leg(
        statistics.median(leg.wps for leg in legs),
        statistics.median(leg.p50 for leg in legs),
        statistics.median(leg.p95 for leg in legs),
        statistics.median(leg.p99 for leg in legs),
    )


def show(name: str, legs: list[Leg]) -> Leg:
    m = median_leg(legs)
    rounds = ", ".join(f"{leg.wps:.1f}" for leg in legs)
    print(
        f"  {name:34} {m.wps:6.1f} wf/s   p50 {m.p50:5.0f} ms  p95 {m.p95:5.0f} ms  "
        f"p99 {m.p99:5.0f} ms   (rounds: {rounds})"
    )
    return m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10, help="concurrency (default 10)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per leg")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    bare_env = (("DAPR_CHAOS_LEDGER", ""), ("DAPR_CHAOS_FAILPOINTS", ""))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    raw: list[Leg] = []
    locust: list[Leg] = []
    bare: list[Leg] = []
    with (
        Stack(StackConfig()) as stack,
        Stack(StackConfig(app=reference_app(*bare_env))) as bare_stack,
    ):
        print(
            f"stacks ready; {args.rounds} rounds of {args.duration:g}s legs at "
            f"{args.users} users: raw / Locust on the instrumented app, raw on the bare app"
        )
        # Warm-up: first workflows pay for connections and caches on both stacks.
        raw_leg(stack.ports["app"], args.users, 3.0, "warm-", 0)
        raw_leg(bare_stack.ports["app"], args.users, 3.0, "warm-", 0)
        results: dict[str, list[Leg]] = {"raw": raw, "locust": locust, "bare": bare}

        def run(name: str, r: int) -> Leg:
            prefix, seed = f"{name}{r}-", r
            if name == "locust":
                return locust_leg(stack, args.users, args.duration, prefix, seed)
            port = (bare_stack if name == "bare" else stack).ports["app"]
            return raw_leg(port, args.users, args.duration, prefix, seed)

        names = list(results)
        for r in range(args.rounds):
            # Rotate the order each round: whatever drifts, drifts for every leg.
            for name in names[r % 3 :] + names[: r % 3]:
                results[name].append(run(name, r))
                print(f"  round {r + 1} {name:6} {results[name][-1].wps:6.1f} wf/s", flush=True)
                time.sleep(1.0)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\nreference workflow (4 activities), medians over the rounds:")
    raw_m = show("raw asyncio driver, instrumented app", raw)
    show("Locust, instrumented app", locust)
    bare_m = show("raw asyncio driver, bare app", bare)
    # Paired per round (legs of one round ran back to back): drift cancels out.
    ratios = [lo.wps / ra.wps for lo, ra in zip(locust, raw, strict=True)]
    costs = [1 - ra.wps / ba.wps for ra, ba in zip(raw, bare, strict=True)]
    ratio, cost = statistics.median(ratios), statistics.median(costs)

    def listed(values: list[float]) -> str:
        return ", ".join(f"{v:.0%}" for v in values)

    print(f"\nLocust / raw throughput          {ratio:6.1%}   (target >= 90%)")
    print(f"  per round: {listed(ratios)}")
    print(f"instrumentation throughput cost  {cost:6.1%}   (target <= 5%)")
    print(f"  per round: {listed(costs)}")
    print(f"instrumentation p50 latency cost {raw_m.p50 - bare_m.p50:+6.1f} ms")

    def per_workflow(legs: list[Leg]) -> float:
        return 1000 * sum(leg.cpu_s for leg in legs) / max(1, sum(leg.completed for leg in legs))

    print(
        f"driver CPU per completed workflow: raw {per_workflow(raw):.2f} ms, "
        f"Locust {per_workflow(locust):.2f} ms (on {os.cpu_count()} CPUs shared with the stack)"
    )


if __name__ == "__main__":
    main()
