"""Drive the order API over HTTP: submit orders, read their state, wait until terminal.

Each test gets its own ``Orders`` with a unique instance-id prefix, so tests share one
stack without seeing each other's orders. Durations are seconds.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.errors import WorkloadError

TERMINAL = frozenset({"COMPLETED", "FAILED", "TERMINATED"})


@dataclass(frozen=True)
class Order:
    """One order as POSTed to ``/orders``. ``total_amount`` in currency units."""

    order_id: str
    customer_id: str
    product_id: str
    quantity: int
    total_amount: float

    def as_json(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "customerId": self.customer_id,
            "productId": self.product_id,
            "quantity": self.quantity,
            "totalAmount": self.total_amount,
        }


@dataclass(frozen=True)
class OrderStatus:
    """What ``GET /orders/<id>`` said about one order."""

    order_id: str
    runtime_status: str
    output: Any = None
    failure: Any = None

    @property
    def terminal(self) -> bool:
        return self.runtime_status in TERMINAL

    @property
    def result(self) -> str | None:
        return self.output.get("result") if isinstance(self.output, dict) else None


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class OrderAPIClient:
    """A small keep-alive HTTP client for the order API on 127.0.0.1 (thread-safe)."""

    def __init__(self, port: int, *, timeout: float = 10.0) -> None:
        self.port = port
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def request(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> Response:
        """One request. Retried once only when a reused keep-alive connection turns out
        to be closed (the server never saw the request); a timeout or a failure on a fresh
        connection is not retried: a POST may have been applied."""
        payload = (
            raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        )
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in (1, 2):
            reused = getattr(self._local, "conn", None) is not None
            conn = self._conn()
            try:
                conn.request(method, path, body=payload, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                conn.close()
                self._local.conn = None
                stale = reused and isinstance(
                    exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                )
                if attempt == 2 or not stale:
                    raise WorkloadError(
                        f"{method} {path} on 127.0.0.1:{self.port} failed: {exc}"
                    ) from exc
                continue
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = data.decode("utf-8", "replace")
            return Response(resp.status, parsed, {k.lower(): v for k, v in resp.getheaders()})
        raise AssertionError("unreachable")

    def submit(self, order: Order) -> str:
        """POST the order; returns the instance id. Anything but 202 is a WorkloadError."""
        resp = self.request("POST", "/orders", order.as_json())
        if resp.status != 202:
            raise WorkloadError(
                f"POST /orders for {order.order_id} answered {resp.status}: {resp.body}"
            )
        return str(resp.body["instanceId"])

    def status(self, order_id: str) -> OrderStatus | None:
        """Current state, or None when the API says 404."""
        resp = self.request("GET", f"/orders/{order_id}")
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise WorkloadError(f"GET /orders/{order_id} answered {resp.status}: {resp.body}")
        body = resp.body
        return OrderStatus(order_id, body["runtimeStatus"], body.get("output"), body.get("failure"))

    def state(self) -> dict[str, dict[str, int]]:
        """The app's business state (``GET /state``)."""
        resp = self.request("GET", "/state")
        if resp.status != 200:
            raise WorkloadError(f"GET /state answered {resp.status}: {resp.body}")
        return dict(resp.body)


class Orders:
    """Orders of one test: ids are ``<prefix><n>``; waits poll the API.

    ``rng`` makes generated orders reproducible (same seed, same orders).
    """

    PRODUCTS = tuple(f"p-{i:03d}" for i in range(20))

    def __init__(
        self, api: OrderAPIClient, prefix: str | None = None, *, seed: int | None = None
    ) -> None:
        self.api = api
        self.prefix = prefix or f"t{uuid.uuid4().hex[:10]}-"
        self.rng = random.Random(seed)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.submitted: list[str] = []
        # Jepsen's ok / fail / info: 202 seen; a definite refusal; no answer (unknown).
        self.accepted: dict[str, Order] = {}
        self.refused: dict[str, str] = {}
        self.uncertain: dict[str, Order] = {}

    def make(
        self,
        *,
        product_id: str | None = None,
        quantity: int | None = None,
        customer_id: str | None = None,
        total_amount: float | None = None,
    ) -> Order:
        """A plausible order with a fresh id under this prefix."""
        qty = quantity if quantity is not None else self.rng.randint(1, 5)
        return Order(
            order_id=f"{self.prefix}{next(self._counter)}",
            customer_id=customer_id or f"customer-{self.rng.randint(1, 500)}",
            product_id=product_id or self.rng.choice(self.PRODUCTS),
            quantity=qty,
            total_amount=total_amount
            if total_amount is not None
            else round(qty * self.rng.uniform(5, 200), 2),
        )

    def submit(self, order: Order | None = None, **kwargs: Any) -> str:
        """Submit and insist on 202 (WorkloadError otherwise)."""
        order = order or self.make(**kwargs)
        instance = self.api.submit(order)
        with self._lock:
            self.submitted.append(instance)
            self.accepted[instance] = order
        return instance

    def try_submit(self, order: Order | None = None, **kwargs: Any) -> str | None:
        """Submit under faults: returns the id if accepted, None otherwise. A refusal is
        recorded in ``refused``; no answer at all (the order may or may not exist) in
        ``uncertain``."""
        order = order or self.make(**kwargs)
        try:
            resp = self.api.request("POST", "/orders", order.as_json())
        except WorkloadError:
            with self._lock:
                self.uncertain[order.order_id] = order
            return None
        with self._lock:
            if resp.status == 202:
                self.submitted.append(order.order_id)
                self.accepted[order.order_id] = order
                return order.order_id
            self.refused[order.order_id] = f"{resp.status}: {resp.body}"
        return None

    def submit_many(self, count: int, **kwargs: Any) -> list[str]:
        return [self.submit(**kwargs) for _ in range(count)]

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
