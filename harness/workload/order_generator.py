"""Orders to submit: plausible ones for tests, and a realistic mix for load.

Shared by :class:`~harness.workload.orders.Orders` and the Locust workload so both submit
the same kind of orders. Totals are in currency units.
"""

from __future__ import annotations

import itertools
import random

from harness.workload.order_api import Order

PRODUCTS = tuple(f"p-{i:03d}" for i in range(20))
# Unit prices in currency units; the reference app stocks 100,000 of each.
UNIT_PRICES = {product: round(4.99 + 7.5 * i, 2) for i, product in enumerate(PRODUCTS)}
# Products the reference app has (almost) none of: orders for them are rejected.
OUT_OF_STOCK = ("sold-out", "scarce")
_QUANTITY_WEIGHTS = (50, 25, 12, 8, 5)  # 1..5 units: most orders are for one
_POPULARITY = tuple(1.0 / (rank + 1) for rank in range(len(PRODUCTS)))  # Zipf-like


class OrderGenerator:
    """Orders with ids ``<prefix><n>`` (n = 1, 2, ...), reproducible from ``seed``.

    Shared by :class:`Orders` and the Locust workload so both submit the same kind of
    orders. Not thread-safe for reproducibility (ids stay unique across threads).
    """

    def __init__(self, prefix: str, seed: int | None = None) -> None:
        self.prefix = prefix
        self.rng = random.Random(seed)
        self._counter = itertools.count(1)

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

    def mixed(self, out_of_stock: float = 0.05) -> Order:
        """An order from a realistic mix: four in five from 50 regular customers, the rest
        from 5,000 occasional ones; popular products far more often (Zipf-like); mostly
        one unit; total = quantity x unit price. A fraction ``out_of_stock`` (0..1) asks
        for a product that is sold out or nearly so, which the app rejects."""
        rng = self.rng
        if rng.random() < 0.8:
            customer = f"customer-{rng.randint(1, 50)}"
        else:
            customer = f"customer-{rng.randint(51, 5050)}"
        quantity = rng.choices(range(1, 6), weights=_QUANTITY_WEIGHTS)[0]
        if rng.random() < out_of_stock:
            product, price = rng.choice(OUT_OF_STOCK), 49.99
        else:
            product = rng.choices(PRODUCTS, weights=_POPULARITY)[0]
            price = UNIT_PRICES[product]
        return Order(self.next_id(), customer, product, quantity, round(quantity * price, 2))
