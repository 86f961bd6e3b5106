"""The order checks judge an order by the marker its app's order API shape names (carried
by the History): the same histories, once in the reference app's output shape and once
in the original's, PASS when they are sound and FAIL when they are not, in each."""

from __future__ import annotations

from typing import Any

import pytest

from harness import Order, OrderStatus, Verdict
from harness.checks.conservation import conservation, conservation_of
from harness.checks.coverage import APPROVED as APPROVED_PATH
from harness.checks.coverage import REJECTED as REJECTED_PATH
from harness.checks.coverage import order_path
from harness.checks.exactly_once import exactly_once
from harness.record.history import Attempt, History, Outcome
from harness.record.ledger import Effect, Ledger
from harness.record.order_shape import ORIGINAL, REFERENCE, OrderShape
from harness.record.timeline import Timeline

APPROVED_ORDER = Order("o-1", "c", "p-001", 2, 10.0)
REJECTED_ORDER = Order("o-2", "c", "t-sold-out", 1, 5.0)

# The workflow outputs of one approved and one rejected order, as each app writes them.
OUTPUTS = {
    "reference": (
        {"orderId": "o-1", "result": "Approved", "charged": 1000},
        {"orderId": "o-2", "result": "Rejected: out of stock", "charged": 0},
    ),
    "original": (
        {"orderId": "o-1", "status": "Completed"},
        {"orderId": "o-2", "status": "Rejected: out of stock"},
    ),
}
SHAPES = {"reference": REFERENCE, "original": ORIGINAL}


def effect(kind: str, subject: str, task: str, ts: float) -> Effect:
    return Effect(kind, subject, ts, 1, kind.split(".")[0], subject, task, {}, f"{task}#1")


def sound_effects() -> list[Effect]:
    return [
        effect("payment.charged", "o-1", "t1", 1),
        effect("stock.reserved", "o-1", "t2", 2),
        effect("customer.notified", "o-1", "t3", 3),
    ]


def state(*, charges: dict[str, int] | None = None, notified: int = 1) -> dict[str, Any]:
    return {
        "charges": {"o-1": 1000} if charges is None else charges,
        "refunds": {},
        "reservations": {"o-1": 2},
        "notifications": {"o-1": notified},
        "stock": {"p-001": 99_998, "t-sold-out": 0},
        "initial_stock": {"p-001": 100_000, "t-sold-out": 0},
    }


def history(
    shape_name: str, effects: list[Effect], business: dict[str, Any] | None = None
) -> History:
    shape = SHAPES[shape_name]
    approved_out, rejected_out = OUTPUTS[shape_name]
    return History(
        attempts={
            "o-1": Attempt("o-1", Outcome.OK, APPROVED_ORDER.as_json()),
            "o-2": Attempt("o-2", Outcome.OK, REJECTED_ORDER.as_json()),
        },
        statuses={
            "o-1": OrderStatus("o-1", "COMPLETED", approved_out, order_api=shape),
            "o-2": OrderStatus("o-2", "COMPLETED", rejected_out, order_api=shape),
        },
        ledger=Ledger(effects, []),
        timeline=Timeline(),
        business_state=business if business is not None else state(),
        order_api=shape,
    )


both = pytest.mark.parametrize("shape", ["reference", "original"])


@both
def test_sound_histories_pass_in_either_shape(shape: str) -> None:
    sound = history(shape, sound_effects())
    assert exactly_once(sound).verdict is Verdict.PASS
    assert conservation_of(sound).verdict is Verdict.PASS
    kinds = {"payment.charged", "stock.reserved", "customer.notified"}
    assert order_path(sound, "o-1", kinds) == APPROVED_PATH
    assert order_path(sound, "o-2", set()) == REJECTED_PATH


@both
def test_a_double_charge_fails_exactly_once_and_conservation(shape: str) -> None:
    twice = [*sound_effects(), effect("payment.charged", "o-1", "t1", 4)]
    bad = history(shape, twice, state(charges={"o-1": 2000}))
    result = exactly_once(bad)
    assert result.verdict is Verdict.FAIL
    assert "order o-1: payment.charged applied 2 times" in result.evidence[0]
    money = conservation_of(bad)
    assert money.verdict is Verdict.FAIL
    assert "order o-1: charged 2000 cents net, total is 1000" in money.evidence


@both
def test_an_approved_order_without_its_notification_fails(shape: str) -> None:
    missing = history(shape, sound_effects()[:2], state(notified=0))
    result = exactly_once(missing)
    approved_marker = OUTPUTS[shape][0].get("result") or OUTPUTS[shape][0]["status"]
    assert result.verdict is Verdict.FAIL
    assert f"order o-1 ({approved_marker}): no customer.notified effect" in result.evidence[0]
    assert conservation_of(missing).verdict is Verdict.FAIL


@both
def test_a_rejected_order_that_was_charged_fails(shape: str) -> None:
    charged = [*sound_effects(), effect("payment.charged", "o-2", "t7", 5)]
    bad = history(shape, charged, state(charges={"o-1": 1000, "o-2": 500}))
    result = exactly_once(bad)
    assert result.verdict is Verdict.FAIL
    assert "order o-2 (Rejected: out of stock)" in result.evidence[0]
    money = conservation_of(bad)
    assert money.verdict is Verdict.FAIL
    assert "order o-2 was rejected (Rejected: out of stock) but is charged 500" in money.evidence[0]


def test_read_with_the_wrong_shape_the_approved_order_looks_rejected() -> None:
    """Why the shape must travel with the history: the original's outputs judged by the
    reference app's marker find an approved order's effects forbidden."""
    wrong = history("original", sound_effects())
    wrong.order_api = REFERENCE
    assert exactly_once(wrong).verdict is Verdict.FAIL


def test_conservation_takes_the_shape_as_a_keyword() -> None:
    approved_out, rejected_out = OUTPUTS["original"]
    statuses = {
        "o-1": OrderStatus("o-1", "COMPLETED", approved_out),
        "o-2": OrderStatus("o-2", "COMPLETED", rejected_out),
    }
    orders = {"o-1": APPROVED_ORDER, "o-2": REJECTED_ORDER}
    assert conservation(orders, statuses, state(), order_api=ORIGINAL).verdict is Verdict.PASS
    assert conservation(orders, statuses, state()).verdict is Verdict.FAIL  # reference shape


def test_a_shape_of_ones_own() -> None:
    shape = OrderShape("custom", "outcome", ("OK",), rejected=("NO",))
    sound = history("reference", sound_effects())
    sound.order_api = shape
    sound.statuses["o-1"] = OrderStatus("o-1", "COMPLETED", {"outcome": "OK"})
    sound.statuses["o-2"] = OrderStatus("o-2", "COMPLETED", {"outcome": "NO"})
    assert exactly_once(sound).verdict is Verdict.PASS
    assert conservation_of(sound).verdict is Verdict.PASS
