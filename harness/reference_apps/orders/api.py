"""HTTP API of the order app (127.0.0.1:$APP_PORT).

``POST /orders``   JSON {orderId?, customerId, productId, quantity, totalAmount}
                   → 202 {"orderId", "instanceId"} + Location: /orders/<id>;
                   400 malformed order; 409 id already used; 503 daprd or the store unavailable.
``GET /orders/<id>`` → 200 {"orderId", "runtimeStatus", "output", "failure", ...}; 404 unknown.
``GET /state``     → 200 business state (stock, charges, refunds, reservations, notifications).
``GET /healthz``   → 200 once the workflow worker is started.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import redis
from dapr.ext.workflow import DaprWorkflowClient

from harness.reference_apps.orders.store import OrderStore
from harness.reference_apps.orders.workflow import WORKFLOW_NAME

ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
FIELDS = {"orderId", "customerId", "productId", "quantity", "totalAmount"}


class BadOrder(ValueError):
    """The request body is not a valid order; the message says what to fix."""


def parse_order(body: bytes) -> dict[str, Any]:
    """Validate a POST /orders body; returns the normalized order or raises BadOrder."""
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise BadOrder(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadOrder(
            "body must be a JSON object with customerId, productId, quantity, "
            "totalAmount (and optionally orderId)"
        )
    unknown = set(data) - FIELDS
    if unknown:
        raise BadOrder(f"unknown field(s) {sorted(unknown)}; allowed: {sorted(FIELDS)}")
    order_id = data.get("orderId") or uuid.uuid4().hex
    if not isinstance(order_id, str) or not ORDER_ID.match(order_id):
        raise BadOrder(
            "orderId must be 1-128 characters of letters, digits, '.', '_', ':', "
            "'-', starting with a letter or digit"
        )
    for name in ("customerId", "productId"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise BadOrder(f"{name} is required and must be a non-empty string")
    quantity = data.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise BadOrder(f"quantity must be a positive integer, got {quantity!r}")
    total = data.get("totalAmount")
    if not isinstance(total, (int, float)) or isinstance(total, bool) or total < 0:
        raise BadOrder(f"totalAmount must be a number >= 0, got {total!r}")
    return {
        "orderId": order_id,
        "customerId": data["customerId"],
        "productId": data["productId"],
        "quantity": quantity,
        "totalAmount": float(total),
    }


class OrderAPI(ThreadingHTTPServer):
    """The order API's server: validates, claims the order id, schedules the workflow,
    and only then answers 202."""

    daemon_threads = True
    # socketserver's default listen backlog is 5: bursts of new connections from a load
    # (or a thundering herd after a fault) would be reset before the app sees them.
    request_queue_size = 128

    def __init__(self, port: int, client: DaprWorkflowClient, store: OrderStore) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.client = client
        self.store = store

    def known(self, order_id: str) -> bool:
        """Whether daprd has an instance with this id; raises grpc.RpcError when daprd
        cannot tell."""
        return self.client.get_workflow_state(order_id, fetch_payloads=False) is not None

    def schedule(self, order: dict[str, Any]) -> None:
        """Start the order's workflow (instance id = order id); raises grpc.RpcError when
        daprd refuses or cannot be reached. Returns once daprd has the instance."""
        self.client.schedule_new_workflow(WORKFLOW_NAME, input=order, instance_id=order["orderId"])


class _Handler(BaseHTTPRequestHandler):
    server: OrderAPI
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
        # client's delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the app log under load

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") != "/orders":
            self._send(404, {"error": f"no route POST {self.path}"})
            return
        try:
            order = parse_order(body)
        except BadOrder as exc:
            self._send(400, {"error": str(exc)})
            return
        store = self.server.store
        try:
            claimed = store.claim_order(order["orderId"])
            if not claimed and not self._retry_in_doubt(order["orderId"]):
                return
        except redis.RedisError as exc:
            self._send(503, {"error": f"the order store is unavailable: {exc}"})
            return
        try:
            self.server.schedule(order)
        except grpc.RpcError as exc:
            # daprd may have saved it all the same: the claim stays in doubt (a first
            # attempt's claim is born so; a retry's goes back to it). With the store down
            # as well, a retry's claim stays taken and later resends get 409: two faults
            # within one request's milliseconds, a gap left open.
            with contextlib.suppress(redis.RedisError):
                if not claimed:
                    store.doubt_order(order["orderId"])
            self._send(503, {"error": f"could not schedule the workflow: {_details(exc)}"})
            return
        # daprd has it: accepted, whether or not the store takes the settling now (a claim
        # left in doubt makes a retry ask daprd, which answers that it exists).
        with contextlib.suppress(redis.RedisError):
            store.settle_order(order["orderId"])
        self._send(
            202,
            {"orderId": order["orderId"], "instanceId": order["orderId"]},
            {"Location": f"/orders/{order['orderId']}"},
        )

    def _retry_in_doubt(self, order_id: str) -> bool:
        """A retry of an id already claimed: True when this request should schedule it (an
        earlier attempt raised and daprd does not have it). Otherwise answers 409 (the id
        is taken, or daprd has it from the earlier attempt) or 503 (daprd cannot tell)."""
        store = self.server.store
        if not store.retry_doubtful(order_id):
            self._send(409, {"error": f"order {order_id} already exists"})
            return False
        try:
            known = self.server.known(order_id)
        except grpc.RpcError as exc:
            store.doubt_order(order_id)
            self._send(503, {"error": f"could not tell whether {order_id} exists: {_details(exc)}"})
            return False
        if known:
            store.settle_order(order_id)
            self._send(409, {"error": f"order {order_id} already exists"})
            return False
        return True

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, {"status": "ok"})
            return
        if self.path == "/state":
            self._send(200, self.server.store.snapshot().__dict__)
            return
        match = re.fullmatch(r"/orders/([^/?#]+)", self.path)
        if not match:
            self._send(404, {"error": f"no route GET {self.path}"})
            return
        order_id = match.group(1)
        try:
            state = self.server.client.get_workflow_state(order_id, fetch_payloads=True)
        except grpc.RpcError as exc:
            self._send(503, {"error": f"could not read the workflow state: {exc}"})
            return
        if state is None:
            self._send(404, {"error": f"no order {order_id}"})
            return
        output = state.serialized_output
        failure = state.failure_details
        self._send(
            200,
            {
                "orderId": order_id,
                "runtimeStatus": state.runtime_status.name,
                "output": json.loads(output) if output else None,
                "failure": (
                    {"type": failure.error_type, "message": failure.message} if failure else None
                ),
                "createdAt": state.created_at.isoformat() if state.created_at else None,
                "lastUpdatedAt": state.last_updated_at.isoformat()
                if state.last_updated_at
                else None,
            },
        )


def _details(exc: grpc.RpcError) -> str:
    return str(exc.details() or "") if hasattr(exc, "details") else str(exc)
