"""The order app's business state in Valkey: stock, charges, refunds, reservations and
notifications, under the ``orderapp:`` prefix.

Every effect is applied by one Lua script keyed on the effect's idempotency key
(``orderapp:idem:<kind>:<workflow id>:<step>``): a re-executed activity
(crash re-dispatch, retry) finds the effect applied and applies nothing. The script also
numbers each application, so the app can record the effect on every execution (closing
the crash window between commit and record) while the ledger counts applications, not
records. Money is integer cents.

Products are stocked on first use, from their names (:func:`initial_units`): every run
of a test or scenario can name its own scarce and sold-out products, so one run selling
out never leaves the next with nothing to sell. The first stock of a product is written
to ``initial_stock`` and ``stock`` in one script, so ``initial - remaining = reserved``
holds for the whole store at every moment.
"""

from __future__ import annotations

import re
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

# Stock a product on first use. KEYS: stock hash, initial stock hash. ARGV: product, its
# initial units (-1: not a product of this shop, never stocked). Spliced into the scripts
# that read stock, so seeding and reading are one atomic step.
_STOCK_ON_FIRST_USE = """
local function stock_on_first_use(stock, initial, product, units)
  if tonumber(units) >= 0 and redis.call('HSETNX', initial, product, units) == 1 then
    redis.call('HSET', stock, product, units)
  end
end
"""

# KEYS: stock hash, initial stock hash. ARGV: product, initial units. Returns units left.
_STOCK_OF = (
    _STOCK_ON_FIRST_USE
    + """
stock_on_first_use(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
"""
)

DOUBTFUL = "?"  # an order id not known to be scheduled: daprd may have the instance or not

# KEYS: the order's claim. ARGV: the in-doubt marker. Takes the doubt (the claim becomes
# taken for this retry) and returns 1, or 0 when the claim is not in doubt.
_TAKE_DOUBT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], 'retrying')
  return 1
end
return 0
"""

# KEYS: idem hash, stock hash, reservations hash, initial stock hash. ARGV: product,
# quantity, order id, the product's initial units.
# Returns {applied now, reserved (0/1), application number}; a repeat returns the first
# outcome. Not enough stock is an outcome too (reserved 0, no application).
_RESERVE_ONCE = (
    _STOCK_ON_FIRST_USE
    + """
local prior = redis.call('HGET', KEYS[1], 'reserved')
if prior then
  return {0, tonumber(prior), tonumber(redis.call('HGET', KEYS[1], 'applied') or '0')}
end
stock_on_first_use(KEYS[2], KEYS[4], ARGV[1], ARGV[4])
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
)

REGULAR_UNITS = 100_000
SCARCE_UNITS = 5
_REGULAR = re.compile(r"(?:.*-)?p-\d{3}")


def initial_units(product: str) -> int | None:
    """The units a product is first stocked with, from its name: ``p-NNN`` (or
    ``<anything>-p-NNN``) 100,000; ``<anything>scarce`` 5; ``<anything>sold-out`` 0.
    None: not a product of this shop (never stocked, so never in stock)."""
    if product.endswith("sold-out"):
        return 0
    if product.endswith("scarce"):
        return SCARCE_UNITS
    if _REGULAR.fullmatch(product):
        return REGULAR_UNITS
    return None


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
        self._stock_of = self._r.register_script(_STOCK_OF)
        self._take_doubt = self._r.register_script(_TAKE_DOUBT)

    def claim_order(self, order_id: str) -> bool:
        """Atomically reserve an order id; False if it was claimed before.

        Dapr would re-run a finished instance id scheduled again, charging twice: the API
        refuses a reused id instead. The claim is born in doubt and settled
        (:meth:`settle_order`) once daprd has the instance: whatever stops the request in
        between (its store gone before the doubt could be written, the app killed) leaves
        a claim a retry can take (:meth:`retry_doubtful`), never one that says "exists"
        for an order daprd never saved (a run of valkey-kill lost an order so: the schedule
        raised, Valkey was down for the doubt, and the retry was told 409).
        """
        return bool(self._r.set(f"{PREFIX}accepted:{order_id}", DOUBTFUL, nx=True))

    def doubt_order(self, order_id: str) -> None:
        """Scheduling raised in a retry that took the doubt: daprd may or may not have the
        instance (an error answer is no proof: a restart can cut the answer to a start it
        saved). The id stays taken, in doubt again until a retry asks daprd
        (:meth:`retry_doubtful`). Deleting the claim instead let a retry start the id again
        after the first instance finished, and Dapr recreates a completed instance: its
        effects, twice."""
        self._r.set(f"{PREFIX}accepted:{order_id}", DOUBTFUL)

    def retry_doubtful(self, order_id: str) -> bool:
        """Whether the id is in doubt, taking it for this retry (atomically: one retry at a
        time finds out whether daprd has it). The caller settles it: :meth:`settle_order`
        when it is scheduled or daprd has it, :meth:`doubt_order` when still unknown."""
        return bool(self._take_doubt(keys=[f"{PREFIX}accepted:{order_id}"], args=[DOUBTFUL]))

    def settle_order(self, order_id: str) -> None:
        """The id's instance exists in daprd: the claim is final."""
        self._r.set(f"{PREFIX}accepted:{order_id}", "1")

    def in_stock(self, product: str, quantity: int) -> bool:
        """Whether ``quantity`` units of ``product`` are left (stocking it on first use)."""
        units = initial_units(product)
        left = self._stock_of(
            keys=[STOCK, INITIAL_STOCK], args=[product, -1 if units is None else units]
        )
        return int(left) >= quantity

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
        units = initial_units(product)
        _now, reserved, number = self._reserve(
            keys=[f"{PREFIX}idem:reserve:{key}", STOCK, RESERVATIONS, INITIAL_STOCK],
            args=[product, quantity, order_id, -1 if units is None else units],
        )
        return Applied(bool(_now), f"{key}#{number}") if reserved else None

    def notify(self, key: str, order_id: str) -> Applied:
        return self._apply_once("notify", key, NOTIFICATIONS, order_id, 1)

    def snapshot(self) -> BusinessState:
        """The whole business state at one moment: the hashes are read in one MULTI/EXEC,
        so no effect lands between two of the reads (read hash by hash, a reservation
        made in between showed as reserved units that never left the shelves)."""
        pipe = self._r.pipeline(transaction=True)
        names = (STOCK, INITIAL_STOCK, CHARGES, REFUNDS, RESERVATIONS, NOTIFICATIONS)
        for name in names:
            pipe.hgetall(name)
        maps = [{str(k): int(v) for k, v in raw.items()} for raw in pipe.execute()]
        return BusinessState(*maps)
