"""The harness's share of the worker registration race (Dapr 1.18.3): kill the app under
load N times in each arrangement and count how often daprd is left with the worker
connected but unregistered (the supervisor recognises it by its signature in daprd's log
and recovers; see README, upstream findings).

Arrangements, side by side in one run (rounds of ``--batch`` kills each, in turn, so
every arrangement sees the same machine load):

- ``proxy, at once``: app->daprd through the Toxiproxy proxy (the default), the app
  started again 1 s after the kill (the harness's default supervisor delay);
- ``direct, at once``: no proxy on any link (the app dials daprd itself);
- ``proxy, backoff`` and ``direct, backoff``: the app started again after 10 s, the
  first delay of a Kubernetes CrashLoopBackOff.

The load: four threads submitting orders to the app without pause (refused while it is
down, sent again as a client would). The SDK's reconnect is as it is.
Usage: ``.venv/bin/python bench/race.py [--kills 40] [--batch 10] [--json F]``
Prints, per arrangement, kills, races, the rate, and the mean seconds a heal took.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import Chaos, OrderAPIClient, Orders, Stack, StackConfig


@dataclass
class Arrangement:
    name: str
    proxies: bool
    restart_delay: float
    kills: int = 0
    races: int = 0
    errors: int = 0
    heals: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.races / self.kills if self.kills else 0.0


ARRANGEMENTS = (
    Arrangement("proxy, at once", True, 1.0),
    Arrangement("direct, at once", False, 1.0),
    Arrangement("proxy, backoff", True, 10.0),
    Arrangement("direct, backoff", False, 10.0),
)


class Load:
    """Four threads submitting orders until stopped."""

    def __init__(self, orders: Orders, threads: int = 4) -> None:
        self.orders = orders
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.orders.try_submit(resend_for=2.0)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def batch(arrangement: Arrangement, kills: int, seq: int) -> None:
    """``kills`` app kills under load on a fresh stack of ``arrangement``."""
    with Stack(StackConfig(proxies=arrangement.proxies)) as stack:
        chaos = Chaos(stack, app_restart_delay=arrangement.restart_delay)
        orders = Orders(OrderAPIClient(stack.ports["app"]), prefix=f"race{seq}-")
        load = Load(orders)
        try:
            time.sleep(2.0)  # the load is running before the first kill
            for _ in range(kills):
                known = len(chaos.supervisor.findings.known)
                chaos.kill("app")
                started = time.monotonic()
                try:
                    chaos.heal()
                except Exception as exc:  # a failed heal is counted, not fatal
                    arrangement.errors += 1
                    print(f"    heal failed: {exc}", flush=True)
                    break
                arrangement.heals.append(time.monotonic() - started)
                arrangement.kills += 1
                if len(chaos.supervisor.findings.known) > known:
                    arrangement.races += 1
                time.sleep(1.5)  # load flows through the restarted app before the next kill
        finally:
            load.close()
            chaos.reset()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=40, help="app kills per arrangement")
    parser.add_argument("--batch", type=int, default=10, help="kills per stack, in turn")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    started = time.monotonic()
    seq = 0
    while any(a.kills + a.errors < args.kills for a in ARRANGEMENTS):
        for arrangement in ARRANGEMENTS:
            left = args.kills - arrangement.kills - arrangement.errors
            if left <= 0:
                continue
            seq += 1
            batch(arrangement, min(args.batch, left), seq)
            print(
                f"  {arrangement.name}: {arrangement.races}/{arrangement.kills} races "
                f"({time.monotonic() - started:.0f}s)",
                flush=True,
            )
    print(f"\n{'arrangement':<18} {'kills':>6} {'races':>6} {'rate':>6} {'heal s':>7} errors")
    for a in ARRANGEMENTS:
        heal = statistics.mean(a.heals) if a.heals else float("nan")
        print(f"{a.name:<18} {a.kills:>6} {a.races:>6} {a.rate:>6.0%} {heal:>7.1f} {a.errors}")
    base = ARRANGEMENTS[1].rate
    for a in ARRANGEMENTS:
        ratio = f"{a.rate / base:.2f}x" if base else "n/a (direct saw none)"
        print(f"  {a.name} vs direct, at once: {ratio}")
    print(f"({time.monotonic() - started:.0f}s in all)")
    if args.json:
        rows = [
            {
                "arrangement": a.name,
                "kills": a.kills,
                "races": a.races,
                "errors": a.errors,
                "heal_s": a.heals,
            }
            for a in ARRANGEMENTS
        ]
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
