"""How the order checks read an order: its result is the marker its app's order API
shape names (:class:`~harness.record.order_shape.OrderShape`, carried by the History):
``result`` "Approved" / "Rejected: out of stock" for the reference app, ``status``
"Completed" / "Rejected: out of stock" for the seed article's original."""

from __future__ import annotations

from typing import Any

from harness.record.history import InstanceStatus
from harness.record.order_shape import REFERENCE, OrderShape

APPROVED = "Approved"  # the reference app's approved marker


def order_result(status: InstanceStatus | None, order_api: OrderShape = REFERENCE) -> str | None:
    """The order's result from its workflow output, as ``order_api`` reads it (None: the
    output has none)."""
    return order_api.result(status)


def order_fields(order: Any) -> dict[str, Any]:
    """An order as its JSON fields (``totalAmount``, ``quantity``, ...), from an order
    object (``as_json()``) or the JSON itself (an attempt's input)."""
    as_json = getattr(order, "as_json", None)
    return dict(as_json()) if callable(as_json) else dict(order or {})
