"""Stops its workflow worker for good when the sidecar stops answering (or on SIGUSR1).

It expects a restart that never comes, while its HTTP API keeps serving: what the
Python SDK's worker can do after a sidecar restart (python-sdk #900).

Caught by: worker-health (``no workflow worker connected ... although the
app`` is running), with nothing-lost listing the orders stuck mid-workflow; in
daprd-kill, once the heal phase's worker grace has run out (and a daprd soft restart has
not brought the worker back). SIGUSR1 stops the worker on demand
(tests/chaos/test_worker_health.py).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.request

from dapr.ext.workflow import WorkflowRuntime

from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.variants import patch

WORKFLOWS = (workflow.order_processing,)

POLL_S = 0.25  # how often the watchdog asks daprd's /v1.0/healthz
GIVE_UP_AFTER = 2  # failed polls in a row (after one success) before the worker stops
_register = workflow.register


def _stop(runtime: WorkflowRuntime) -> None:
    threading.Thread(target=runtime.shutdown, daemon=True).start()


def _watch_sidecar(runtime: WorkflowRuntime, url: str) -> None:
    answered, failures = False, 0
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            answered, failures = True, 0
        except OSError:
            failures += 1
            if answered and failures >= GIVE_UP_AFTER:
                print("order app: the sidecar is gone; stopping the workflow worker", flush=True)
                _stop(runtime)
                return
        time.sleep(POLL_S)


def _register_and_watch(runtime: WorkflowRuntime) -> None:
    _register(runtime)
    signal.signal(signal.SIGUSR1, lambda *_: _stop(runtime))
    port = os.environ.get("DAPR_HTTP_PORT")
    if port:
        url = f"http://127.0.0.1:{port}/v1.0/healthz"
        threading.Thread(target=_watch_sidecar, args=(runtime, url), daemon=True).start()


def install() -> None:
    patch(workflow, "register", _register_and_watch)
