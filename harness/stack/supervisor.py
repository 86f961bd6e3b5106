"""The supervisor: brings a faulted stack back to a state where workflows run.

It starts what is down (dependencies first, the app after a supervisor-like delay), waits
until daprd's actor runtime is connected and a workflow worker is registered, and
recognises and recovers from a known upstream race (dapr 1.18.3 with durabletask-go
0.12.1): a worker that connects while daprd is still unregistering the previous worker's
actor types ends up connected but unregistered (``connectedWorkers`` 0, every activity
failing with "actor type ... not registered"). Restarting the app does not clear that
state; a daprd restart does.

What it observes goes on the run's timeline; what it concludes goes into two lists of
findings: ``known`` (upstream defects recognised by their signature and recovered from)
and ``worker`` (the app's workflow worker did not come back). Durations are seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import StackError
from harness.record.ledger import FailpointFollower
from harness.record.timeline import Timeline
from harness.stack import readiness

if TYPE_CHECKING:
    from harness.stack.stack import Stack

KNOWN_REGISTRATION_RACE = "known upstream race (workflow actor types unregistered on reconnect)"
# The detail of the timeline windows of the harness's recovery from it.
RACE_HEAL = "heal: registration race"

# Start order matters when several members are down: dependencies first.
START_ORDER = ("valkey", "placement", "scheduler", "daprd", "app")
# How often a member that dies while it starts is started again before heal gives up.
START_ATTEMPTS = 3
MIN_WORKER_PROBE_S = 1.0  # the least a heal probes for a worker already missing past its grace


class MemberDied(Exception):
    """A member exited while the supervisor waited for the stack to become ready."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass
class Findings:
    """What the heal phase concluded: ``known`` upstream defects recognised and recovered
    from (not the app's fault), ``worker`` lost workflow workers (the app's)."""

    known: list[str] = field(default_factory=list)
    worker: list[str] = field(default_factory=list)


