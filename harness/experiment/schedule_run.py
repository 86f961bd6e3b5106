"""Run a fault schedule against a workload: chaos → heal → verify.

The workload starts ``count`` instances with ``concurrency`` threads while the schedule's
triggers are evaluated every 20 ms. Whatever happens, the stack is healed before this
returns or raises.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from harness.checks.verification import Verification
from harness.errors import ConfigError, HarnessError, WorkloadError
from harness.experiment.chaos import Chaos
from harness.experiment.triggers import EventSender, PendingEvents, Triggers
from harness.faults.schedule import Schedule
from harness.record.history import Outcome
from harness.workload.protocol import Workload

log = logging.getLogger("harness.runner")
RESEND_S = 15.0  # seconds a start refused at connect is sent again during the chaos phase


class _Completions:
    """Counts terminal instances of the run, polling each unfinished one at most every
    ``interval`` seconds (through the workload, not a fault-bent path)."""

    def __init__(self, workload: Workload, interval: float = 0.2) -> None:
        self.workload = workload
        self.interval = interval
        self.done: set[str] = set()
        self._last = 0.0

    def count(self) -> int:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            accepted = [a.instance_id for a in self.workload.attempts() if a.outcome is Outcome.OK]
            for instance_id in accepted:
                if instance_id in self.done:
                    continue
                try:
                    status = self.workload.status(instance_id)
                except WorkloadError:
                    break  # the app is down: try again later
                if status is not None and status.terminal:
                    self.done.add(instance_id)
        return len(self.done)

    def all_terminal(self) -> bool:
        """Every instance the workload started is terminal and none is left without an
        answer (an unanswered one may still be running): nothing can reach a failpoint."""
        attempts = self.workload.attempts()
        if any(a.outcome is Outcome.INFO for a in attempts):
            return False
        accepted = sum(1 for a in attempts if a.outcome is Outcome.OK)
        return self.count() >= accepted


def run_schedule(
    chaos: Chaos,
    schedule: Schedule,
    workload: Workload,
    *,
    count: int,
    concurrency: int = 4,
    pace: float = 0.0,
    checks: Sequence[str] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> Verification:
    """Run ``schedule`` while ``count`` instances are started by ``concurrency`` threads,
    each waiting ``pace`` seconds after a start before its next; heal; verify.

    ``on_phase`` is called with "chaos", "heal" and "verify" as each phase begins (and
    "baseline" first when the same-as-fault-free check asks for fault-free runs), for
    progress lines. A scheduled fault that never triggered is a FaultError; so is a
    failpoint armed with an action that never fired, unless the checks failed (the app's
    failure stands, and the idle failpoint is named): :meth:`Chaos.judge_failpoints`."""
    phase = on_phase or (lambda _name: None)
    if count < 1 or concurrency < 1:
        raise ConfigError(f"count and concurrency must be >= 1, got {count}, {concurrency}")
    if pace < 0:
        raise ConfigError(f"pace must be >= 0 seconds, got {pace}")
    if checks is not None and "same-as-fault-free" in checks:
        phase("baseline")
        # Fault-free means no failpoint either: the scenario armed them already, and a
        # crash here would have no supervisor to restart the app.
        with chaos.failpoints.suspended():
            workload.run_baseline(count, timeout=schedule.verify_deadline)
    phase("chaos")
    chaos.timeline.mark("phase", "chaos")
    started = time.monotonic()
    completions = _Completions(workload)
    triggers = Triggers(
        chaos,
        prefix=workload.prefix,
        elapsed=lambda: time.monotonic() - started,
        completed=completions.count,
    )
    pending = PendingEvents(
        chaos,
        schedule.events,
        triggers,
        sender=workload if isinstance(workload, EventSender) else None,
        accepted=lambda: [a.instance_id for a in workload.attempts() if a.outcome is Outcome.OK],
    )
    submitted = threading.Event()
    # What stopped the submitting threads (an answer the workload cannot read): raised
    # after the heal, instead of waiting out the chaos phase for starts that never come.
    feeder_error: list[HarnessError] = []

    def start_one() -> str | None:
        started_id = workload.try_start(resend_for=RESEND_S)
        if pace:
            time.sleep(pace)
        return started_id

    def starts() -> None:
        try:
            with ThreadPoolExecutor(concurrency) as pool:
                # The app a failpoint crashed is restarted below, so a start it refused
                # meanwhile is sent again until it is back.
                list(pool.map(lambda _: start_one(), range(count)))
        except HarnessError as exc:
            feeder_error.append(exc)
        finally:
            submitted.set()

    feeder = threading.Thread(target=starts, daemon=True)
    feeder.start()
    try:
        while True:
            if feeder_error:
                break
            pending.fire_due()
            timed_out = time.monotonic() - started >= schedule.chaos_timeout
            # Armed failpoints count as pending faults: healing before one fires would
            # leave its crash to land in the verify phase. While failpoints are unfired,
            # events untriggered or orders still being submitted, an app that a failpoint
            # crashed is restarted, as its supervisor would (the workload and the
            # triggers waiting on the app's progress need it up).
            unfired = chaos.unfired_failpoints(workload.prefix)
            busy = unfired or pending or not submitted.is_set()
            if busy and chaos.restart_crashed_app():
                continue
            quiet = not pending and submitted.is_set() and not chaos.timeline.active()
            if (quiet and not unfired) or timed_out:
                break
            if quiet and completions.all_terminal():
                break  # every instance is done: an unfired failpoint can no longer fire
            time.sleep(0.02)
        feeder.join(timeout=max(1.0, schedule.chaos_timeout))
    finally:
        phase("heal")
        chaos.heal()
    if feeder_error:
        raise feeder_error[0]
    never = pending.never_fired(f"within the {schedule.chaos_timeout:g}s chaos phase")
    if never is not None:
        raise never
    pending.finish(timeout=schedule.verify_deadline)
    phase("verify")
    history = chaos.observe(workload, deadline=schedule.verify_deadline)
    return chaos.judge(history, checks, prefix=workload.prefix)
