"""The reference app's order validation (pure logic)."""

from __future__ import annotations

import json

import pytest

from harness.reference_apps.orders.api import BadOrder, parse_order

GOOD = {
    "orderId": "o-1",
    "customerId": "c-1",
    "productId": "p-001",
    "quantity": 2,
    "totalAmount": 19.5,
}


def test_a_good_order_is_normalized() -> None:
    assert parse_order(json.dumps(GOOD).encode()) == {**GOOD, "totalAmount": 19.5}


def test_a_missing_order_id_gets_one() -> None:
    order = parse_order(json.dumps({k: v for k, v in GOOD.items() if k != "orderId"}).encode())
    assert len(order["orderId"]) == 32


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (json.dumps({**GOOD, "colour": "red"}).encode(), r"unknown field\(s\) \['colour'\]"),
        (json.dumps({**GOOD, "quantity": 0}).encode(), "quantity must be a positive integer"),
        (json.dumps({**GOOD, "quantity": "2"}).encode(), "quantity must be a positive integer"),
        (json.dumps({**GOOD, "quantity": True}).encode(), "quantity must be a positive integer"),
        (json.dumps({**GOOD, "totalAmount": -1}).encode(), "totalAmount must be a number >= 0"),
        (json.dumps({**GOOD, "customerId": ""}).encode(), "customerId is required"),
        (json.dumps({**GOOD, "orderId": "a/b"}).encode(), "orderId must be"),
    ],
)
def test_malformed_orders_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(BadOrder, match=message):
        parse_order(body)
