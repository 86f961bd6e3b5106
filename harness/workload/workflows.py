"""The workflow workload: start instances of any registered workflow by name through
daprd's workflow API (gRPC), read them back, raise events, terminate them.

Each test gets its own ``Workflows`` with a unique instance-id prefix (``<prefix><n>``),
so tests share one stack without seeing each other's instances. It is a
:class:`~harness.workload.protocol.Workload`: ``chaos.assert_ok(workflows)`` judges its
instances like ``orders``. Durations are seconds.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable
from typing import Any

from harness.errors import ConfigError, NotDelivered, WorkloadError
from harness.record.history import Attempt, InstanceStatus, Outcome, RaisedEvent
from harness.workload.inputs import Inputs, InputSpec
from harness.workload.protocol import NO_EXPECTATION, input_key
from harness.workload.workflow_api import WorkflowAPI


class Workflows:
    """Workflow instances of one test, started through daprd on ``api``.

    ``workflow`` and ``inputs`` are what :meth:`try_start` (schedules, scenario files)
    starts: the registered workflow name, and a list (cycled), a callable of the
    instance number, or a Hypothesis strategy (reproducible from ``seed``).
    ``registered``: the workflow names the app registers, when known (a hosted app
    reports them): starting another name is a ConfigError listing them.
    ``expect_output``: the expected output of every instance, or a callable of its input
    (for the ``output`` check).
    """

    def __init__(
        self,
        api: WorkflowAPI,
        prefix: str | None = None,
        *,
        workflow: str | None = None,
        inputs: InputSpec | None = None,
        registered: Collection[str] | None = None,
        seed: int = 0,
        expect_output: Any = NO_EXPECTATION,
    ) -> None:
        self.api = api
        self.prefix = prefix or f"w{uuid.uuid4().hex[:10]}-"
        self.workflow = workflow
        self.inputs = Inputs(inputs if inputs is not None else [None], seed=seed)
        self.registered = frozenset(registered) if registered is not None else None
        self.expect_output = expect_output
        if workflow is not None:
            self._known(workflow)
        self._counter = itertools.count(1)
        self._next_input = itertools.count(0)
        self._lock = threading.Lock()
        self._attempts: dict[str, Attempt] = {}
        self._raised: list[RaisedEvent] = []
        self.baseline: dict[str, InstanceStatus | None] = {}
        self.kind = "workflows"

    # -- starting instances ----------------------------------------------------------

    def _known(self, workflow: str) -> None:
        if self.registered is not None and workflow not in self.registered:
            names = ", ".join(sorted(self.registered)) or "none"
            raise ConfigError(
                f"workflow {workflow!r} is not registered by the app; it registers: {names}"
            )

    def next_id(self) -> str:
        return f"{self.prefix}{next(self._counter)}"

    def _record(self, attempt: Attempt) -> None:
        with self._lock:
            self._attempts[attempt.instance_id] = attempt

    def start(
        self,
        workflow: str,
        input: Any = None,
        *,
        instance_id: str | None = None,
        resend_for: float = 15.0,
    ) -> str:
        """Start one instance and insist it is accepted: a start daprd never received or
        refused before creating anything (the app is down or restarting) is sent again
        for up to ``resend_for`` seconds; then, or on any other failure, WorkloadError.
        Returns its id (``<prefix><n>`` unless ``instance_id`` is given)."""
        self._known(workflow)
        instance = instance_id or self.next_id()
        deadline = time.monotonic() + resend_for
        sent = time.time()
        while True:
            try:
                self.api.start(workflow, instance, input)
                break
            except NotDelivered as exc:
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                why = str(exc)
                self._record(Attempt(instance, Outcome.FAIL, input, workflow, why, sent))
                raise
            except WorkloadError as exc:
                self._record(Attempt(instance, Outcome.INFO, input, workflow, str(exc), sent))
                if "DEADLINE_EXCEEDED" not in str(exc):
                    raise
                # Seen from a user's test: daprd holds a start while the app is down (a
                # crash failpoint fired) until the call's timeout.
                raise WorkloadError(
                    f"{exc}; the outcome is unknown (daprd may have created it). Was the "
                    "app down? Starts under faults go through try_start_one, which records "
                    "the outcome instead of raising"
                ) from exc
        self._record(Attempt(instance, Outcome.OK, input, workflow, at=sent))
        return instance

    def start_many(self, workflow: str, inputs: Iterable[Any]) -> list[str]:
        """Start one instance per input, in order; returns their ids."""
        return [self.start(workflow, value) for value in inputs]

    def try_start_one(
        self, workflow: str, input: Any = None, *, resend_for: float = 0.0
    ) -> str | None:
        """Start under faults: the id if accepted, None otherwise. A start daprd never
        received (connection refused) is sent again for up to ``resend_for`` seconds,
        then refused as not delivered; any other failure leaves the outcome unknown."""
        self._known(workflow)
        instance = self.next_id()
        sent = time.time()
        outcome, why = _send(lambda: self.api.start(workflow, instance, input), resend_for)
        self._record(Attempt(instance, outcome, input, workflow, why, sent))
        return instance if outcome is Outcome.OK else None

    def try_start(self, *, resend_for: float = 0.0) -> str | None:
        """The next input of the configured workflow, under faults."""
        if self.workflow is None:
            raise ConfigError("this workflow workload has no workflow to start: give workflow=NAME")
        value = self.inputs[next(self._next_input)]
        return self.try_start_one(self.workflow, value, resend_for=resend_for)

    def adopt(self, attempts: Iterable[Attempt]) -> None:
        """Take over attempts made elsewhere (a Locust load's operation log), so the
        checks judge them as this workload's."""
        for attempt in attempts:
            self._record(attempt)

    # -- reading them back -----------------------------------------------------------

    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts.values())

    @property
    def accepted(self) -> list[str]:
        return [a.instance_id for a in self.attempts() if a.outcome is Outcome.OK]

    def status(self, instance_id: str) -> InstanceStatus | None:
        return self.api.status(instance_id)

    def wait_terminal(
        self, ids: Iterable[str] | None = None, *, timeout: float = 60.0, interval: float = 0.05
    ) -> dict[str, InstanceStatus]:
        """Poll until every instance (default: every accepted one) is terminal.
        WorkloadError lists the ones that are not by ``timeout`` seconds."""
        pending = list(ids if ids is not None else self.accepted)
        done: dict[str, InstanceStatus] = {}
        last: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while pending:
            still = []
            for instance_id in pending:
                status = self.api.status(instance_id)
                if status is not None and status.terminal:
                    done[instance_id] = status
                else:
                    last[instance_id] = status.runtime_status if status else "NOT FOUND"
                    still.append(instance_id)
            pending = still
            if not pending:
                break
            if time.monotonic() >= deadline:
                listed = ", ".join(f"{i} ({last[i]})" for i in pending[:10])
                raise WorkloadError(
                    f"{len(pending)} instance(s) not terminal after {timeout:.0f}s: {listed}"
                    + (" ..." if len(pending) > 10 else "")
                )
            time.sleep(interval)
        return done

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Deliver external event ``name`` with ``data`` (JSON) to an instance; raises
        WorkloadError (NotDelivered when it never reached daprd). Every raise is kept
        (:meth:`raised_events`) for the ``events-delivered`` check."""
        sent = time.time()
        try:
            self.api.raise_event(instance_id, name, data)
        except NotDelivered as exc:
            self._raised_one(RaisedEvent(instance_id, name, Outcome.FAIL, sent, str(exc)))
            raise
        except WorkloadError as exc:
            self._raised_one(RaisedEvent(instance_id, name, Outcome.INFO, sent, str(exc)))
            raise
        self._raised_one(RaisedEvent(instance_id, name, Outcome.OK, sent))

    def try_raise_event(
        self, instance_id: str, name: str, data: Any = None, *, resend_for: float = 0.0
    ) -> bool:
        """Raise under faults, as a client would: True if daprd took the event. One
        that never reached daprd or that daprd refused (no worker hosts the instance: the
        app is down) is sent again for up to ``resend_for`` seconds; no answer is not
        sent again (it may have been taken) and leaves the outcome unknown."""
        sent = time.time()
        outcome, why = _send(lambda: self.api.raise_event(instance_id, name, data), resend_for)
        self._raised_one(RaisedEvent(instance_id, name, outcome, sent, why))
        return outcome is Outcome.OK

    def _raised_one(self, event: RaisedEvent) -> None:
        with self._lock:
            self._raised.append(event)

    def raised_events(self) -> list[RaisedEvent]:
        """Every raise of an external event so far, with its outcome."""
        with self._lock:
            return list(self._raised)

    def terminate(self, instance_id: str, output: Any = None) -> None:
        """Terminate an instance (and its child workflows)."""
        self.api.terminate(instance_id, output)

    def close(self) -> None:
        """Close the gRPC channel to daprd."""
        self.api.close()

    def business_state(self) -> dict[str, dict[str, int]] | None:
        return None  # any workflow: no business state the harness knows how to read

    def expected_output(self, input: Any) -> Any:
        """What an instance given ``input`` must output (NO_EXPECTATION: anything)."""
        expect = self.expect_output
        if expect is NO_EXPECTATION:
            return NO_EXPECTATION
        return expect(input) if callable(expect) else expect

    def describe(self) -> str:
        what = "workflows"
        if self.workflow:
            what = f"workflow {self.workflow!r}, {self.inputs.describe()}"
        return f"{what} over daprd's gRPC API on 127.0.0.1:{self.api.port} (ids {self.prefix}*)"

    # -- the differential oracle's baseline ------------------------------------------

    def run_baseline(self, count: int, *, timeout: float = 60.0) -> None:
        """Run each distinct input of the next ``count`` starts once, without faults, as
        ``<prefix>base-<n>``, and keep its final status by input (for the
        ``same-as-fault-free`` check). Call it before the faults. A run still not terminal
        after ``timeout`` seconds is kept as it was then (the check calls its instances
        UNKNOWN): a fault-free run that never finishes is the app's doing, for the checks
        to report, not a reason to abandon the experiment."""
        if self.workflow is None:
            raise ConfigError("a baseline needs the workload's workflow name")
        start = len(self.attempts())
        inputs = [self.inputs[n] for n in range(start, start + count)]
        ids: dict[str, str] = {}
        for n, value in enumerate({input_key(v): v for v in inputs}.values()):
            instance = f"{self.prefix}base-{n}"
            self.api.start(self.workflow, instance, value)
            ids[input_key(value)] = instance
        try:
            done: dict[str, InstanceStatus | None] = dict(
                self.wait_terminal(ids.values(), timeout=timeout)
            )
        except WorkloadError:
            done = {instance: self.api.status(instance) for instance in ids.values()}
        self.baseline = {key: done.get(instance) for key, instance in ids.items()}


def _send(call: Callable[[], object], resend_for: float) -> tuple[Outcome, str]:
    """Make ``call`` as a client under faults would: OK once it returns; one that never
    reached daprd, or that daprd refused before acting (NotDelivered), is made again
    every 0.1 s for up to ``resend_for`` seconds, then FAIL with why; any other failure
    INFO (it may have acted), never made again. Returns (outcome, why)."""
    deadline = time.monotonic() + resend_for
    while True:
        try:
            call()
        except NotDelivered as exc:
            if time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            return Outcome.FAIL, f"not delivered: {exc}"
        except WorkloadError as exc:
            return Outcome.INFO, str(exc)
        return Outcome.OK, ""
