"""Run the reference order app: ``python -m harness.reference_apps.orders``.

Reads what ``dapr run`` (or dapr-chaos) provides: DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT,
DAPR_API_TOKEN, APP_PORT, and the business store URL DAPR_CHAOS_VALKEY_URL.

ORDER_APP_VARIANT=<name> (default ``correct``) runs a deliberately broken variant instead,
for proving that checks fail: the module
:mod:`harness.reference_apps.orders.variants`\\ ``.<name>`` patches this app before it
starts. This module knows none of them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from dapr.ext.workflow import DaprWorkflowClient, WorkflowRuntime

from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.api import OrderAPI
from harness.reference_apps.orders.store import OrderStore

CORRECT = "correct"


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"order app: {name} is not set; run it under `dapr run` or `dapr-chaos exec`")
    return value


def main() -> None:
    variant = os.environ.get("ORDER_APP_VARIANT", CORRECT)
    if variant != CORRECT:
        # Imported only when asked for: the correct app never loads a broken variant.
        from harness.reference_apps.orders.variants import install

        install(variant)  # exits with the list of variants when the name is unknown
    endpoint = os.environ.get("DAPR_GRPC_ENDPOINT") or f"127.0.0.1:{_required('DAPR_GRPC_PORT')}"
    host, port = endpoint.rsplit(":", 1)
    store = OrderStore(
        # The business store is a dependency behind a proxy (app->store) when the harness
        # runs the app; the stack's Valkey directly otherwise.
        os.environ.get("DAPR_CHAOS_DEP_STORE_URL") or _required("DAPR_CHAOS_VALKEY_URL")
    )
    workflow.bind_store(store)

    runtime = WorkflowRuntime(host=host, port=port)
    workflow.register(runtime)
    runtime.start()
    client = DaprWorkflowClient(host=host, port=port)
    api = OrderAPI(int(_required("APP_PORT")), client, store)

    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=api.shutdown, daemon=True).start()

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
