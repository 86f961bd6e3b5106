"""Effects applied on every execution of their activity: no idempotency check.

The charge, the refund and the notification skip the check, so a re-executed activity
applies them again.

Caught by: exactly-once (``payment.charged applied 2 times ... same task_execution_id``),
with conservation seeing the extra money; in app-crash-after-payment, where the app dies
right after a charge and Dapr re-runs the activity.
"""

from __future__ import annotations

from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.store import PREFIX, Applied, OrderStore
from harness.reference_apps.orders.variants import patch

WORKFLOWS = (workflow.order_processing,)

# KEYS: idem hash, target hash. ARGV: field, increment. Applies the effect whatever was
# applied before, numbering each application so the ledger counts every one.
_APPLY_EVERY_TIME = """
redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
return {1, redis.call('HINCRBY', KEYS[1], 'applied', 1)}
"""


def apply_every_time(
    store: OrderStore, kind: str, key: str, hash_key: str, field: str, amount: int
) -> Applied:
    """Add ``amount`` to ``field`` of ``hash_key`` now, as a new application of ``kind``
    under ``key``, even if one was applied under that key before."""
    script = store._r.register_script(_APPLY_EVERY_TIME)
    _now, number = script(keys=[f"{PREFIX}idem:{kind}:{key}", hash_key], args=[field, amount])
    return Applied(True, f"{key}#{number}")


def install() -> None:
    patch(OrderStore, "_apply_once", apply_every_time)
