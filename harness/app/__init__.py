"""The app-side API: what a workflow app imports to let dapr-chaos see its effects.

Stable and small::

    from harness.app import effect, failpoint, idempotency_key, recorded_activity

    @wfr.activity(name="charge_payment")
    @recorded_activity
    def charge_payment(ctx, order):
        failpoint("charge_payment.before_effect")
        if store.charge_once(key=idempotency_key(), ...):   # your idempotent effect
            effect("payment.charged", order["orderId"], amount=order["totalAmount"])
        failpoint("charge_payment.after_effect")   # effect committed, result not returned

``recorded_activity`` records one *invocation* per call of the activity (at-least-once:
re-executions are allowed and counted). ``effect`` records one *applied business effect*
(exactly-once is what the checks demand). Both go to the run's append-only ledger
(``DAPR_CHAOS_LEDGER``, JSON lines); outside the harness they cost one dict lookup.
"""

from __future__ import annotations

from harness.app._failpoints import (
    FailpointError as FailpointError,
)
from harness.app._failpoints import (
    failpoint as failpoint,
)
from harness.app._ledger import (
    ActivityScope as ActivityScope,
)
from harness.app._ledger import (
    current_scope as current_scope,
)
from harness.app._ledger import (
    effect as effect,
)
from harness.app._ledger import (
    idempotency_key as idempotency_key,
)
from harness.app._ledger import (
    recorded_activity as recorded_activity,
)
from harness.app._ledger import (
    task_execution_key as task_execution_key,
)

__all__ = [
    "ActivityScope",
    "FailpointError",
    "current_scope",
    "effect",
    "failpoint",
    "idempotency_key",
    "recorded_activity",
    "task_execution_key",
]
