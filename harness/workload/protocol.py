"""What the experiment layer drives: a :class:`Workload` starts workflow instances and
reads them back.

The order HTTP API (:class:`~harness.workload.orders.Orders`) is one workload; any other
way of starting instances (workflows over daprd's gRPC API, a user's own client) plugs in
by implementing this protocol. Every start attempt is kept with a Jepsen outcome
(:class:`~harness.record.history.Attempt`): the checks judge what was attempted, not only
what succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from harness.record.history import Attempt, InstanceStatus, RaisedEvent


class _NoExpectation:
    def __repr__(self) -> str:
        return "NO_EXPECTATION"


NO_EXPECTATION: Any = _NoExpectation()
"""What :meth:`Workload.expected_output` returns when any output will do."""


def input_key(value: Any) -> str:
    """A stable key of an input (its canonical JSON), to pair runs of the same input."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Workload(Protocol):
    """Starts instances whose ids all begin with ``prefix`` and reads them back.

    Contract: ``try_start`` never raises for an outcome of the system under test (a
    refusal or no answer is recorded as an attempt, and None returned); ``status`` raises
    :class:`~harness.errors.WorkloadError` when it cannot read an instance (not the same
    as None: the instance does not exist); ``wait_terminal`` raises WorkloadError naming
    the instances not terminal by ``timeout`` seconds.

    An order workload (``kind == "orders"``) may also have ``order_api``, the
    :class:`~harness.record.order_shape.OrderShape` its app marks approved and rejected
    orders with; the history carries it to the checks (default: the reference app's).
    """

    @property
    def prefix(self) -> str: ...

    @property
    def kind(self) -> str:
        """ "orders" (the order API: the order checks apply) or "workflows"; it decides
        the checks a verification runs when none are named."""
        ...

    @property
    def baseline(self) -> Mapping[str, InstanceStatus | None]:
        """Final statuses of fault-free runs, by :func:`input_key` of their input (empty:
        no baseline was run)."""
        ...

    def describe(self) -> str:
        """One line for reports: what is started, and how."""
        ...

    def try_start(self, *, resend_for: float = 0.0) -> str | None:
        """Start one more instance (the workload chooses its input); its id if accepted.
        A start refused before it reached the system (connection refused) is retried for
        up to ``resend_for`` seconds."""
        ...

    def attempts(self) -> list[Attempt]:
        """Every start attempt so far, with its outcome."""
        ...

    def status(self, instance_id: str) -> InstanceStatus | None:
        """The instance's state now, or None when it does not exist."""
        ...

    def wait_terminal(
        self, ids: Iterable[str] | None = None, *, timeout: float = 60.0, interval: float = 0.05
    ) -> Mapping[str, InstanceStatus]:
        """Poll until every instance (default: all accepted) is terminal."""
        ...

    def business_state(self) -> dict[str, dict[str, int]] | None:
        """The app's business state, for checks that need it (None: none to read)."""
        ...

    def run_baseline(self, count: int, *, timeout: float = 60.0) -> None:
        """Run the inputs of the next ``count`` starts once without faults and keep their
        final statuses in :attr:`baseline` (ConfigError where the workload has none)."""
        ...

    def expected_output(self, input: Any) -> Any:
        """The output an instance started with ``input`` must end with, or
        :data:`NO_EXPECTATION`."""
        ...

    def raised_events(self) -> list[RaisedEvent]:
        """Every external event raised on its instances so far, with its outcome (empty:
        the workload raises none)."""
        ...

    def close(self) -> None:
        """Release what the workload holds (connections); it is not used afterwards."""
        ...
