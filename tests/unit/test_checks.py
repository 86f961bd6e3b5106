"""Checkers must be able to FAIL: each is fed a state that a broken app would leave."""

from __future__ import annotations

from harness import Order, OrderStatus, Verdict, conservation

ORDER = Order("o-1", "c", "p-001", 2, 10.0)
REJECTED = Order("o-2", "c", "sold-out", 1, 5.0)
APPROVED = OrderStatus("o-1", "COMPLETED", {"result": "Approved"})
REJECTED_STATUS = OrderStatus("o-2", "COMPLETED", {"result": "Rejected: out of stock"})


def state(**overrides: dict[str, int]) -> dict[str, dict[str, int]]:
    base = {
        "stock": {"p-001": 98, "sold-out": 0},
        "initial_stock": {"p-001": 100, "sold-out": 0},
        "charges": {"o-1": 1000},
        "refunds": {},
        "reservations": {"o-1": 2},
        "notifications": {"o-1": 1},
    }
    base.update(overrides)
    return base


def check(st: dict[str, dict[str, int]]) -> tuple[Verdict, list[str]]:
    result = conservation(
        {"o-1": ORDER, "o-2": REJECTED}, {"o-1": APPROVED, "o-2": REJECTED_STATUS}, st
    )
    return result.verdict, result.evidence


def test_a_consistent_store_passes() -> None:
    assert check(state())[0] is Verdict.PASS


def test_a_double_charge_fails_naming_the_order() -> None:
    verdict, evidence = check(state(charges={"o-1": 2000}))
    assert verdict is Verdict.FAIL
    assert evidence == ["order o-1: charged 2000 cents net, total is 1000"]


def test_a_charged_rejected_order_fails() -> None:
    verdict, evidence = check(state(charges={"o-1": 1000, "o-2": 500}))
    assert verdict is Verdict.FAIL and "order o-2 was rejected" in evidence[0]


def test_a_refunded_rejected_order_passes() -> None:
    assert check(state(charges={"o-1": 1000, "o-2": 500}, refunds={"o-2": 500}))[0] is Verdict.PASS


def test_lost_stock_and_double_notification_fail() -> None:
    verdict, evidence = check(state(stock={"p-001": 97, "sold-out": 0}, notifications={"o-1": 2}))
    assert verdict is Verdict.FAIL
    assert any("notified 2 times" in e for e in evidence)
    assert any("3 units left the shelves but 2 are reserved" in e for e in evidence)
