"""The nemesis: injects faults into a stack, keeps the ones still active, heals them.

Each fault gets a window on the run's timeline from injection until it is healed. A fault
with a duration is healed by a timer thread after that many seconds; the rest wait for
:meth:`Nemesis.heal_all`. Healing a kill means starting the member again, which is the
supervisor's job (the app comes back after its delay, through the registration-race
recovery). Thread-safe: timers heal concurrently with injections.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from harness.errors import FaultError
from harness.faults.deploy import Deploy, roll_out
from harness.faults.fault import Fault
from harness.faults.network import LinkDown, LinkToxic
from harness.faults.process import Kill, Restart, SoftRestart
from harness.record.timeline import FaultWindow, Timeline
from harness.stack.ports import established

if TYPE_CHECKING:
    from harness.stack.stack import Stack
    from harness.stack.supervisor import Supervisor

log = logging.getLogger("harness.faults")


class Nemesis:
    """Fault injection on ``stack``, recorded on ``timeline``; ``supervisor`` starts what
    a healed kill left down."""

    def __init__(self, stack: Stack, timeline: Timeline, supervisor: Supervisor) -> None:
        self.stack = stack
        self.timeline = timeline
        self.supervisor = supervisor
        self._active: list[tuple[Fault, FaultWindow]] = []
        self._timers: list[threading.Timer] = []
        self._errors: list[BaseException] = []
        self._lock = threading.RLock()

    def inject(self, fault: Fault, *, duration: float | None = None) -> FaultWindow:
        """Inject ``fault`` now; with ``duration`` (seconds) heal it after that long."""
        if duration is not None and duration <= 0:
            raise FaultError(f"fault duration must be > 0 seconds, got {duration}")
        window = self.timeline.open(fault.kind, fault.target, fault.detail())
        # Counted before the fault acts: taking a link down closes its connections.
        window.touched = self._connections(fault)
        try:
            if isinstance(fault, Deploy):
                roll_out(fault, self.stack, self.supervisor, self.timeline)
            else:
                fault.inject(self.stack)
        except BaseException:
            self.timeline.close(window)
            raise
        if isinstance(fault, (Restart, SoftRestart, Deploy)):
            self.timeline.close(window)  # the restart (the deploy) itself was the fault
            log.info("injected %s", window.describe())
            return window
        log.info("injected %s", window.describe())
        with self._lock:
            self._active.append((fault, window))
        if duration is not None:
            timer = threading.Timer(duration, self._heal_later, (fault, window))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        return window

    def _connections(self, fault: Fault) -> int | None:
        """Connections through the proxy of a link fault's link (None: not a link)."""
        topology = self.stack.topology
        if not isinstance(fault, (LinkDown, LinkToxic)) or topology is None:
            return None
        try:
            return established(topology.link(fault.target).listen)
        except KeyError:
            return None

    def holds(self, target: str) -> bool:
        """Whether an active fault holds ``target`` (a member) down."""
        with self._lock:
            return any(f.target == target for f, w in self._active if w.end is None)

    def active(self) -> bool:
        """Whether any fault is active now (not yet healed)."""
        with self._lock:
            return any(w.end is None for _f, w in self._active)

    def _heal_later(self, fault: Fault, window: FaultWindow) -> None:
        try:
            self._heal_one(fault, window)
        except BaseException as exc:  # surfaced by the next heal_all()
            self._errors.append(exc)

    def _heal_one(self, fault: Fault, window: FaultWindow) -> None:
        with self._lock:
            if (fault, window) not in self._active:
                return
            self._active.remove((fault, window))
        if isinstance(fault, Kill):
            if not self.stack.process(fault.target).running():
                self.supervisor.start(fault.target)
        else:
            later = self._connections(fault)
            fault.heal(self.stack)
            if window.touched is not None and later is not None:
                window.touched = max(window.touched, later)
                if not window.touched:
                    self.timeline.mark(
                        "finding",
                        f"{fault.kind} on {fault.target} touched no connection: nothing "
                        "went through the link while it was faulted",
                    )
        self.timeline.close(window)
        log.info("healed %s", window.describe())

    def heal_all(self, *, join_timeout: float) -> list[BaseException]:
        """Cancel pending timers, let a timed heal already under way finish (up to
        ``join_timeout`` seconds), heal every active fault (last injected first). Returns
        the errors timed heals met since the last call."""
        for timer in self._timers:
            timer.cancel()
        # A timed heal already under way (say, starting a killed app after its delay)
        # must finish first: started beside the stack-wide start of whatever is down, it
        # would launch a second copy that nothing tracks and nothing stops.
        for timer in self._timers:
            timer.join(timeout=join_timeout)
        self._timers.clear()
        with self._lock:
            active = list(reversed(self._active))
        for fault, window in active:
            self._heal_one(fault, window)
        errors, self._errors = self._errors, []
        return errors
