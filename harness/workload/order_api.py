"""The order API on the wire: an order as POSTed, a status as GET answers it, and a small
keep-alive HTTP client for it on 127.0.0.1 (thread-safe).

Both dialects are read: the reference app's and the seed article's original (C#, and its
Go port). ``POST /orders`` answers 202 with ``{"instanceId": ...}`` or ``{"orderId": ...}``;
``GET /orders/<id>`` answers ``{"runtimeStatus", "output", "failure"?}`` (keys in any
case), the runtime status in any spelling or as the .NET enum's number
(:func:`~harness.record.history.runtime_status_name`), the output's approved/rejected
marker as the app's :class:`~harness.record.order_shape.OrderShape` says.

A request whose connection was refused raises :class:`~harness.errors.NotDelivered` (it
never left this process); an answer of another shape :class:`~harness.errors.AnswerMismatch`
(naming the field, showing the body); any other failure a
:class:`~harness.errors.WorkloadError`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import AnswerMismatch, NotDelivered, WorkloadError
from harness.record.history import TERMINAL, InstanceStatus, runtime_status_name
from harness.record.order_shape import REFERENCE, OrderShape

if TYPE_CHECKING:
    from harness.stack.stack import Stack

__all__ = [
    "TERMINAL",
    "Order",
    "OrderAPIClient",
    "OrderStatus",
    "Response",
    "accepted_id",
    "parse_status",
]


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
    instance (the order id is the instance id). ``order_api``: the shape its app marks
    approved and rejected orders with."""

    order_api: OrderShape = field(default=REFERENCE, compare=False, repr=False)

    @property
    def order_id(self) -> str:
        return self.instance_id

    @property
    def result(self) -> str | None:
        """The output's marker ("Approved", "Completed", "Rejected: out of stock"), if
        any (the field :attr:`order_api` names)."""
        return self.order_api.result(self)


def _shown(body: Any) -> str:
    """A body as evidence: its JSON, cut at 300 characters."""
    try:
        text = json.dumps(body, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(body)
    return text if len(text) <= 300 else text[:300] + "..."


def _key(body: Mapping[str, Any], name: str) -> str | None:
    """The key of ``body`` that is ``name`` in any case (``RuntimeStatus``: Newtonsoft's
    default), or None."""
    if name in body:
        return name
    return next((k for k in body if isinstance(k, str) and k.lower() == name.lower()), None)


def accepted_id(order_id: str, body: Any) -> str:
    """The instance id a 202 to ``POST /orders`` names: ``instanceId`` (the original's),
    else ``orderId``. AnswerMismatch when the body has neither as a non-empty string."""
    if isinstance(body, Mapping):
        for name in ("instanceId", "orderId"):
            key = _key(body, name)
            if key is not None and isinstance(body[key], str) and body[key]:
                return str(body[key])
    raise AnswerMismatch(
        f"POST /orders for {order_id} answered 202 without an instanceId or orderId field "
        f"(a non-empty string): body {_shown(body)}"
    )


def parse_status(order_id: str, body: Any, order_api: OrderShape = REFERENCE) -> OrderStatus:
    """A 200 to ``GET /orders/<order_id>`` as an OrderStatus (runtime status in daprd's
    spelling). AnswerMismatch when the body is not an object, has no ``runtimeStatus``,
    names a runtime status there is not, or is COMPLETED with an output that lacks
    ``order_api``'s marker field."""
    where = f"GET /orders/{order_id}"
    if not isinstance(body, Mapping):
        raise AnswerMismatch(
            f"{where} answered 200 with a body that is not a JSON object: {_shown(body)}"
        )
    key = _key(body, "runtimeStatus")
    if key is None:
        raise AnswerMismatch(
            f"{where} answered 200 without a runtimeStatus field: body {_shown(body)}"
        )
    status = runtime_status_name(body[key])
    if status is None:
        raise AnswerMismatch(
            f"{where}: runtimeStatus {body[key]!r} is not a runtime status (a name such as "
            f"COMPLETED in any case, or the .NET enum's number 0-7): body {_shown(body)}"
        )
    output_key = _key(body, "output")
    output = body[output_key] if output_key is not None else None
    if isinstance(output, str) and output.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):  # serialized twice: a JSON string of it
            output = json.loads(output)
    if status == "COMPLETED" and order_api.marker(output) is None:
        raise AnswerMismatch(
            f"{where}: the order completed but its output has no {order_api.field!r} field, "
            f"which the order API shape {order_api.name!r} reads (approved "
            + " | ".join(map(repr, order_api.approved))
            + "); set the app's order_api (scenario app.order_api, --order-api): "
            f"body {_shown(body)}"
        )
    failure_key = _key(body, "failure")
    failure = body[failure_key] if failure_key is not None else None
    return OrderStatus(order_id, status, output, failure, order_api=order_api)


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class OrderAPIClient:
    """A small keep-alive HTTP client for the order API on 127.0.0.1 (thread-safe).
    ``timeout`` in seconds; ``order_api``: the shape of the app's order outputs."""

    def __init__(
        self, port: int, *, timeout: float = 10.0, order_api: OrderShape = REFERENCE
    ) -> None:
        self.port = port
        self.timeout = timeout
        self.order_api = order_api
        self._local = threading.local()

    @classmethod
    def on(cls, stack: Stack, *, timeout: float = 10.0) -> OrderAPIClient:
        """A client for ``stack``'s app, reading answers in its app's order API shape."""
        app = stack.config.app
        return cls(
            stack.ports["app"], timeout=timeout, order_api=app.order_api if app else REFERENCE
        )

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
        """POST the order; returns the instance id (:func:`accepted_id`). Anything but
        202 is a WorkloadError."""
        resp = self.request("POST", "/orders", order.as_json())
        if resp.status != 202:
            raise WorkloadError(
                f"POST /orders for {order.order_id} answered {resp.status}: {resp.body}"
            )
        return accepted_id(order.order_id, resp.body)

    def status(self, order_id: str) -> OrderStatus | None:
        """Current state (:func:`parse_status`), or None when the API says 404."""
        resp = self.request("GET", f"/orders/{order_id}")
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise WorkloadError(f"GET /orders/{order_id} answered {resp.status}: {resp.body}")
        return parse_status(order_id, resp.body, self.order_api)

    def state(self) -> dict[str, dict[str, int]]:
        """The app's business state (``GET /state``)."""
        resp = self.request("GET", "/state")
        if resp.status != 200:
            raise WorkloadError(f"GET /state answered {resp.status}: {resp.body}")
        return dict(resp.body)
