"""The order API on the wire: an order as POSTed, a status as GET answers it, and a small
keep-alive HTTP client for it on 127.0.0.1 (thread-safe).

A request whose connection was refused raises :class:`~harness.errors.NotDelivered` (it
never left this process); any other failure a :class:`~harness.errors.WorkloadError`.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from harness.errors import NotDelivered, WorkloadError
from harness.record.history import TERMINAL, InstanceStatus

__all__ = ["TERMINAL", "Order", "OrderAPIClient", "OrderStatus", "Response"]


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
class OrderStatus(InstanceStatus):
    """What ``GET /orders/<id>`` said about one order: the order view of its workflow
    instance (the order id is the instance id)."""

    @property
    def order_id(self) -> str:
        return self.instance_id

    @property
    def result(self) -> str | None:
        """The output's ``result`` ("Approved", "Rejected: out of stock"), if any."""
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