class Supervisor:
    """Starts ``stack``'s members that are down and waits for workflows to run again.

    ``worker_grace``: seconds to wait for the app's workflow worker to reconnect (the
    Python SDK backs off up to 15 s). ``restart_app_on_lost_worker``: restart the app when
    it does not (the finding is reported either way). ``app_restart_delay``: seconds to
    wait before starting an app that died, as a supervisor's backoff would.
    ``worker_probe``: seconds after an app start before the registration race is
    suspected. ``race_settle``: seconds daprd's log must show the race's own signature
    (the app's stream up, its actor types never disseminated) before it is recognised
    earlier than that.
    """

    def __init__(
        self,
        stack: Stack,
        timeline: Timeline,
        hits: FailpointFollower,
        *,
        since: float,
        worker_grace: float = 30.0,
        restart_app_on_lost_worker: bool = False,
        app_restart_delay: float = 1.0,
        worker_probe: float = 8.0,
        race_settle: float = 1.5,
    ) -> None:
        self.stack = stack
        self.timeline = timeline
        self.hits = hits
        self.since = since
        self.worker_grace = worker_grace
        self.restart_app_on_lost_worker = restart_app_on_lost_worker
        self.app_restart_delay = app_restart_delay
        self.worker_probe = worker_probe
        self.race_settle = race_settle
        self._start_deaths = 0  # the app's consecutive deaths while starting
        # One app start at a time: a timed heal (a timer thread) starting a killed app
        # must not race the chaos loop restarting it after a crash, nor the stack heal.
        self._app_start = threading.RLock()
        self.findings = Findings()
        self.worker_probed = False  # a heal waited for the app's workflow worker

    def note_known(self, text: str) -> None:
        """Keep a known upstream defect recognised (and recovered from) outside the
        supervisor, e.g. the overlap strand released after a deploy."""
        self._finding(self.findings.known, text)

    def _finding(self, findings: list[str], text: str) -> None:
        """Keep a finding for the checks and put it on the timeline."""
        findings.append(text)
        self.timeline.mark("finding", text)

    # -- crashes the app asked for ---------------------------------------------------

    def settle_crashes(self, timeout: float = 5.0) -> None:
        """A crash failpoint records its hit before its SIGKILL lands. Wait until every
        process that recorded one is gone: a heal that still saw it running would leave
        it dead for the verify phase (every instance stuck, and nobody to restart it)."""
        deadline = time.monotonic() + timeout
        for hit in self.hits.hits():
            if hit.fired and hit.action == "crash" and hit.ts >= self.since:
                self.wait_gone(hit.pid, deadline)

    def wait_gone(self, pid: int, deadline: float) -> None:
        """Wait (until the monotonic ``deadline``) for the member whose pid is ``pid`` to
        exit; returns at once when no member has that pid."""
        for member in self.stack.members.values():
            if member.process.pid == pid:
                while member.process.running() and time.monotonic() < deadline:
                    time.sleep(0.005)
                return

    def restart_crashed_app(self, *, held: bool) -> bool:
        """As a supervisor would: start the app again if it died (a failpoint crash) and
        no fault holds it down (``held``). Returns whether it was started."""
        app = self.stack.members.get("app")
        if app is None or app.process.running() or held:
            return False
        if not self._app_start.acquire(blocking=False):
            return False  # a timed heal is starting it right now
        try:
            return self._restart_crashed_app(app)
        finally:
            self._app_start.release()

    def _restart_crashed_app(self, app: Any) -> bool:
        if app.process.running():
            return False
        self.timeline.mark("heal", "supervisor: starting the app after it crashed")
        since = time.time()
        try:
            self.start_app()
        except StackError as exc:
            # Redelivered work may reach the next armed failpoint before the app is ready:
            # a crash we asked for, not a failed start. It is started again next round.
            crashed = any(
                h.fired and h.action == "crash" and h.ts >= since for h in self.hits.hits()
            )
            if app.process.running():
                raise
            if not crashed:
                # An app can also die while it starts for a reason of its own (grpc-python
                # aborted on an epoll EBADF here, once in about 20 runs; most likely gRPC's
                # fork handlers in the harness before the app's exec, off since, see
                # harness/__init__.py): a supervisor tries again, a few times.
                self._start_deaths += 1
                if self._start_deaths >= START_ATTEMPTS:
                    raise
                self.timeline.mark("heal", f"the app died while starting ({exc}); again")
                return True
        self._start_deaths = 0
        return True

    # -- starting what is down -------------------------------------------------------

    def start(self, name: str, *, timeout: float | None = None) -> None:
        """Start member ``name`` (down) and wait until it is ready; the app goes through
        :meth:`start_app` (its delay, the registration race)."""
        if name == "app":
            self.start_app()
        else:
            self.stack.start_member(name, timeout=timeout)

    def start_down(self, *, timeout: float | None = None) -> None:
        """Start every member that is down, dependencies first, and wait until workflows
        can run. A member that dies meanwhile is started again (3 rounds at most)."""
        for attempt in range(START_ATTEMPTS):
            try:
                for name in START_ORDER:
                    member = self.stack.members.get(name)
                    if member is not None and not member.process.running():
                        self.timeline.mark("heal", f"starting {name} (it was down)")
                        self.start(name, timeout=timeout)
            except StackError as exc:
                dead = [
                    n
                    for n in START_ORDER
                    if n in self.stack.members and not self.stack.members[n].process.running()
                ]
                if attempt == START_ATTEMPTS - 1 or not dead:
                    raise
                self.timeline.mark("heal", f"{', '.join(dead)} died while starting ({exc})")
                continue
            try:
                self.wait_workers(timeout)
                return
            except MemberDied as died:
                if attempt == START_ATTEMPTS - 1:
                    raise StackError(
                        f"{died.name} keeps dying while the stack heals",
                        log_tail=self.stack.process(died.name).log_tail(),
                    ) from None

    def start_app(self, *, delay: float | None = None) -> None:
        """Start the app after ``delay`` seconds (default ``app_restart_delay``). If daprd
        then counts no worker although the app runs, and daprd shows the known
        registration race, record it as a known upstream finding and recover. The race
        is recognised as soon as daprd's log shows it (the app's work item stream up, and
        no registration of its actor types after it for ``race_settle`` s), at the latest
        after ``worker_probe`` s (then by the 'not registered' errors alone)."""
        with self._app_start:
            if self.stack.process("app").running():
                return  # started meanwhile, by whoever held the lock
            self._start_app(self.app_restart_delay if delay is None else delay)

    def _start_app(self, delay: float) -> None:
        if delay > 0:
            time.sleep(delay)
        daprd = self.stack.daprd
        log_offset = daprd.process.log_size()
        started = time.time()
        self.stack.start_member("app", wait=False)
        seen = self._first_sign(log_offset)
        if seen == "race":
            unregistered = _unregistered(daprd.process.log_since(log_offset))
            self._recover_after_start(unregistered, "its work item stream was up but", started)
            return
        app = self.stack.process("app")
        try:
            if seen == "nothing":
                raise StackError(f"no workflow worker within {self.worker_probe:.0f}s")
            self.stack.member("app").wait_ready(self.worker_probe)  # + the app's health
            return
        except StackError:
            if not app.running():
                raise
            unregistered = _unregistered(daprd.process.log_since(log_offset))
            if not unregistered:
                # Not the race (yet), maybe just slow (a loaded machine, the SDK's
                # reconnect backoff of 2, 4, 8 s): give the worker the rest of its grace.
                try:
                    readiness.wait_for(
                        "a connected workflow worker",
                        lambda: readiness.workflow_workers(daprd.metadata()) >= 1,
                        process=app,
                        timeout=max(1.0, self.worker_grace - self.worker_probe),
                    )
                    return
                except StackError:
                    unregistered = _unregistered(daprd.process.log_since(log_offset))
                    if not app.running() or not unregistered:
                        raise
        self._recover_after_start(
            unregistered,
            f"for {self.worker_probe:.0f}s although the worker stream was up, and",
            started,
        )

    def _first_sign(self, log_offset: int) -> str:
        """Wait up to ``worker_probe`` s after an app start: "worker" when daprd counts a
        connected worker, "race" as soon as daprd's log since ``log_offset`` shows the
        race, "nothing" when the probe ran out. StackError when the app exits meanwhile."""
        daprd = self.stack.daprd
        app = self.stack.process("app")
        deadline = time.monotonic() + self.worker_probe
        unanswered_since: float | None = None
        while time.monotonic() < deadline:
            if readiness.workflow_workers(daprd.metadata()) >= 1:
                return "worker"
            if not app.running():
                raise StackError(
                    f"app exited with status {app.returncode} while waiting for a connected "
                    f"workflow worker; its log is {app.log_path}",
                    log_tail=app.log_tail(),
                )
            if _stream_unregistered(daprd.process.log_since(log_offset)):
                unanswered_since = unanswered_since or time.monotonic()
                if time.monotonic() - unanswered_since >= self.race_settle:
                    return "race"
            else:
                unanswered_since = None
            time.sleep(0.1)
        return "nothing"

    def _recover_after_start(self, unregistered: list[str], how_seen: str, started: float) -> None:
        """Recover from the race seen after an app start at ``started`` (epoch seconds);
        from then until recovered the runtime was unavailable because of it."""
        how = self.recover_registration()
        self._unavailable(started)
        example = f", e.g. {unregistered[-1][:220]}" if unregistered else ""
        finding = (
            f"{KNOWN_REGISTRATION_RACE}: after the app restarted, daprd counted no workflow "
            f"worker: {how_seen} daprd logged {len(unregistered)} 'not registered' "
            f"error(s){example}; recovered by {how}"
        )
        self._finding(self.findings.known, finding)

    def _unavailable(self, since: float) -> None:
        """Mark ``since`` (epoch seconds) until now as time the runtime was unavailable
        because of the known registration race: reported apart from the app's recovery."""
        window = self.timeline.open(
            "upstream", "daprd", f"{KNOWN_REGISTRATION_RACE}: no worker registered", start=since
        )
        self.timeline.close(window)

    def _worker_back(self, seconds: float) -> bool:
        """Whether daprd counts a connected workflow worker within ``seconds`` (False
        when daprd exits first). The app may die meanwhile: work redelivered to the worker
        that came back can reach the next armed crash failpoint. Its fired crash proves
        the worker was back (True, and the caller's loop starts the app again); an app
        that died otherwise is a StackError at once, never a wait for a worker of a dead
        process."""
        daprd = self.stack.daprd
        app = self.stack.members.get("app")
        since = time.time()
        deadline = time.monotonic() + seconds
        while True:
            if readiness.workflow_workers(daprd.metadata()) >= 1:
                return True
            if app is not None and not app.process.running():
                if any(h.fired and h.action == "crash" and h.ts >= since for h in self.hits.hits()):
                    return True
                raise StackError(
                    f"the app exited (status {app.process.returncode}) while daprd recovered "
                    f"from the registration race; its log is {app.process.log_path}",
                    log_tail=app.process.log_tail(),
                )
            if not daprd.process.running() or time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def recover_registration(self, *, second_try: bool = True) -> str:
        """Bring an unregistered worker back by restarting daprd (same ports and data),
        and once more when ``second_try`` and the first did not. Returns how; StackError
        if it did not come back.

        Not with a soft restart (SIGHUP), which clears the race too: an activity result
        that arrives across one can be saved against stale workflow metadata (an inbox
        row past a missing one), and daprd never loads that instance again. Here that
        corrupted 3 of 7 runs of an app raising events on its own instances, and no run
        in 7 with a full restart (README, upstream findings)."""
        for attempt in range(2 if second_try else 1):
            window = self.timeline.open("restart", "daprd", RACE_HEAL)
            self.stack.restart_member("daprd")
            recovered = self._worker_back(self.worker_grace)
            self.timeline.close(window)
            if recovered:
                return "a daprd restart" if attempt == 0 else "a second daprd restart"
        raise StackError(
            "the app's workflow worker stayed unregistered in daprd after "
            + ("two daprd restarts" if second_try else "a daprd restart")
            + " (known registration race)"
        )

    # -- waiting until workflows run -------------------------------------------------

    def wait_workers(self, timeout: float | None) -> None:
        """Wait for daprd's actor runtime (``timeout``, default the stack's ready timeout)
        and, when the stack has an app, its workflow worker (``worker_grace``). MemberDied
        when daprd or the app exits meanwhile; a worker that stays away is a finding."""
        stack = self.stack
        limit = timeout or stack.config.ready_timeout
        daprd = stack.daprd
        try:
            readiness.wait_for(
                "actor runtime RUNNING with placement connected",
                lambda: readiness.actors_ready(daprd.metadata()),
                process=daprd.process,
                timeout=limit,
            )
        except StackError:
            if not daprd.process.running():
                raise MemberDied("daprd") from None
            raise
        if "app" not in stack.members:
            return
        app = stack.process("app")
        self.worker_probed = True
        waiting_since = time.time()
        try:
            readiness.wait_for(
                "a connected workflow worker",
                lambda: readiness.workflow_workers(daprd.metadata()) >= 1,
                process=app,
                timeout=self.grace_left(),
            )
        except StackError:
            if not app.running():
                raise MemberDied("app") from None
            self._worker_missing(waiting_since)

    def grace_left(self) -> float:
        """Seconds of ``worker_grace`` still to wait for the app's worker. The grace runs
        from the last moment its stream could have broken or begun: the later of daprd's
        and the app's last start and the last fault's start or end (a pause, a toxic, a
        kill). A worker already missing that long since then is not waited for again
        (a heal after a long chaos phase, or a second heal), only probed once more."""
        last = self._last_disturbance()
        if last is None:
            return self.worker_grace
        return max(MIN_WORKER_PROBE_S, self.worker_grace - (time.time() - last))

    def _last_disturbance(self) -> float | None:
        """Epoch seconds of daprd's or the app's last start or a fault's last start or
        end, whichever is latest (None: nothing known)."""
        stack = self.stack
        moments = [stack.daprd.process.started_at, stack.process("app").started_at]
        moments.append(self.timeline.last_change())
        known = [m for m in moments if m is not None]
        return max(known) if known else None

    def _worker_missing(self, since: float) -> None:
        """No worker after the grace although the app runs: the known race (recovered)
        or a lost worker (a finding; the app is restarted if asked)."""
        stack = self.stack
        daprd = stack.daprd
        app = stack.process("app")
        meta = daprd.metadata() or {}
        unregistered = _unregistered(daprd.process.log_tail(400))
        evidence = (
            f"; daprd logged {len(unregistered)} 'actor type ... not registered' "
            f"error(s) among its last 400 lines, e.g. {unregistered[-1][:200]}"
            if unregistered
            else ""
        )
        # The race also follows a reset of the worker's stream without the app dying
        # (a reconnect as quick as a restart). Only a daprd restart clears it;
        # an app whose worker really quit does not come back from that either.
        if unregistered:
            try:
                how = self.recover_registration(second_try=False)
            except StackError:
                pass
            else:
                self._unavailable(since)
                finding = (
                    f"{KNOWN_REGISTRATION_RACE}: no workflow worker for "
                    f"{self.worker_grace:.0f}s after healing although the app (pid "
                    f"{app.pid}) ran{evidence}; recovered by {how}"
                )
                self._finding(self.findings.known, finding)
                return
            meta = daprd.metadata() or {}
        last = self._last_disturbance()
        waited = max(self.worker_grace, time.time() - last) if last else self.worker_grace
        finding = (
            f"no workflow worker connected {waited:.0f}s after the last start or fault "
            f"(worker grace {self.worker_grace:.0f}s) although the app (pid {app.pid}) is "
            f"running; daprd workflows: {meta.get('workflows')}{evidence}"
        )
        self._finding(self.findings.worker, finding)
        if not self.restart_app_on_lost_worker:
            return
        self.timeline.mark("heal", "restarting the app: its worker never reconnected")
        stack.restart_member("app")

    def probe_worker(self, since: float) -> bool:
        """Called by a wait for the workload to reach something (a failpoint) that saw
        daprd count no workflow worker since ``since`` (epoch seconds) although the app
        runs: the known race (recovered, a known finding) or a lost worker (a finding).
        Nothing an instance does happens without a worker, so waiting longer would only
        time out. Returns False, doing nothing, while an app start is under way (it
        judges the worker itself), when a worker is back, and within ``worker_grace`` of
        the last start or fault (the worker may still be reconnecting)."""
        last = self._last_disturbance()
        if last is not None and time.time() - last < self.worker_grace:
            return False  # the worker may still be on its way back (SDK backoff)
        if not self._app_start.acquire(blocking=False):
            return False
        try:
            app = self.stack.members.get("app")
            if app is None or not app.process.running():
                return False
            if readiness.workflow_workers(self.stack.daprd.metadata()) >= 1:
                return False
            self._worker_missing(since)
            return True
        finally:
            self._app_start.release()

    def state(self) -> str:
        """One line on what workflows need right now, as evidence for a wait that timed
        out: the app's and daprd's processes, daprd's connected workers, and the
        registration race's signature in daprd's last 400 log lines."""
        stack = self.stack
        parts = []
        app = stack.members.get("app")
        if app is not None:
            proc = app.process
            parts.append(
                f"app pid {proc.pid} running"
                if proc.running()
                else f"app exited (status {proc.returncode})"
            )
        daprd = stack.daprd.process
        if not daprd.running():
            parts.append(f"daprd exited (status {daprd.returncode})")
            return "; ".join(parts)
        meta = stack.daprd.metadata()
        parts.append(
            "daprd metadata unreadable"
            if meta is None
            else f"daprd counts {readiness.workflow_workers(meta)} connected workflow worker(s)"
        )
        unregistered = _unregistered(daprd.log_tail(400))
        if unregistered:
            parts.append(
                f"daprd logged {len(unregistered)} 'actor type ... not registered' error(s) "
                f"among its last 400 lines ({KNOWN_REGISTRATION_RACE})"
            )
        if self.findings.known or self.findings.worker:
            parts.append("findings: " + " | ".join(self.findings.known + self.findings.worker))
        return "; ".join(parts)

    def worker_lost(self) -> bool:
        """Whether workflows cannot progress now: a heal found the app's worker missing
        (a finding, not the known race), the app still runs, and daprd still counts no
        connected worker. Nothing an instance does happens without a worker. Never with
        ``restart_app_on_lost_worker``: the restarted app's worker is on its way."""
        app = self.stack.members.get("app")
        if self.restart_app_on_lost_worker or not self.findings.worker:
            return False
        if app is None or not app.process.running():
            return False
        return readiness.workflow_workers(self.stack.daprd.metadata()) == 0

    def note_stuck(self, stuck: int) -> None:
        """After verify: ``stuck`` instances are not terminal. If the app runs and daprd
        counts no worker, the worker stopped after the heal: a finding."""
        app = self.stack.members.get("app")
        workers = readiness.workflow_workers(self.stack.daprd.metadata())
        if stuck and app is not None and app.process.running() and workers == 0:
            self._finding(
                self.findings.worker,
                f"{stuck} instance(s) stuck while the app (pid {app.process.pid}) runs and "
                "daprd counts no connected workflow worker: the worker stopped after the "
                "heal",
            )


# daprd's log lines around a worker's registration (dapr 1.18.3): the stream comes up,
# then placement disseminates the new actor types within milliseconds. In the race, that
# dissemination never comes (the previous stream's unregistration is still under way).
_STREAM_UP = "work item stream established"
_DISSEMINATED = "Dissemination complete"


def _stream_unregistered(log_text: str) -> bool:
    """Whether the last work item stream in ``log_text`` came up with no actor-type
    dissemination after it: the registration race itself."""
    up = log_text.rfind(_STREAM_UP)
    return up >= 0 and log_text.find(_DISSEMINATED, up) < 0


def _unregistered(log_text: str) -> list[str]:
    """daprd log lines that show the registration race's signature."""
    return [line for line in log_text.splitlines() if "not registered" in line]
