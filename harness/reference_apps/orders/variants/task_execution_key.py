"""Keys effects on instance id + task_execution_id, which a daprd crash mid-turn defeats.

The key the runtime's notes suggest: the replayed turn schedules the activity again
under a new id while the first dispatch still runs.

Caught by: exactly-once (``different task_execution_ids from one activity of one
workflow``) and conservation, in daprd-restart-after-payment (daprd restarts right after
a charge's effect, its result not yet back: every run); a daprd kill at a random moment
lands between a dispatch and the save of its turn about 1 time in 15
(tests/chaos/test_known_findings.py, marked slow), so daprd-kill catches it by luck.
"""

from __future__ import annotations

from harness.app import task_execution_key
from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.variants import patch

WORKFLOWS = (workflow.order_processing,)


def install() -> None:
    patch(workflow, "idempotency_key", task_execution_key)
