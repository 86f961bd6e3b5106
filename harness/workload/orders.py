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


class NotDelivered(WorkloadError):
    """The request never reached the app (connection refused): safe to send again."""


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
                message = f"{method} {path} on 127.0.0.1:{self.port} failed: {exc}"
                if isinstance(exc, ConnectionRefusedError) and attempt == 1:
                    # Refused at connect, first try: the request never left this process.
                    # (On a second try the first may have reached an app that then died.)
                    raise NotDelivered(message) from exc
                stale = reused and isinstance(
                    exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                )
                if attempt == 2 or not stale:
                    raise WorkloadError(message) from exc
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


PRODUCTS = tuple(f"p-{i:03d}" for i in range(20))
# Unit prices in currency units; the reference app stocks 100,000 of each.
UNIT_PRICES = {product: round(4.99 + 7.5 * i, 2) for i, product in enumerate(PRODUCTS)}
# Products the reference app has (almost) none of: orders for them are rejected.
OUT_OF_STOCK = ("sold-out", "scarce")
_QUANTITY_WEIGHTS = (50, 25, 12, 8, 5)  # 1..5 units: most orders are for one
_POPULARITY = tuple(1.0 / (rank + 1) for rank in range(len(PRODUCTS)))  # Zipf-like


class OrderGenerator:
    """Orders with ids ``<prefix><n>`` (n = 1, 2, ...), reproducible from ``seed``.

    Shared by :class:`Orders` and the Locust workload so both submit the same kind of
    orders. Not thread-safe for reproducibility (ids stay unique across threads).
    """

    def __init__(self, prefix: str, seed: int | None = None) -> None:
        self.prefix = prefix
        self.rng = random.Random(seed)
        self._counter = itertools.count(1)

    def next_id(self) -> str:
        return f"{self.prefix}{next(self._counter)}"

    def make(
        self,
        *,
        product_id: str | None = None,
        quantity: int | None = None,
        customer_id: str | None = None,
        total_amount: float | None = None,
    ) -> Order:
        """A plausible order: uniform over 500 customers and the 20 stocked products,
        1-5 units, a total of 5-200 per unit, unless given."""
        qty = quantity if quantity is not None else self.rng.randint(1, 5)
        return Order(
            order_id=self.next_id(),
            customer_id=customer_id or f"customer-{self.rng.randint(1, 500)}",
            product_id=product_id or self.rng.choice(PRODUCTS),
            quantity=qty,
            total_amount=total_amount
            if total_amount is not None
            else round(qty * self.rng.uniform(5, 200), 2),
        )

    def mixed(self, out_of_stock: float = 0.05) -> Order:
        """An order from a realistic mix: four in five from 50 regular customers, the rest
        from 5,000 occasional ones; popular products far more often (Zipf-like); mostly
        one unit; total = quantity x unit price. A fraction ``out_of_stock`` (0..1) asks
        for a product that is sold out or nearly so, which the app rejects."""
        rng = self.rng
        if rng.random() < 0.8:
            customer = f"customer-{rng.randint(1, 50)}"
        else:
            customer = f"customer-{rng.randint(51, 5050)}"
        quantity = rng.choices(range(1, 6), weights=_QUANTITY_WEIGHTS)[0]
        if rng.random() < out_of_stock:
            product, price = rng.choice(OUT_OF_STOCK), 49.99
        else:
            product = rng.choices(PRODUCTS, weights=_POPULARITY)[0]
            price = UNIT_PRICES[product]
        return Order(self.next_id(), customer, product, quantity, round(quantity * price, 2))


class Orders:
    """Orders of one test: ids are ``<prefix><n>``; waits poll the API.

    ``rng`` makes generated orders reproducible (same seed, same orders).
    """

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
        instance = self.api.submit(order)
        with self._lock:
            self.submitted.append(instance)
            self.accepted[instance] = order
        return instance

    def try_submit(
        self, order: Order | None = None, *, resend_for: float = 0.0, **kwargs: Any
    ) -> str | None:
        """Submit under faults: returns the id if accepted, None otherwise. A refusal is
        recorded in ``refused``; no answer at all (the order may or may not exist) in
        ``uncertain``. A POST whose connection was refused never left, so the order
        certainly does not exist: it is sent again, as a client would, for up to
        ``resend_for`` seconds (an app a supervisor restarts comes back), then refused
        as not delivered."""
        order = order or self.make(**kwargs)
        deadline = time.monotonic() + resend_for
        while True:
            try:
                resp = self.api.request("POST", "/orders", order.as_json())
                break
            except NotDelivered as exc:
                if time.monotonic() >= deadline:
                    with self._lock:
                        self.refused[order.order_id] = f"not delivered: {exc}"
                    return None
                time.sleep(0.1)
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
