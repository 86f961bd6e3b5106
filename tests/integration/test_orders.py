"""The reference order app on the shared session stack (isolated by instance-id prefix)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from harness import Ledger, Orders, Stack, Verdict, conservation

EFFECTS_OF_APPROVED = {"payment.charged", "stock.reserved", "customer.notified"}


def test_fifty_orders_complete_with_consistent_business_state(
    dapr_stack: Stack, orders: Orders
) -> None:
    made = [orders.make() for _ in range(50)]
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(orders.submit, made))
    statuses = orders.wait_terminal(ids, timeout=60)
    assert {s.runtime_status for s in statuses.values()} == {"COMPLETED"}
    assert {s.result for s in statuses.values()} == {"Approved"}

    result = conservation({o.order_id: o for o in made}, statuses, orders.api.state())
    assert result.verdict is Verdict.PASS, str(result)

    ledger = Ledger.read(dapr_stack.ledger_path, prefix=orders.prefix)
    counts = ledger.effect_counts()
    for order_id in ids:
        kinds = {kind for (kind, subject) in counts if subject == order_id}
        assert kinds == EFFECTS_OF_APPROVED, order_id
        assert all(counts[(k, order_id)] == 1 for k in kinds), order_id
    # four activities per approved order, each invoked at least once
    assert len({(i.workflow_id, i.activity) for i in ledger.invocations}) == 4 * len(ids)


def test_out_of_stock_is_rejected_without_a_charge(dapr_stack: Stack, orders: Orders) -> None:
    order = orders.make(product_id="sold-out", quantity=1, total_amount=42.0)
    orders.submit(order)
    status = orders.wait_terminal([order.order_id])[order.order_id]
    assert status.runtime_status == "COMPLETED"
    assert status.output == {
        "orderId": order.order_id,
        "result": "Rejected: out of stock",
        "charged": 0,
    }
    state = orders.api.state()
    assert order.order_id not in state["charges"]
    assert order.order_id not in state["reservations"]
    assert Ledger.read(dapr_stack.ledger_path, prefix=orders.prefix).effects == []


def test_unknown_order_is_404(orders: Orders) -> None:
    resp = orders.api.request("GET", f"/orders/{orders.prefix}never-submitted")
    assert resp.status == 404 and "no order" in resp.body["error"]


def test_malformed_orders_are_400_with_a_reason(orders: Orders) -> None:
    resp = orders.api.request(
        "POST",
        "/orders",
        {"customerId": "c", "productId": "p-001", "quantity": -3, "totalAmount": 1},
    )
    assert resp.status == 400 and "quantity must be a positive integer" in resp.body["error"]
    resp = orders.api.request("POST", "/orders", raw=b"{oops")
    assert resp.status == 400 and "not JSON" in resp.body["error"]


def test_accepted_order_answers_202_with_location_and_id(orders: Orders) -> None:
    order = orders.make()
    resp = orders.api.request("POST", "/orders", order.as_json())
    assert resp.status == 202
    assert resp.headers["location"] == f"/orders/{order.order_id}"
    assert resp.body == {"orderId": order.order_id, "instanceId": order.order_id}
    orders.wait_terminal([order.order_id])


def test_a_reused_order_id_is_409(orders: Orders) -> None:
    order = orders.make()
    orders.submit(order)
    orders.wait_terminal([order.order_id])
    resp = orders.api.request("POST", "/orders", order.as_json())
    assert resp.status == 409, resp


def test_tests_are_isolated_by_prefix(orders: Orders, request: object) -> None:
    assert orders.prefix.startswith("test-tests-are-isolated")
    first = orders.submit()
    assert first.startswith(orders.prefix)
