"""The order workload: submit orders to an app's order API over HTTP, read their state,
wait until they are terminal.

Each test gets its own ``Orders`` with a unique instance-id prefix, so tests share one
stack without seeing each other's orders. An order is one workflow instance (its id is
the instance id); :class:`Orders` is a :class:`~harness.workload.protocol.Workload`.
Durations are seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any, ClassVar

from harness.errors import ConfigError, NotDelivered, WorkloadError
from harness.record.history import Attempt, InstanceStatus, Outcome, RaisedEvent
from harness.record.order_shape import OrderShape
from harness.workload.order_api import Order, OrderAPIClient, OrderStatus, accepted_id
from harness.workload.order_generator import PRODUCTS, OrderGenerator
from harness.workload.protocol import NO_EXPECTATION

# Seconds the first of two racing orders waits for its partner's submitter.
RACE_MEET_S = 2.0


class Orders:
    """Orders of one test: ids are ``<prefix><n>``; waits poll the API.

    ``rng`` makes generated orders reproducible (same seed, same orders). The shape of
    the app's answers is the client's (:attr:`order_api`).
    """

    workflow = "order_processing"
    kind = "orders"
    # No fault-free baseline for orders (an order id is part of its input).
    baseline: ClassVar[dict[str, InstanceStatus | None]] = {}

    PRODUCTS = PRODUCTS

    def __init__(
        self, api: OrderAPIClient, prefix: str | None = None, *, seed: int | None = None
    ) -> None:
        self.api = api
        self.prefix = prefix or f"t{uuid.uuid4().hex[:10]}-"
        self.generator = OrderGenerator(self.prefix, seed)
        self.rng = self.generator.rng
        self._lock = threading.Lock()
        self.submitted: list[str] = []
        # Jepsen's ok / fail / info: 202 seen; a definite refusal; no answer (unknown).
        self.accepted: dict[str, Order] = {}
        self.refused: dict[str, str] = {}
        self.uncertain: dict[str, Order] = {}
        self.uncertain_why: dict[str, str] = {}
        self._pairs: dict[int, threading.Barrier] = {}
        self.sent_at: dict[str, float] = {}  # order id -> first send (epoch seconds)

    @property
    def order_api(self) -> OrderShape:
        """How the app marks approved and rejected orders (the history carries it to the
        checks)."""
        return self.api.order_api

    def make(
        self,
        *,
        product_id: str | None = None,
        quantity: int | None = None,
        customer_id: str | None = None,
        total_amount: float | None = None,
    ) -> Order:
        """A plausible order with a fresh id under this prefix (see OrderGenerator.make)."""
        return self.generator.make(
            product_id=product_id,
            quantity=quantity,
            customer_id=customer_id,
            total_amount=total_amount,
        )

    def submit(self, order: Order | None = None, **kwargs: Any) -> str:
        """Submit and insist on 202 (WorkloadError otherwise)."""
        order = order or self.make(**kwargs)
        with self._lock:
            self.sent_at.setdefault(order.order_id, time.time())
        instance = self.api.submit(order)
        with self._lock:
            self.submitted.append(instance)
            self.accepted[instance] = order
        return instance

    def try_submit(
        self, order: Order | None = None, *, resend_for: float = 0.0, **kwargs: Any
    ) -> str | None:
        """Submit under faults, as a client would: returns the id if accepted, None
        otherwise. For up to ``resend_for`` seconds the same order (same id) is sent again
        after a refused connection (it never left) or a 5xx (the app says: try again; an
        app a supervisor restarts comes back). A 409 to a resend means an earlier send
        did create the order: accepted. What is left at the deadline: a refused
        connection, or a 4xx (the app says it took nothing), goes in ``refused``; a 5xx or
        no answer at all (the order may or may not exist) in ``uncertain``, to be read
        back and judged like an accepted one if it exists."""
        order = order or self.make(**kwargs)
        deadline = time.monotonic() + resend_for
        with self._lock:
            self.sent_at.setdefault(order.order_id, time.time())
        sent_before = False  # an earlier send may have created it (a 5xx, no answer)
        pause = 0.1
        while True:
            why = ""
            try:
                resp = self.api.request("POST", "/orders", order.as_json())
            except NotDelivered as exc:
                why = f"not delivered: {exc}"
            except WorkloadError as exc:
                # No answer: it may have been taken. Not sent again: a client cannot
                # tell a slow app from a lost reply, and a resend would only add load.
                self._unknown(order, f"no answer: {exc}")
                return None
            else:
                if resp.status == 202:
                    # An answer of another shape stops the run (AnswerMismatch): no
                    # later answer would be readable either.
                    accepted_id(order.order_id, resp.body)
                if resp.status == 202 or (resp.status == 409 and sent_before):
                    with self._lock:
                        self.submitted.append(order.order_id)
                        self.accepted[order.order_id] = order
                    return order.order_id
                if resp.status < 500:
                    with self._lock:
                        self.refused[order.order_id] = f"{resp.status}: {resp.body}"
                    return None
                sent_before = True
                why = f"{resp.status}: {resp.body}"
            if time.monotonic() >= deadline:
                if sent_before:
                    # An error answer is no proof that nothing happened (the app may have
                    # scheduled the workflow and failed after): unknown, read back later.
                    self._unknown(order, why)
                    return None
                with self._lock:
                    self.refused[order.order_id] = why
                return None
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _unknown(self, order: Order, why: str) -> None:
        with self._lock:
            self.uncertain[order.order_id] = order
            self.uncertain_why[order.order_id] = why

    def submit_many(self, count: int, **kwargs: Any) -> list[str]:
        return [self.submit(**kwargs) for _ in range(count)]

    # -- the Workload protocol -------------------------------------------------------

    def describe(self) -> str:
        return f"orders over the HTTP API on 127.0.0.1:{self.api.port} (ids {self.prefix}*)"

    def try_start(self, *, resend_for: float = 0.0) -> str | None:
        """Submit the next order of the scenario mix under faults (see
        :meth:`try_submit` and :meth:`OrderGenerator.planned`: in every ten orders, seven
        approved, one rejected at the inventory check, and two racing for a scarce
        product of this run's own, one of which is refunded)."""
        n = self.generator.next_number()
        partner = self.generator.race_partner(n)
        if partner is not None:
            self._meet(min(n, partner))
        return self.try_submit(self.generator.planned(n), resend_for=resend_for)

    def _meet(self, pair: int, timeout: float = RACE_MEET_S) -> None:
        """Hold the first of a racing pair's two submitters until the other arrives (at
        most ``timeout`` s), so both orders are sent at the same instant. Sent as threads
        happen to go, the second often came after the first had reserved, and was
        rejected at the check: no race, no refund, and the compensation path untested.
        With one submitting thread the partner never comes: it goes alone, late."""
        with self._lock:
            barrier = self._pairs.setdefault(pair, threading.Barrier(2))
        try:
            barrier.wait(timeout)
        except threading.BrokenBarrierError:
            return  # kept, broken: a partner that comes late goes at once
        with self._lock:
            self._pairs.pop(pair, None)

    def attempts(self) -> list[Attempt]:
        """Every order submitted so far, as an attempt with its outcome."""
        with self._lock:
            out = [
                Attempt(oid, Outcome.OK, o.as_json(), self.workflow, at=self.sent_at.get(oid))
                for oid, o in self.accepted.items()
            ]
            out += [
                Attempt(oid, Outcome.FAIL, None, self.workflow, why, self.sent_at.get(oid))
                for oid, why in self.refused.items()
            ]
            out += [
                Attempt(
                    oid,
                    Outcome.INFO,
                    o.as_json(),
                    self.workflow,
                    self.uncertain_why.get(oid, "no answer"),
                    self.sent_at.get(oid),
                )
                for oid, o in self.uncertain.items()
            ]
        return out

    def status(self, instance_id: str) -> InstanceStatus | None:
        """The order's state through the API (None: 404); WorkloadError when unreadable."""
        return self.api.status(instance_id)

    def business_state(self) -> dict[str, dict[str, int]] | None:
        """The app's ``GET /state`` (None when it cannot be read)."""
        try:
            return self.api.state()
        except WorkloadError:
            return None

    def expected_output(self, input: Any) -> Any:
        return NO_EXPECTATION  # the order checks judge outputs by the order's result

    def raised_events(self) -> list[RaisedEvent]:
        return []  # the order API raises no event

    def close(self) -> None:
        pass  # the HTTP client holds per-thread keep-alive connections only

    def run_baseline(self, count: int, *, timeout: float = 60.0) -> None:
        raise ConfigError(
            "same-as-fault-free needs a workflow workload (every order carries its own id, "
            "so no two runs of an order are alike); the determinism check compares orders"
        )

    def wait_terminal(
        self, ids: Iterable[str] | None = None, *, timeout: float = 60.0, interval: float = 0.05
    ) -> dict[str, OrderStatus]:
        """Poll until every order is terminal. WorkloadError lists the ones that are not."""
        pending = list(ids if ids is not None else self.submitted)
        done: dict[str, OrderStatus] = {}
        deadline = time.monotonic() + timeout
        last: dict[str, str] = {}
        while pending:
            still = []
            for order_id in pending:
                status = self.api.status(order_id)
                if status is not None and status.terminal:
                    done[order_id] = status
                else:
                    last[order_id] = status.runtime_status if status else "NOT FOUND"
                    still.append(order_id)
            pending = still
            if not pending:
                break
            if time.monotonic() >= deadline:
                listed = ", ".join(f"{i} ({last[i]})" for i in pending[:10])
                raise WorkloadError(
                    f"{len(pending)} order(s) not terminal after {timeout:.0f}s: {listed}"
                    + (" ..." if len(pending) > 10 else "")
                )
            time.sleep(interval)
        return done
