"""Run a fault schedule against a workload: chaos → heal → verify.

The workload submits ``count`` orders with ``concurrency`` threads while the schedule's
triggers are evaluated every 20 ms. Whatever happens, the stack is healed before this
returns or raises.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from harness.chaos import Chaos
from harness.checks.verification import DEFAULT_CHECKS, Verification, run_checks
from harness.errors import ConfigError, FaultError, WorkloadError
from harness.faults.schedule import At, FaultEvent, OnCompleted, OnFailpoint, Schedule
from harness.workload.orders import Orders

log = logging.getLogger("harness.runner")
RESEND_S = 15.0  # seconds a POST refused at connect is sent again during the chaos phase


class _Completions:
    """Counts terminal orders of the run, polling each unfinished one at most every
    ``interval`` seconds (the API, not a fault-bent path: it asks the app)."""

    def __init__(self, orders: Orders, interval: float = 0.2) -> None:
        self.orders = orders
        self.interval = interval
        self.done: set[str] = set()
        self._last = 0.0

    def count(self) -> int:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            for order_id in list(self.orders.accepted):
                if order_id in self.done:
                    continue
                try:
                    status = self.orders.api.status(order_id)
                except WorkloadError:
                    break  # the app is down: try again later
                if status is not None and status.terminal:
                    self.done.add(order_id)
        return len(self.done)


def _fired(
    event: FaultEvent, chaos: Chaos, orders: Orders, started: float, completions: _Completions
) -> bool:
    trigger = event.trigger
    if isinstance(trigger, At):
        return time.monotonic() - started >= trigger.seconds
    if isinstance(trigger, OnFailpoint):
        hits = [
            h
            for h in chaos.hits.hits(orders.prefix)
            if h.name == trigger.name and h.ts >= chaos.started
        ]
        return len(hits) >= trigger.nth
    if isinstance(trigger, OnCompleted):
        return completions.count() >= trigger.count
    raise ConfigError(f"unknown trigger {trigger!r}")


def run_schedule(
    chaos: Chaos,
    schedule: Schedule,
    orders: Orders,
    *,
    count: int,
    concurrency: int = 4,
    checks: Sequence[str] = DEFAULT_CHECKS,
    on_phase: Callable[[str], None] | None = None,
) -> Verification:
    """Run ``schedule`` while ``count`` orders are submitted; heal; verify.

    ``on_phase`` is called with "chaos", "heal" and "verify" as each phase begins (for
    progress lines). A failpoint armed with an action that never fired is a FaultError,
    like a scheduled fault that never triggered: either would have done nothing."""
    phase = on_phase or (lambda _name: None)
    if count < 1 or concurrency < 1:
        raise ConfigError(f"count and concurrency must be >= 1, got {count}, {concurrency}")
    # A failpoint used only as a trigger must record its hits: arm it to trace.
    for event in schedule.events:
        if (
            isinstance(event.trigger, OnFailpoint)
            and event.trigger.name not in chaos.failpoints.armed
        ):
            chaos.arm(event.trigger.name, "trace", count=None)

    phase("chaos")
    chaos.timeline.mark("phase", "chaos")
    started = time.monotonic()
    completions = _Completions(orders)
    pending = list(schedule.events)
    submitted = threading.Event()

    def workload() -> None:
        with ThreadPoolExecutor(concurrency) as pool:
            # The app a failpoint crashed is restarted below, so a POST it refused
            # meanwhile is sent again until it is back.
            list(pool.map(lambda _: orders.try_submit(resend_for=RESEND_S), range(count)))
        submitted.set()

    feeder = threading.Thread(target=workload, daemon=True)
    feeder.start()
    try:
        while True:
            for event in list(pending):
                if _fired(event, chaos, orders, started, completions):
                    pending.remove(event)
                    chaos.timeline.mark("trigger", event.describe())
                    chaos.inject(event.fault, duration=event.duration)
            timed_out = time.monotonic() - started >= schedule.chaos_timeout
            # Armed failpoints count as pending faults: healing before one fires would
            # leave its crash to land in the verify phase. While failpoints are unfired,
            # events untriggered or orders still being submitted, an app that a failpoint
            # crashed is restarted, as its supervisor would (the workload and the
            # triggers waiting on the app's progress need it up).
            unfired = chaos.unfired_failpoints()
            busy = unfired or pending or not submitted.is_set()
            if busy and chaos.restart_crashed_app():
                continue
            quiet = not pending and submitted.is_set() and not chaos.timeline.active()
            if (quiet and not unfired) or timed_out:
                break
            time.sleep(0.02)
        feeder.join(timeout=max(1.0, schedule.chaos_timeout))
    finally:
        phase("heal")
        chaos.heal()
    if pending:
        raise FaultError(
            f"{len(pending)} scheduled fault(s) never triggered within the "
            f"{schedule.chaos_timeout:g}s chaos phase, so they did nothing: "
            + "; ".join(e.describe() for e in pending)
        )
    chaos.check_failpoints_fired()
    phase("verify")
    history = chaos.observe(orders, deadline=schedule.verify_deadline)
    return run_checks(history, checks)
