"""Locust workload for any workflow: each user starts an instance of
``DAPR_CHAOS_LOAD_WORKFLOW`` through daprd's gRPC workflow API, polls it until it is
terminal, and starts over (a closed loop, as the orders' users do).

Run it yourself against any stack (``dapr-chaos up`` prints daprd's gRPC port and
token)::

    DAPR_CHAOS_LOAD_WORKFLOW=chain DAPR_CHAOS_LOAD_INPUTS='["a", "b"]' \\
    DAPR_CHAOS_LOAD_GRPC_PORT=PORT DAPR_CHAOS_LOAD_TOKEN=TOKEN \\
        locust -f harness/workload/locust_workflows.py --headless -u 20 -r 5 -t 60s

Locust shows ``GRPC StartInstance`` and ``GRPC GetInstance`` rows (each call's latency),
and a ``WORKFLOW <name> end-to-end`` row: from just before the start until the instance
was seen terminal. It fails when the instance ended FAILED or TERMINATED, or was not
terminal within ``DAPR_CHAOS_LOAD_WAIT`` seconds. The operation log has the orders'
format (:mod:`harness.workload.operations`), so the same analysis and checks apply.
"""

from __future__ import annotations

# gRPC's C core must cooperate with gevent, which Locust's users run on: before any
# channel exists.
import grpc.experimental.gevent as grpc_gevent

grpc_gevent.init_gevent()

import itertools  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402 - patched by Locust (gevent): sleeping yields to other users
from typing import Any  # noqa: E402

from locust import User, constant, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from harness.errors import ConfigError, NotDelivered, WorkloadError  # noqa: E402
from harness.record.history import TERMINAL  # noqa: E402
from harness.workload.load_config import WORKFLOW_REQUEST, WorkloadConfig  # noqa: E402
from harness.workload.operations import OperationWriter  # noqa: E402
from harness.workload.workflow_api import WorkflowAPI  # noqa: E402

GRPC_REQUEST = "GRPC"

try:
    CONFIG = WorkloadConfig.from_env()
    if CONFIG.workflow is None or CONFIG.grpc_port is None:
        raise ConfigError(
            "set DAPR_CHAOS_LOAD_WORKFLOW (the workflow to start) and "
            "DAPR_CHAOS_LOAD_GRPC_PORT (daprd's gRPC port)"
        )
except ConfigError as exc:
    sys.exit(f"locust_workflows: {exc}")

_log = OperationWriter(CONFIG.ops_path)
_counter = itertools.count(1)


def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    _log.write("start")


def _on_request(
    request_type: str, name: str, exception: BaseException | None, **_kwargs: Any
) -> None:
    if exception is not None and request_type != WORKFLOW_REQUEST:
        text = str(exception).splitlines()[0][:80] if str(exception) else type(exception).__name__
        _log.write("http_error", request=f"{request_type} {name}", kind=text)


events.test_start.add_listener(_on_test_start)  # type: ignore[no-untyped-call]
events.request.add_listener(_on_request)  # type: ignore[no-untyped-call]


class WorkflowNotCompleted(Exception):
    """The instance ended FAILED/TERMINATED, or was not terminal in time."""


class WorkflowUser(User):
    """Start one instance, wait until it is terminal, repeat."""

    wait_time = constant(0)
    workflow = CONFIG.workflow or ""

    def on_start(self) -> None:
        assert CONFIG.grpc_port is not None
        self.api = WorkflowAPI(CONFIG.grpc_port, CONFIG.token)
        index = max(0, int(getattr(self.environment.runner, "worker_index", 0) or 0))
        self.id_prefix = f"{CONFIG.prefix}w{index}-"

    def on_stop(self) -> None:
        self.api.close()

    def _call(self, name: str, call: Any) -> Any:
        """One gRPC call, reported to Locust with its latency."""
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return call()
        except WorkloadError as exc:
            error = exc
            raise
        finally:
            self.environment.events.request.fire(
                request_type=GRPC_REQUEST,
                name=name,
                response_time=(time.perf_counter() - started) * 1000.0,
                response_length=0,
                exception=error,
                context={},
            )

    @task
    def instance_to_terminal(self) -> None:
        n = next(_counter)
        instance = f"{self.id_prefix}{n}"
        value = CONFIG.inputs[(n - 1) % len(CONFIG.inputs)]
        started = time.perf_counter()
        _log.write("submit", id=instance, input=value, workflow=self.workflow)
        try:
            self._call("StartInstance", lambda: self.api.start(self.workflow, instance, value))
        except NotDelivered as exc:
            _log.write("refused", id=instance, why=str(exc)[:200])
            time.sleep(CONFIG.backoff_s)
            return
        except WorkloadError as exc:
            _log.write("unanswered", id=instance, why=str(exc)[:200])
            time.sleep(CONFIG.backoff_s)
            return
        _log.write("accepted", id=instance)
        self._await_terminal(instance, started)

    def _await_terminal(self, instance: str, started: float) -> None:
        deadline = started + CONFIG.wait_s
        while True:
            time.sleep(CONFIG.poll_s)
            status = None
            try:
                status = self._call("GetInstance", lambda: self.api.status(instance))
            except WorkloadError:
                time.sleep(CONFIG.backoff_s)
            if status is not None and status.runtime_status in TERMINAL:
                latency_ms = (time.perf_counter() - started) * 1000.0
                _log.write("done", id=instance, latency_ms=latency_ms, status=status.runtime_status)
                self._report(latency_ms, status.runtime_status)
                return
            if time.perf_counter() >= deadline:
                _log.write("gave_up", id=instance, waited_s=CONFIG.wait_s)
                self._report((time.perf_counter() - started) * 1000.0, "not terminal in time")
                return

    def _report(self, latency_ms: float, status: str) -> None:
        self.environment.events.request.fire(
            request_type=WORKFLOW_REQUEST,
            name=f"{self.workflow} end-to-end",
            response_time=latency_ms,
            response_length=0,
            exception=None if status == "COMPLETED" else WorkflowNotCompleted(status),
            context={},
        )
