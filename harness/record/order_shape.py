"""How an order app says whether an order was approved or rejected: the field of its
workflow output that carries the marker, and the values that mean each.

Two shapes are built in (:data:`ORDER_SHAPES`): ``reference``, the Python reference app's
(``{"orderId", "result": "Approved" | "Rejected: out of stock", "charged"}``), and
``original``, the seed article's C# OrderProcessing and its Go port
(``{"orderId", "status": "Completed" | "Rejected: out of stock"}``). Any other app
declares its own with :func:`order_shape` from a mapping. The workload reads answers with
the shape of its app; the history carries it to the checks, which never hard-code one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError

if TYPE_CHECKING:  # history.py holds the shape in the History: no import cycle at runtime
    from harness.record.history import InstanceStatus

APPROVED = "approved"
REJECTED = "rejected"


@dataclass(frozen=True)
class OrderShape:
    """The approved/rejected marker of one app's order output.

    ``field``: the key of the workflow output (a JSON object) that holds the marker.
    ``approved``: the values that mean approved (exact match). ``rejected``: values that
    mean rejected; ``rejected_prefixes``: so does any value starting with one of these
    (``"Rejected"`` matches ``"Rejected: out of stock"``). A value that is neither is
    judged as not approved. ``name``: what reports call the shape.
    """

    name: str
    field: str
    approved: tuple[str, ...]
    rejected: tuple[str, ...] = ()
    rejected_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.field:
            raise ConfigError(f"order API shape {self.name!r}: the marker field is empty")
        if not self.approved:
            raise ConfigError(f"order API shape {self.name!r}: give at least one approved value")
        if not self.rejected and not self.rejected_prefixes:
            raise ConfigError(
                f"order API shape {self.name!r}: give rejected values or rejected prefixes"
            )
        if set(self.approved) & set(self.rejected):
            raise ConfigError(
                f"order API shape {self.name!r}: {sorted(set(self.approved) & set(self.rejected))} "
                "both approved and rejected"
            )

    def marker(self, output: Any) -> str | None:
        """The marker in a workflow output (None: the output has no such field)."""
        if not isinstance(output, dict):
            return None
        value = output.get(self.field)
        return None if value is None else str(value)

    def result(self, status: InstanceStatus | None) -> str | None:
        """The marker of an instance's output (None: no status, or no marker)."""
        return None if status is None else self.marker(status.output)

    def verdict(self, status: InstanceStatus | None) -> str | None:
        """:data:`APPROVED`, :data:`REJECTED`, or None (no marker, or one that is
        neither)."""
        value = self.result(status)
        if value is None:
            return None
        if value in self.approved:
            return APPROVED
        if value in self.rejected or value.startswith(self.rejected_prefixes):
            return REJECTED
        return None

    def is_approved(self, status: InstanceStatus | None) -> bool:
        return self.verdict(status) == APPROVED

    def is_rejected(self, status: InstanceStatus | None) -> bool:
        return self.verdict(status) == REJECTED

    def describe(self) -> str:
        """One line: ``field 'result': approved 'Approved'; rejected 'Rejected*'``."""
        rejected = [repr(v) for v in self.rejected] + [
            repr(p + "*") for p in self.rejected_prefixes
        ]
        return (
            f"{self.name} (output field {self.field!r}: approved "
            + " | ".join(map(repr, self.approved))
            + "; rejected "
            + " | ".join(rejected)
            + ")"
        )

    def as_data(self) -> dict[str, Any]:
        """The shape as a scenario file's ``app.order_api`` mapping."""
        data: dict[str, Any] = {"field": self.field, "approved": list(self.approved)}
        if self.rejected:
            data["rejected"] = list(self.rejected)
        if self.rejected_prefixes:
            data["rejected_prefix"] = list(self.rejected_prefixes)
        return data


REFERENCE = OrderShape(
    "reference", "result", approved=("Approved",), rejected_prefixes=("Rejected",)
)
"""The Python reference app's (``harness/reference_apps/orders/workflow.py``)."""

ORIGINAL = OrderShape(
    "original", "status", approved=("Completed",), rejected_prefixes=("Rejected",)
)
"""The seed article's C# OrderProcessing (and its Go port, ``seed_go``)."""

ORDER_SHAPES: dict[str, OrderShape] = {s.name: s for s in (REFERENCE, ORIGINAL)}
SHAPE_KEYS = ("field", "approved", "rejected", "rejected_prefix")


def _strings(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, ())
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(
            f"order_api.{key} must be a string or a list of non-empty strings, got {value!r}"
        )
    return tuple(value)


def order_shape(value: str | Mapping[str, Any] | OrderShape) -> OrderShape:
    """The shape ``value`` names: a built-in's name (:data:`ORDER_SHAPES`), a mapping
    ``{field, approved, rejected?, rejected_prefix?}`` (each value a string or a list of
    strings), or a shape as it is. ConfigError saying what is allowed otherwise."""
    if isinstance(value, OrderShape):
        return value
    if isinstance(value, str):
        try:
            return ORDER_SHAPES[value]
        except KeyError:
            raise ConfigError(
                f"unknown order API shape {value!r}; use one of {', '.join(ORDER_SHAPES)} "
                "or a mapping {field, approved, rejected | rejected_prefix}"
            ) from None
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"order_api must be one of {', '.join(ORDER_SHAPES)} or a mapping "
            f"{{{', '.join(SHAPE_KEYS)}}}, got {value!r}"
        )
    unknown = sorted(set(value) - set(SHAPE_KEYS))
    if unknown:
        raise ConfigError(
            f"order_api has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(SHAPE_KEYS)}"
        )
    field = value.get("field")
    if not isinstance(field, str) or not field:
        raise ConfigError(
            "order_api.field is required: the output field holding the approved/rejected "
            "marker (e.g. status)"
        )
    return OrderShape(
        "custom",
        field,
        approved=_strings(value, "approved"),
        rejected=_strings(value, "rejected"),
        rejected_prefixes=_strings(value, "rejected_prefix"),
    )
