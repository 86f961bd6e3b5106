"""The reference order app's shape, as the order checks read it: an order's result is
its workflow output's ``result`` ("Approved", or "Rejected: out of stock")."""

from __future__ import annotations

from typing import Any

from harness.record.history import InstanceStatus

APPROVED = "Approved"


def order_result(status: InstanceStatus) -> str | None:
    """The order's result from its workflow output (None: the output has none)."""
    output = status.output
    return output.get("result") if isinstance(output, dict) else None


def order_fields(order: Any) -> dict[str, Any]:
    """An order as its JSON fields (``totalAmount``, ``quantity``, ...), from an order
    object (``as_json()``) or the JSON itself (an attempt's input)."""
    as_json = getattr(order, "as_json", None)
    return dict(as_json()) if callable(as_json) else dict(order or {})
