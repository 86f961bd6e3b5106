"""The order app's business state in Valkey: stock, charges, refunds, reservations and
notifications, under the ``orderapp:`` prefix.

Every effect is applied by one Lua script keyed on the effect's idempotency key
(``orderapp:idem:<kind>:<workflow id>:<step>``): a re-executed activity
(crash re-dispatch, retry) finds the effect applied and applies nothing. The script also
numbers each application, so the app can record the effect on every execution (closing
the crash window between commit and record) while the ledger counts applications, not
records. Money is integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

PREFIX = "orderapp:"
STOCK = PREFIX + "stock"
INITIAL_STOCK = PREFIX + "stock:initial"
CHARGES = PREFIX + "charges"
REFUNDS = PREFIX + "refunds"
RESERVATIONS = PREFIX + "reservations"
NOTIFICATIONS = PREFIX + "notifications"

# KEYS: idem hash, target hash. ARGV: field, increment.
# Returns {applied now (0/1), application number}. The application number identifies one
# application of the effect: a retry of an applied effect gets the same number back.
_APPLY_ONCE = """
local n = redis.call('HGET', KEYS[1], 'applied')
if n then
  return {0, tonumber(n)}
end
redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
return {1, redis.call('HINCRBY', KEYS[1], 'applied', 1)}
"""

# KEYS: idem hash, stock hash, reservations hash. ARGV: product, quantity, order id.
# Returns {applied now, reserved (0/1), application number}; a repeat returns the first
# outcome. Not enough stock is an outcome too (reserved 0, no application).
_RESERVE_ONCE = """
local prior = redis.call('HGET', KEYS[1], 'reserved')
if prior then
  return {0, tonumber(prior), tonumber(redis.call('HGET', KEYS[1], 'applied') or '0')}
end
local left = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local qty = tonumber(ARGV[2])
if left < qty then
  redis.call('HSET', KEYS[1], 'reserved', 0)
  return {0, 0, 0}
end
redis.call('HINCRBY', KEYS[2], ARGV[1], -qty)
redis.call('HINCRBY', KEYS[3], ARGV[3], qty)
redis.call('HSET', KEYS[1], 'reserved', 1)
return {1, 1, redis.call('HINCRBY', KEYS[1], 'applied', 1)}
"""

DEFAULT_CATALOG: dict[str, int] = {
    **{f"p-{i:03d}": 100_000 for i in range(20)},
    "scarce": 5,
    "sold-out": 0,
}


@dataclass(frozen=True)
class Applied:
    """One application of an effect: ``now`` if this call applied it, and its identity
    (``<idempotency key>#<n>``), the same for every retry that finds it applied."""

    now: bool
    application: str


@dataclass(frozen=True)
class BusinessState:
    """A snapshot of the order app's business state (cents and units)."""

    stock: dict[str, int]
    initial_stock: dict[str, int]
    charges: dict[str, int]
    refunds: dict[str, int]
    reservations: dict[str, int]
    notifications: dict[str, int]


class OrderStore:
    """Business state access: every effect applied once per idempotency key."""

    def __init__(self, url: str) -> None:
        self._r = redis.Redis.from_url(
            url, socket_timeout=3, socket_connect_timeout=2, decode_responses=True
        )
        self._apply = self._r.register_script(_APPLY_ONCE)
        self._reserve = self._r.register_script(_RESERVE_ONCE)

    def seed(self, catalog: dict[str, int]) -> None:
        """Set initial stock for products not seeded yet (restarts keep what is there)."""
        for product, units in catalog.items():
            if self._r.hsetnx(INITIAL_STOCK, product, units):
                self._r.hset(STOCK, product, units)

    def claim_order(self, order_id: str) -> bool:
        """Atomically reserve an order id; False if it was accepted before.

        Dapr would re-run a finished instance id scheduled again, charging twice: the API
        refuses a reused id instead.
        """
        return bool(self._r.set(f"{PREFIX}accepted:{order_id}", "1", nx=True))

    def release_order(self, order_id: str) -> None:
        """Undo :meth:`claim_order` when scheduling failed, so the client may retry."""
        self._r.delete(f"{PREFIX}accepted:{order_id}")

    def in_stock(self, product: str, quantity: int) -> bool:
        return int(self._r.hget(STOCK, product) or 0) >= quantity

    def _apply_once(self, kind: str, key: str, hash_key: str, field: str, amount: int) -> Applied:
        """Add ``amount`` to ``field`` of ``hash_key`` unless the effect ``kind`` was
        applied under ``key`` before."""
        keys = [f"{PREFIX}idem:{kind}:{key}", hash_key]
        now, number = self._apply(keys=keys, args=[field, amount])
        return Applied(bool(now), f"{key}#{number}")

    def charge(self, key: str, order_id: str, cents: int) -> Applied:
        """Charge ``cents`` for the order once per ``key``."""
        return self._apply_once("charge", key, CHARGES, order_id, cents)

    def refund(self, key: str, order_id: str, cents: int) -> Applied:
        return self._apply_once("refund", key, REFUNDS, order_id, cents)

    def reserve(self, key: str, order_id: str, product: str, quantity: int) -> Applied | None:
        """The reservation, or None when there was not enough stock (no effect)."""
        _now, reserved, number = self._reserve(
            keys=[f"{PREFIX}idem:reserve:{key}", STOCK, RESERVATIONS],
            args=[product, quantity, order_id],
        )
        return Applied(bool(_now), f"{key}#{number}") if reserved else None

    def notify(self, key: str, order_id: str) -> Applied:
        return self._apply_once("notify", key, NOTIFICATIONS, order_id, 1)

    def snapshot(self) -> BusinessState:
        def ints(key: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in self._r.hgetall(key).items()}

        return BusinessState(
            ints(STOCK),
            ints(INITIAL_STOCK),
            ints(CHARGES),
            ints(REFUNDS),
            ints(RESERVATIONS),
            ints(NOTIFICATIONS),
        )
