"""Locust workload for the order API: each user submits an order, polls it until it is
terminal, and starts over (a closed loop, as the Dapr perf suite's virtual users do).

Run it yourself against any stack with the reference app (``dapr-chaos up`` prints the
order API URL)::

    locust -f harness/workload/locustfile.py --host http://127.0.0.1:PORT        # web UI
    locust -f harness/workload/locustfile.py --host http://127.0.0.1:PORT \\
        --headless --users 20 --spawn-rate 5 --run-time 60s

Beside the HTTP rows (``POST /orders``, ``GET /orders/[id]``) Locust shows a
``WORKFLOW order end-to-end`` row: the time from just before the POST until the order was
seen terminal (at most one poll interval late). It fails when the workflow ended FAILED
or TERMINATED, or was not terminal within ``DAPR_CHAOS_LOAD_WAIT`` seconds.

Orders come from :meth:`~harness.workload.order_generator.OrderGenerator.mixed`: many customers,
popular products more often, totals = quantity x unit price, some out of stock.
Configuration: the ``DAPR_CHAOS_LOAD_*`` variables of
:mod:`harness.workload.load_config` (URL, id prefix, operation log, seed, poll interval).
"""

from __future__ import annotations

import sys
import time  # patched by Locust (gevent): sleeping yields to the other users
from typing import Any

from locust import FastHttpUser, constant, events, task
from locust.env import Environment

from harness.errors import ConfigError
from harness.record.history import TERMINAL, runtime_status_name
from harness.workload.load_config import WORKFLOW_REQUEST, WorkloadConfig
from harness.workload.operations import OperationWriter
from harness.workload.order_generator import OrderGenerator

WORKFLOW_NAME = "order end-to-end"
ORDER_WORKFLOW = "order_processing"  # the reference app's (the order API's instances)
POST_NAME = "/orders"
GET_NAME = "/orders/[id]"

try:
    CONFIG = WorkloadConfig.from_env()
except ConfigError as exc:
    sys.exit(f"locustfile: {exc}")

_log = OperationWriter(CONFIG.ops_path)
_generator: OrderGenerator | None = None


class WorkflowNotCompleted(Exception):
    """The order's workflow ended FAILED/TERMINATED, or was not terminal in time."""


def _order_generator(environment: Environment) -> OrderGenerator:
    """One generator per Locust process; its ids and seed include the worker index so
    distributed workers neither reuse an id nor submit the same sequence."""
    global _generator
    if _generator is None:
        index = max(0, int(getattr(environment.runner, "worker_index", 0) or 0))
        seed = None if CONFIG.seed is None else CONFIG.seed * 1000 + index
        _generator = OrderGenerator(f"{CONFIG.prefix}w{index}-", seed)
    return _generator


def _kind(exception: BaseException) -> str:
    """A short failure kind for grouping: our own failure text, or the error's type."""
    text = str(exception).splitlines()[0][:80] if str(exception) else ""
    name = type(exception).__name__
    return text if name == "CatchResponseError" else name


def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    _log.write("start")


def _on_request(
    request_type: str, name: str, exception: BaseException | None, **_kwargs: Any
) -> None:
    if exception is not None and request_type != WORKFLOW_REQUEST:
        _log.write("http_error", request=f"{request_type} {name}", kind=_kind(exception))


# Locust's EventHook.add_listener carries no annotations.
events.test_start.add_listener(_on_test_start)  # type: ignore[no-untyped-call]
events.request.add_listener(_on_request)  # type: ignore[no-untyped-call]


class OrderUser(FastHttpUser):
    """Submit one order, wait until it is terminal, repeat."""

    host = CONFIG.url
    wait_time = constant(0)
    network_timeout = 10.0
    connection_timeout = 5.0

    @task
    def order_to_terminal(self) -> None:
        order = _order_generator(self.environment).mixed(CONFIG.out_of_stock)
        started = time.perf_counter()
        body = order.as_json()
        _log.write("submit", id=order.order_id, input=body, order=body, workflow=ORDER_WORKFLOW)
        with self.client.post(
            "/orders", json=order.as_json(), name=POST_NAME, catch_response=True
        ) as resp:
            error = getattr(resp, "error", None)
            if resp.status_code == 202:
                _log.write("accepted", id=order.order_id)
            elif isinstance(error, ConnectionRefusedError):
                # Nothing listened: the app certainly never saw this order.
                _log.write("refused", id=order.order_id, why="connection refused")
                resp.failure("connection refused")
            elif error is not None or resp.status_code == 0:
                why = type(error).__name__ if error is not None else "no response"
                _log.write("unanswered", id=order.order_id, why=why)
                resp.failure(f"no answer ({why})")
            elif resp.status_code >= 500:
                # No proof that nothing happened: the order may exist (read back later).
                _log.write("unanswered", id=order.order_id, why=f"HTTP {resp.status_code}")
                resp.failure(f"HTTP {resp.status_code}")
            else:
                _log.write("refused", id=order.order_id, why=f"HTTP {resp.status_code}")
                resp.failure(f"HTTP {resp.status_code}")
        if resp.status_code != 202:
            time.sleep(CONFIG.backoff_s)
            return
        self._await_terminal(order.order_id, started)

    def _await_terminal(self, order_id: str, started: float) -> None:
        deadline = started + CONFIG.wait_s
        while True:
            time.sleep(CONFIG.poll_s)
            status: str | None = None
            body: Any = None
            with self.client.get(f"/orders/{order_id}", name=GET_NAME, catch_response=True) as resp:
                if resp.status_code == 200:
                    body = resp.json()
                    raw = body.get("runtimeStatus") if isinstance(body, dict) else None
                    status = runtime_status_name(raw) or str(raw)
                else:
                    # 404 after a 202 would be a lost order: keep asking, the post-load
                    # checks judge it.
                    resp.failure(
                        f"HTTP {resp.status_code}" if resp.status_code else "no connection"
                    )
            if status in TERMINAL:
                latency_ms = (time.perf_counter() - started) * 1000.0
                output = body.get("output") if isinstance(body, dict) else None
                field = CONFIG.result_field
                result = output.get(field) if isinstance(output, dict) else None
                _log.write("done", id=order_id, latency_ms=latency_ms, status=status, result=result)
                self._report_workflow(latency_ms, status)
                return
            if time.perf_counter() >= deadline:
                _log.write("gave_up", id=order_id, waited_s=CONFIG.wait_s)
                self._report_workflow(
                    (time.perf_counter() - started) * 1000.0, f"not terminal in {CONFIG.wait_s}s"
                )
                return
            if status is None:
                time.sleep(CONFIG.backoff_s)

    def _report_workflow(self, latency_ms: float, status: str) -> None:
        self.environment.events.request.fire(
            request_type=WORKFLOW_REQUEST,
            name=WORKFLOW_NAME,
            response_time=latency_ms,
            response_length=0,
            exception=None if status == "COMPLETED" else WorkflowNotCompleted(status),
            context={},
        )
