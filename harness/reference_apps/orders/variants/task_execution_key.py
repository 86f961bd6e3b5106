"""Keys effects on instance id + task_execution_id, which a daprd crash mid-turn defeats.

The key the runtime's notes suggest: the replayed turn schedules the activity again
under a new id while the first dispatch still runs.

Caught by: exactly-once (``different task_execution_ids from one activity of one
workflow``) after daprd is SIGKILLed between dispatching an activity and saving the
turn: about 1 daprd kill in 15 here, so only a loop finds it reliably
(tests/chaos/test_known_findings.py, marked slow); daprd-kill catches it by luck.
"""

from __future__ import annotations

from harness.app import task_execution_key
from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.variants import patch

WORKFLOWS = (workflow.order_processing,)


def install() -> None:
    patch(workflow, "idempotency_key", task_execution_key)
