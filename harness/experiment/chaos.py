"""Chaos on a running stack: inject faults, arm failpoints, heal, and verify.

One ``Chaos`` per test (the pytest ``chaos`` fixture) on a shared stack. It is a facade
over three parts with one job each: the :class:`~harness.faults.nemesis.Nemesis` injects
faults and heals timed ones, the :class:`~harness.stack.supervisor.Supervisor` starts what
is down and waits until workflows run (recovering from the known registration race), and
:func:`~harness.experiment.observe.observe` collects the run's history for the checks.
Faults go on a timeline; ``heal`` removes every active fault and starts whatever is down;
``verify`` heals, waits until every accepted instance is terminal (deadline in seconds),
builds the history and runs the checks.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from harness.checks.result import CheckResult, Verdict
from harness.checks.verification import Verification, run_checks
from harness.errors import FaultError, HarnessError, StackError
from harness.experiment.observe import observe
from harness.faults.deploy import Deploy, roll_out
from harness.faults.failpoints import Failpoint, Failpoints
from harness.faults.fault import MEMBERS, Fault
from harness.faults.nemesis import Nemesis
from harness.faults.network import LinkDown, LinkToxic
from harness.faults.process import Kill, Pause, Restart, SoftRestart
from harness.record.history import History
from harness.record.ledger import FailpointFollower, FailpointHit, Ledger
from harness.record.timeline import FaultWindow, Timeline
from harness.stack import readiness
from harness.stack.config import AppSpec
from harness.stack.stack import Stack
from harness.stack.supervisor import KNOWN_REGISTRATION_RACE, START_ORDER, Supervisor
from harness.stack.toxiproxy import Stream, Toxic
from harness.workload.protocol import Workload

__all__ = ["KNOWN_REGISTRATION_RACE", "Chaos", "ExtraChecks", "OnVerification"]

# Checks of a user's own (the plugin's pytest_dapr_chaos_add_checks hook), run on every history.
ExtraChecks = Callable[[History], list[CheckResult]]
# Told of every verification judged (the plugin records its verdicts in the JUnit file).
OnVerification = Callable[[Verification], None]


class Chaos:
    """Fault injection and verification on ``stack``.

    ``worker_grace``: seconds the heal phase waits for the app's workflow worker to
    reconnect (the Python SDK backs off up to 15 s). ``restart_app_on_lost_worker``: if
    it does not, restart the app (the finding is reported either way).
    ``app_restart_delay``: seconds heal waits before starting an app that died, as a
    supervisor's backoff would. Known upstream race (dapr 1.18.3): a worker that
    reconnects while daprd is still unregistering the previous worker's actor types stays
    connected but unregistered; heal recognises it, recovers with a daprd runtime
    restart, and the worker-health check lists it as a known finding.
    ``workflows``: the app's workflow code as "MODULE[:ATTR]", for the ``replay`` check.
    ``extra_checks``: more checks run on every verification's history (the pytest plugin
    passes the ``pytest_dapr_chaos_add_checks`` hook here). ``on_verification``: called
    with every verification :meth:`judge` (so :meth:`verify`, :meth:`assert_ok` and the
    schedule and load runs) produced, extra checks included, before it is returned or
    raised as a failure (the pytest plugin records the verdicts as JUnit properties).
    ``scope``: the instance id prefix of this test's (or run's) instances; :meth:`arm`
    arms failpoints for those instances only (a straggler of an earlier test on the
    shared stack can neither fire them nor use up their count) and :meth:`wait_for_hit`
    looks for hits in them. "" (default): every instance. The pytest ``chaos`` fixture
    gives the test's prefix, the one of its ``workflows`` and ``orders`` fixtures.

    A new Chaos starts from a clean slate: every failpoint of the stack is disarmed and
    its hit counts are forgotten.
    """

    def __init__(
        self,
        stack: Stack,
        *,
        worker_grace: float = 30.0,
        restart_app_on_lost_worker: bool = False,
        app_restart_delay: float = 1.0,
        workflows: str | None = None,
        extra_checks: ExtraChecks | None = None,
        strict_upstream: bool = False,
        on_verification: OnVerification | None = None,
        scope: str = "",
    ) -> None:
        if stack.run_dir is None:
            raise StackError("the stack is not started")
        self.stack = stack
        self.failpoints = Failpoints(stack.failpoints_dir)
        self.failpoints.clear()
        self.timeline = Timeline()
        self.started = time.time()
        self.hits = FailpointFollower(stack.ledger_path)
        self.supervisor = Supervisor(
            stack,
            self.timeline,
            self.hits,
            since=self.started,
            worker_grace=worker_grace,
            restart_app_on_lost_worker=restart_app_on_lost_worker,
            app_restart_delay=app_restart_delay,
        )
        self.nemesis = Nemesis(stack, self.timeline, self.supervisor)
        self._first_app = stack.config.app
        self._armed_here: list[tuple[str, str]] = []
        self.workflows = workflows
        self.extra_checks = extra_checks
        self.strict_upstream = strict_upstream
        self.on_verification = on_verification
        self.scope = scope

    # -- the supervisor's settings and findings, as attributes ------------------------

    @property
    def worker_grace(self) -> float:
        return self.supervisor.worker_grace

    @worker_grace.setter
    def worker_grace(self, seconds: float) -> None:
        self.supervisor.worker_grace = seconds

    @property
    def worker_probe(self) -> float:
        return self.supervisor.worker_probe

    @worker_probe.setter
    def worker_probe(self, seconds: float) -> None:
        self.supervisor.worker_probe = seconds

    @property
    def restart_app_on_lost_worker(self) -> bool:
        return self.supervisor.restart_app_on_lost_worker

    @restart_app_on_lost_worker.setter
    def restart_app_on_lost_worker(self, value: bool) -> None:
        self.supervisor.restart_app_on_lost_worker = value

    @property
    def app_restart_delay(self) -> float:
        return self.supervisor.app_restart_delay

    @app_restart_delay.setter
    def app_restart_delay(self, seconds: float) -> None:
        self.supervisor.app_restart_delay = seconds

    @property
    def known_findings(self) -> list[str]:
        """Known upstream defects recognised (by signature) and recovered from."""
        return self.supervisor.findings.known

    @property
    def worker_findings(self) -> list[str]:
        """Workflow workers that did not come back after a fault."""
        return self.supervisor.findings.worker

    # -- faults ----------------------------------------------------------------------

    def inject(self, fault: Fault, *, duration: float | None = None) -> FaultWindow:
        """Inject ``fault`` now; with ``duration`` (seconds) heal it after that long."""
        return self.nemesis.inject(fault, duration=duration)

    def kill(
        self, target: str, sig: int = signal.SIGKILL, *, duration: float | None = None
    ) -> FaultWindow:
        """Kill a member's process group; it stays down until ``duration`` or heal()."""
        return self.inject(Kill(target, sig), duration=duration)

    def pause(self, target: str, seconds: float | None = None) -> FaultWindow:
        """SIGSTOP a member, for ``seconds`` or until heal()."""
        return self.inject(Pause(target), duration=seconds)

    def deploy(
        self,
        app: AppSpec | None = None,
        *,
        workflows: str | None = None,
        env: Mapping[str, str] | None = None,
        mode: str = "gap",
        seconds: float = 1.0,
    ) -> FaultWindow:
        """Deploy another version of the app over the running one (see
        :class:`~harness.faults.deploy.Deploy`): ``app``, or the running app with other
        ``workflows`` (MODULE:ATTR) or more ``env``; ``mode`` "gap" or "overlap" for
        ``seconds``. Returns once the new version's worker serves alone. :meth:`reset`
        deploys the app this Chaos started with back."""
        return self.inject(Deploy(app, workflows, dict(env or {}), mode=mode, seconds=seconds))

    def restart(self, target: str) -> FaultWindow:
        """Restart a member on the same ports with the same data (returns when ready)."""
        return self.inject(Restart(target))

    def soft_restart(self) -> FaultWindow:
        """SIGHUP daprd: it restarts its runtime in-process."""
        return self.inject(SoftRestart())

    def toxic(self, link: str, toxic: Toxic, *, duration: float | None = None) -> FaultWindow:
        """Add ``toxic`` (e.g. ``Toxic.bandwidth(4)``) to ``link``'s proxy."""
        return self.inject(LinkToxic(link, toxic), duration=duration)

    def latency(
        self,
        link: str,
        ms: int,
        *,
        jitter_ms: int = 0,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        duration: float | None = None,
    ) -> FaultWindow:
        """Add ``ms`` (± ``jitter_ms``) milliseconds to every chunk on ``link``."""
        return self.toxic(
            link, Toxic.latency(ms, jitter_ms, stream=stream, toxicity=toxicity), duration=duration
        )

    def down(self, link: str, *, duration: float | None = None) -> FaultWindow:
        """Take ``link`` down: connections close and new ones are refused."""
        return self.inject(LinkDown(link), duration=duration)

    def black_hole(
        self,
        link: str,
        *,
        close_after_ms: int = 0,
        stream: Stream = "downstream",
        duration: float | None = None,
    ) -> FaultWindow:
        """Stop all data on ``link`` (toxiproxy "timeout"); close after ``close_after_ms``."""
        return self.toxic(link, Toxic.timeout(close_after_ms, stream=stream), duration=duration)

    def reset_peer(
        self,
        link: str,
        *,
        after_ms: int = 0,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        duration: float | None = None,
    ) -> FaultWindow:
        """Reset connections on ``link`` with TCP RST after ``after_ms``."""
        return self.toxic(
            link, Toxic.reset_peer(after_ms, stream=stream, toxicity=toxicity), duration=duration
        )

    # -- failpoints ------------------------------------------------------------------

    def arm(self, name: str, action: str = "crash", **options: Any) -> Failpoint:
        """Arm failpoint ``name`` (see :class:`~harness.faults.failpoints.Failpoint`) for
        the instances of :attr:`scope` unless ``instances`` is given ("": every one)."""
        options.setdefault("instances", self.scope)
        return self.arm_failpoint(Failpoint(name, action, **options))

    def arm_failpoint(self, failpoint: Failpoint) -> Failpoint:
        """Arm ``failpoint`` as given (a scenario's or a generated plan's)."""
        self.failpoints.arm(failpoint)
        self._armed_here.append((failpoint.name, failpoint.action))
        self.timeline.mark("failpoint", f"armed {failpoint.name}: {failpoint.action}")
        return failpoint

    def disarm(self, name: str) -> None:
        self.failpoints.disarm(name)

    def ledger(self, prefix: str = "") -> Ledger:
        return Ledger.read(self.stack.ledger_path, prefix=prefix)

    def wait_for_hit(
        self, name: str, *, fired: bool = True, timeout: float = 30.0, prefix: str | None = None
    ) -> FailpointHit:
        """Wait until failpoint ``name`` is hit (and ``fired``, by default) in an instance
        whose id starts with ``prefix`` (None: :attr:`scope`); ``timeout`` in seconds.

        Nothing reaches a failpoint without a workflow worker: when daprd counts none for
        ``worker_probe`` s while the app runs, no fault is active and ``worker_grace`` has
        passed since the last start or fault, the supervisor judges it then (the known
        registration race is recovered and reported as a known finding, once, and the
        time that took is added to the wait; anything else is a worker finding). A
        timeout is a FaultError with the evidence: where this prefix's instances got to
        (activity invocations in the ledger) and the state of the app and daprd."""
        prefix = self.scope if prefix is None else prefix
        deadline = time.monotonic() + timeout
        no_worker_since: float | None = None
        probed = False
        next_look = 0.0
        while time.monotonic() < deadline:
            for hit in self.hits.hits(prefix):
                if hit.name == name and hit.ts >= self.started and (hit.fired or not fired):
                    if hit.fired and hit.action == "crash":
                        self.supervisor.wait_gone(hit.pid, deadline)
                    return hit
            if not probed and time.monotonic() >= next_look:
                next_look = time.monotonic() + 0.5
                if self._worker_missing_now():
                    no_worker_since = no_worker_since or time.time()
                    if time.time() - no_worker_since >= self.supervisor.worker_probe:
                        began = time.monotonic()
                        probed = self.supervisor.probe_worker(no_worker_since)
                        deadline += time.monotonic() - began
                else:
                    no_worker_since = None
            time.sleep(0.02)
        armed = self.failpoints.armed.get(name)
        scope = armed.instances if armed else ""
        only = f" for instances {scope}* only" if scope else ""
        if scope and not prefix.startswith(scope):
            only += ': for instances named otherwise arm it with instances=""'
        raise FaultError(
            f"failpoint {name} (armed{only}) was not {'fired' if fired else 'hit'} within "
            f"{timeout:.0f}s (is it armed, and does the workload reach it?); "
            f"{self._progress(prefix)}; {self.supervisor.state()}"
        )

    def _worker_missing_now(self) -> bool:
        """Whether the app runs while daprd counts no workflow worker."""
        app = self.stack.members.get("app")
        if app is None or not app.process.running() or not self.stack.daprd.process.running():
            return False
        if self.nemesis.active():
            return False  # a fault may hold the worker away (a paused app, a cut link)
        return readiness.workflow_workers(self.stack.daprd.metadata()) == 0

    def _progress(self, prefix: str) -> str:
        """Where the instances under ``prefix`` got to since this Chaos began, from the
        ledger: activity invocations by activity, and the failpoints hit."""
        ledger = Ledger.read(self.stack.ledger_path, prefix=prefix)
        calls = Counter(i.activity for i in ledger.invocations if i.ts >= self.started)
        hits = Counter(
            f"{h.name} ({'fired' if h.fired else 'passed'})"
            for h in ledger.failpoints
            if h.ts >= self.started
        )
        where = f"instances {prefix}*" if prefix else "instances"
        if not calls:
            return f"{where}: no activity invoked since the test began"
        text = f"{where}: activity invocations " + ", ".join(
            f"{activity} {n}" for activity, n in sorted(calls.items())
        )
        if hits:
            text += "; failpoints hit " + ", ".join(f"{h} {n}" for h, n in sorted(hits.items()))
        return text

    def unfired_failpoints(self, prefix: str = "", instances: Collection[str] = ()) -> list[str]:
        """Failpoints armed here with an acting action (not trace) that have not fired in
        this test's or run's instances: those whose id starts with ``prefix``, and the
        ``instances`` its workload started under ids of their own (and their children,
        whose ids begin with their parent's)."""
        acting = {name for name, action in self._armed_here if action != "trace"}
        if not acting:
            return []
        ours = (prefix, *(i for i in instances if not i.startswith(prefix)))
        fired = {
            h.name
            for h in self.hits.hits()
            if h.fired
            and h.ts >= self.started
            and (not prefix or (h.workflow_id or "").startswith(ours))
        }
        return sorted(acting - fired)

    def judge_failpoints(self, verification: Verification, prefix: str = "") -> None:
        """A failpoint armed with an action that never fired (in this run's instances,
        ``prefix``) did nothing. When the checks passed that is an error (FaultError): the
        run did not test what it claimed. When they failed, the app's failure stands (an
        instance that fails before it reaches the failpoint cannot fire it) and a VACUOUS
        ``failpoints`` result names the idle ones. A leftover instance of an earlier test
        that reaches it does not count."""
        idle = self.unfired_failpoints(prefix, verification.history.attempts)
        if not idle:
            return
        names = ", ".join(idle)
        if verification.verdict is Verdict.FAIL:
            verification.results.append(
                CheckResult(
                    "failpoints",
                    Verdict.VACUOUS,
                    f"{names} armed but never fired: the instances failed before they "
                    "reached them (see the failing checks)",
                    [f"{name}: armed, never fired" for name in idle],
                )
            )
            return
        scoped = sorted(
            {fp.instances for n, fp in self.failpoints.armed.items() if n in idle and fp.instances}
        )
        only = (
            f"; they were armed for instances {', '.join(p + '*' for p in scoped)} only (an "
            'app that names its instances itself arms with instances="")'
            if scoped
            else ""
        )
        raise FaultError(
            f"failpoint(s) {names} were armed but never fired, so they did nothing: check "
            "the names against the app's failpoint() calls and that the workload reaches "
            f"them{only}"
        )

    # -- heal --------------------------------------------------------------------------

    def heal(self, *, timeout: float | None = None) -> float:
        """Remove every active fault, start every member that is down, and wait until
        workflows can run (the worker may take ``worker_grace`` s). A member that dies
        while heal waits is started again (3 rounds at most). Returns seconds."""
        started = time.monotonic()
        self.timeline.mark("phase", "heal")
        self.supervisor.settle_crashes()
        errors = self.nemesis.heal_all(
            join_timeout=self.worker_grace + self.stack.config.ready_timeout
        )
        self.supervisor.start_down(timeout=timeout)
        if errors:
            raise FaultError(f"healing a timed fault failed: {errors[0]}") from errors[0]
        return time.monotonic() - started

    def restart_crashed_app(self) -> bool:
        """As a supervisor would: start the app again if it died (a failpoint crash) while
        no fault of ours holds it down. Returns whether it was started."""
        return self.supervisor.restart_crashed_app(held=self.nemesis.holds("app"))

    # -- verify --------------------------------------------------------------------------

    def observe(self, workload: Workload, *, deadline: float = 60.0) -> History:
        """Wait (up to ``deadline`` s) until every accepted instance is terminal, then
        collect the history of this test's instances."""
        return observe(
            self.stack,
            workload,
            timeline=self.timeline,
            supervisor=self.supervisor,
            workflows=self._workflows_now(),
            deadline=deadline,
        )

    def _workflows_now(self) -> str | None:
        """The code the replay check replays against: the deployed version's after a
        deploy (it is the code that replays every history from then on)."""
        app = self.stack.config.app
        if app is not self._first_app and app is not None and app.workflows:
            return app.workflows
        return self.workflows

    def verify(
        self,
        workload: Workload,
        *,
        deadline: float = 60.0,
        checks: Sequence[str] | None = None,
        heal: bool = True,
    ) -> Verification:
        """Heal (unless ``heal=False``), wait for the instances, run ``checks`` (default:
        those of the workload's kind: the order checks for orders, the workflow checks
        otherwise). An armed failpoint that never fired is judged once the instances are
        done (before, they may just not have reached it yet): :meth:`judge_failpoints`."""
        if heal:
            self.heal()
        history = self.observe(workload, deadline=deadline)
        return self.judge(history, checks, prefix=workload.prefix)

    def judge(
        self, history: History, checks: Sequence[str] | None = None, *, prefix: str | None = None
    ) -> Verification:
        """Run the named ``checks`` (default: the workload kind's) and the extra checks on
        ``history``; with ``prefix`` (the workload's), judge the failpoints armed here
        (:meth:`judge_failpoints`); tell ``on_verification``."""
        verification = run_checks(history, checks)
        if self.extra_checks is not None:
            verification.results.extend(self.extra_checks(history))
        if prefix is not None:
            self.judge_failpoints(verification, prefix)
        if self.on_verification is not None:
            self.on_verification(verification)
        return verification

    def assert_ok(self, workload: Workload, **kwargs: Any) -> Verification:
        """:meth:`verify`, raising AssertionError with the full report unless it passed
        (a recognised upstream defect alone passes, unless ``strict_upstream``)."""
        verification = self.verify(workload, **kwargs)
        upstream = verification.verdict is Verdict.KNOWN_UPSTREAM
        if not verification.passed or (upstream and self.strict_upstream):
            raise AssertionError(verification.report())
        return verification

    def reset(self) -> None:
        """Leave the stack as found: heal, disarm every failpoint, forget hit counts. If
        healing failed, every member is restarted from scratch and the failure is raised
        (a FaultError naming it): a heal that failed is never swallowed."""
        try:
            self.heal()
            if self.stack.config.app != self._first_app and self._first_app is not None:
                # A test deployed another version: the next one gets the app it expects.
                # The harness's own step, not a fault of the run: its windows go on a
                # timeline of their own, so reports and coverage do not count it.
                self.timeline.mark("heal", "deploying the first app back")
                roll_out(
                    Deploy(self._first_app, seconds=0), self.stack, self.supervisor, Timeline()
                )
        except HarnessError as exc:
            # One more attempt from scratch: restart members that are unhealthy.
            for name in START_ORDER:
                if name in self.stack.members and name in MEMBERS:
                    self.stack.restart_member(name)
            raise FaultError(
                f"healing after the test failed ({exc}); every member was restarted"
            ) from exc
        finally:
            self.failpoints.clear()
