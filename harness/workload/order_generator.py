"""Orders to submit: plausible ones for tests, the scenario mix, and a realistic mix for
load.

Shared by :class:`~harness.workload.orders.Orders` and the Locust workload so both submit
the same kind of orders. Totals are in currency units.

Products follow the reference app's naming (it stocks a product on first use, from its
name): ``p-000`` to ``p-019`` are regular (100,000 units each, shared by every run), while
``<prefix>sold-out`` (0 units) and ``<prefix>b<k>-scarce`` (5 units) belong to one run,
because their ids carry the run's instance-id prefix. A run that sells out its scarce
products therefore leaves the next run a full shelf: every run reaches the same paths.
"""

from __future__ import annotations

import itertools
import random

from harness.workload.order_api import Order

PRODUCTS = tuple(f"p-{i:03d}" for i in range(20))
# Unit prices in currency units; the reference app stocks 100,000 of each.
UNIT_PRICES = {product: round(4.99 + 7.5 * i, 2) for i, product in enumerate(PRODUCTS)}
SCARCE_UNITS = 5  # what the reference app stocks a "...scarce" product with
SCARCE_PRICE = 49.99
SOLD_OUT_PRICE = 29.99
# Two orders for one scarce product: each fits the full shelf alone, together they need
# more than it holds. Both pass the inventory check when they race; the second to reserve
# finds too little left and is refunded (the compensation path). At least 2 units each,
# so a refund of the wrong amount (one unit's price) differs from the total.
RACE_QUANTITIES = ((2, 4), (3, 3), (3, 4), (4, 2), (4, 3), (4, 4))
BLOCK = 10  # the scenario mix repeats every BLOCK orders
FIRST_LOAD_RACE = 10  # the load mix's call that always starts a race
_QUANTITY_WEIGHTS = (50, 25, 12, 8, 5)  # 1..5 units: most orders are for one
_POPULARITY = tuple(1.0 / (rank + 1) for rank in range(len(PRODUCTS)))  # Zipf-like


def is_out_of_stock_product(product: str) -> bool:
    """Whether ``product`` is one the reference app has (almost) none of."""
    return product.endswith(("sold-out", "scarce"))


