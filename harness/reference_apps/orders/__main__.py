"""Run the reference order app: ``python -m harness.reference_apps.orders``.

Reads what ``dapr run`` (or dapr-chaos) provides: DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT,
DAPR_API_TOKEN, APP_PORT, and the business store URL DAPR_CHAOS_VALKEY_URL.
ORDER_APP_VARIANT selects a deliberately broken variant for checker tests:
``payment-not-idempotent`` charges on every activity execution; ``loses-orders`` answers
202 before scheduling and schedules from an in-memory queue (a crash loses orders);
``task-execution-key`` keys effects on task_execution_id, which a daprd crash can defeat;
``worker-quits`` stops its workflow worker on SIGUSR1 and keeps serving HTTP (what the
Python SDK's worker can do after a sidecar restart); ``replay-unsafe`` reports in its
output how often this process ran the workflow function (process memory, not history).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from dapr.ext.workflow import DaprWorkflowClient, WorkflowRuntime

from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.api import OrderAPI
from harness.reference_apps.orders.store import DEFAULT_CATALOG, OrderStore

VARIANTS = (
    "correct",
    "payment-not-idempotent",
    "loses-orders",
    "task-execution-key",
    "worker-quits",
    "replay-unsafe",
)


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"order app: {name} is not set; run it under `dapr run` or `dapr-chaos exec`")
    return value


def main() -> None:
    variant = os.environ.get("ORDER_APP_VARIANT", "correct")
    if variant not in VARIANTS:
        sys.exit(f"order app: ORDER_APP_VARIANT={variant!r} is unknown; use one of {VARIANTS}")
    endpoint = os.environ.get("DAPR_GRPC_ENDPOINT") or f"127.0.0.1:{_required('DAPR_GRPC_PORT')}"
    host, port = endpoint.rsplit(":", 1)
    store = OrderStore(
        # The business store is a dependency behind a proxy (app->store) when the harness
        # runs the app; the stack's Valkey directly otherwise.
        os.environ.get("DAPR_CHAOS_DEP_STORE_URL") or _required("DAPR_CHAOS_VALKEY_URL"),
        idempotent=variant != "payment-not-idempotent",
    )
    store.seed(DEFAULT_CATALOG)
    workflow.bind_store(
        store,
        task_execution_keys=variant == "task-execution-key",
        count_runs=variant == "replay-unsafe",
    )

    runtime = WorkflowRuntime(host=host, port=port)
    workflow.register(runtime)
    runtime.start()
    client = DaprWorkflowClient(host=host, port=port)
    api = OrderAPI(
        int(_required("APP_PORT")), client, store, schedule_later=variant == "loses-orders"
    )

    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=api.shutdown, daemon=True).start()

    if variant == "worker-quits":
        signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=runtime.shutdown).start())
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"order app ({variant}) serving on 127.0.0.1:{api.server_address[1]}", flush=True)
    try:
        api.serve_forever(poll_interval=0.2)
    finally:
        runtime.shutdown()
        client.close()


if __name__ == "__main__":
    main()
