"""Answers 202 before the workflow is scheduled, from an in-memory queue.

Accepted orders wait in the queue ("batching", 1 s each), so a crash loses orders the
client was told were accepted.

Caught by: nothing-lost (``order ... was accepted (202) but Dapr does not know it``); in
app-crash-after-payment and app-kill-at-random-time, and by any fault that kills the app
while orders wait.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.api import OrderAPI
from harness.reference_apps.orders.variants import patch

WORKFLOWS = (workflow.order_processing,)

BATCH_WAIT_S = 1.0  # the window in which a crash loses an order that got its 202

_backlog: queue.Queue[dict[str, Any]] = queue.Queue()
_drainer_lock = threading.Lock()
_drainer: threading.Thread | None = None
_schedule_now = OrderAPI.schedule


def _drain(server: OrderAPI) -> None:
    while True:
        order = _backlog.get()
        time.sleep(BATCH_WAIT_S)
        _schedule_now(server, order)


def _schedule_later(server: OrderAPI, order: dict[str, Any]) -> None:
    """Queue the order and return at once: the handler answers 202 right after."""
    global _drainer
    _backlog.put(order)
    with _drainer_lock:
        if _drainer is None:
            _drainer = threading.Thread(target=_drain, args=(server,), daemon=True)
            _drainer.start()


def install() -> None:
    patch(OrderAPI, "schedule", _schedule_later)