class OrderGenerator:
    """Orders with ids ``<prefix><n>`` (n = 1, 2, ...), reproducible from ``seed`` (None:
    a random one, kept in ``seed``).

    :meth:`planned` is a function of (seed, n) only, so concurrent callers get the same
    orders whatever thread asks first. :meth:`make` and :meth:`mixed` draw from one
    generator: reproducible only when called from one thread.
    """

    def __init__(self, prefix: str, seed: int | None = None) -> None:
        self.prefix = prefix
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self.rng = random.Random(self.seed)
        self._counter = itertools.count(1)
        self._drops = itertools.count(1)
        self._queued: list[Order] = []
        self._mixed_calls = 0

    @property
    def sold_out_product(self) -> str:
        """This run's sold-out product (0 units)."""
        return f"{self.prefix}sold-out"

    def scarce_product(self, k: int) -> str:
        """This run's ``k``-th scarce product (5 units when first ordered)."""
        return f"{self.prefix}b{k}-scarce"

    def next_id(self) -> str:
        return f"{self.prefix}{next(self._counter)}"

    def make(
        self,
        *,
        product_id: str | None = None,
        quantity: int | None = None,
        customer_id: str | None = None,
        total_amount: float | None = None,
    ) -> Order:
        """A plausible order: uniform over 500 customers and the 20 stocked products,
        1-5 units, a total of 5-200 per unit, unless given."""
        qty = quantity if quantity is not None else self.rng.randint(1, 5)
        return Order(
            order_id=self.next_id(),
            customer_id=customer_id or f"customer-{self.rng.randint(1, 500)}",
            product_id=product_id or self.rng.choice(PRODUCTS),
            quantity=qty,
            total_amount=total_amount
            if total_amount is not None
            else round(qty * self.rng.uniform(5, 200), 2),
        )

    # -- the scenario mix ------------------------------------------------------------

    def next_planned(self) -> Order:
        """The next order of :meth:`planned`'s mix, with the next id (thread-safe)."""
        return self.planned(self.next_number())

    def next_number(self) -> int:
        """The next order number (1-based; thread-safe: ``itertools.count`` is atomic)."""
        return next(self._counter)

    def planned(self, n: int) -> Order:
        """Order ``n`` (1-based) of the run's mix, which takes every path of an order
        workflow in each block of ten: seven orders for regular products (approved),
        one for the sold-out product (rejected at the inventory check) and two, one
        after the other, racing for the last units of a scarce product of their own
        (both pass the check, the second to reserve is refunded and rejected). In the
        first block order 1 is regular (a one-order run is approved) and orders 2-4 are
        the race and the sold-out order, so short runs take every path too."""
        block, position = divmod(n - 1, BLOCK)
        race, sold_out, quantities = self._layout(block)
        rng = random.Random(f"{self.seed}:order:{n}")
        order_id = f"{self.prefix}{n}"
        if position in (race, race + 1):
            quantity = quantities[position - race]
            customer = self._customer(rng)
            total = round(quantity * SCARCE_PRICE, 2)
            return Order(order_id, customer, self.scarce_product(block + 1), quantity, total)
        if position == sold_out:
            quantity = rng.randint(1, 2)
            total = round(quantity * SOLD_OUT_PRICE, 2)
            return Order(order_id, self._customer(rng), self.sold_out_product, quantity, total)
        return self._regular(rng, order_id)

    def race_partner(self, n: int) -> int | None:
        """The other order of the scarce pair that order ``n`` of :meth:`planned` belongs
        to (None: ``n`` races no one)."""
        block, position = divmod(n - 1, BLOCK)
        race = self._layout(block)[0]
        if position == race:
            return n + 1
        if position == race + 1:
            return n - 1
        return None

    def _layout(self, block: int) -> tuple[int, int, tuple[int, int]]:
        """Positions (0-based) of the race's first order and of the sold-out order in
        ``block``, and the race's two quantities."""
        rng = random.Random(f"{self.seed}:block:{block}")
        if block == 0:
            # Orders 2-4: submitted at once with order 1 by any workload of 3 or more
            # threads, before an early fault (a crash at the first check) cuts the rest.
            race = rng.choice((1, 2))
            sold_out = 3 if race == 1 else 1
        else:
            race = rng.randrange(BLOCK - 1)
            sold_out = rng.choice([p for p in range(BLOCK) if p not in (race, race + 1)])
        return race, sold_out, rng.choice(RACE_QUANTITIES)

    # -- the load mix ----------------------------------------------------------------

    def mixed(self, out_of_stock: float = 0.05) -> Order:
        """An order from a realistic mix: four in five from 50 regular customers, the rest
        from 5,000 occasional ones; popular products far more often (Zipf-like); mostly
        one unit; total = quantity x unit price. About a fraction ``out_of_stock`` (0..1)
        of the orders ask for what is (nearly) gone: half of those for the run's sold-out
        product, the other half in pairs racing for a new scarce product (the second of
        a pair is the next call's order, so a load's users submit the two back to back); the
        10th call always starts one, so every load with some out-of-stock share refunds."""
        if self._queued:
            return self._queued.pop()
        rng = self.rng
        draw = rng.random()
        self._mixed_calls += 1
        # One race early in every load (a short one may otherwise draw none), once the
        # users of a typical load are all submitting.
        first_race = self._mixed_calls == FIRST_LOAD_RACE and out_of_stock > 0
        if draw < out_of_stock / 2 and not first_race:
            quantity = rng.randint(1, 2)
            total = round(quantity * SOLD_OUT_PRICE, 2)
            customer = self._customer(rng)
            return Order(self.next_id(), customer, self.sold_out_product, quantity, total)
        if draw < out_of_stock * 3 / 4 or first_race:
            product = self.scarce_product(next(self._drops))
            first, second = (
                Order(self.next_id(), self._customer(rng), product, q, round(q * SCARCE_PRICE, 2))
                for q in rng.choice(RACE_QUANTITIES)
            )
            self._queued.append(second)
            return first
        return self._regular(rng, self.next_id())

    @staticmethod
    def _customer(rng: random.Random) -> str:
        if rng.random() < 0.8:
            return f"customer-{rng.randint(1, 50)}"
        return f"customer-{rng.randint(51, 5050)}"

    def _regular(self, rng: random.Random, order_id: str) -> Order:
        customer = self._customer(rng)
        quantity = rng.choices(range(1, 6), weights=_QUANTITY_WEIGHTS)[0]
        product = rng.choices(PRODUCTS, weights=_POPULARITY)[0]
        total = round(quantity * UNIT_PRICES[product], 2)
        return Order(order_id, customer, product, quantity, total)
