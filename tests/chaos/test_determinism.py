"""The online determinism check: each order runs once without faults and once with the
app crashed after every activity (a replay at every step); both must end the same. It
passes on the reference app and FAILS on a variant whose output depends on process
memory instead of the history."""

from __future__ import annotations

from harness import Chaos, OrderAPIClient, Orders, Stack, Verdict, determinism

VARIANT = "replay-unsafe"


def test_the_reference_app_ends_the_same_with_a_replay_at_every_step(
    chaos: Chaos, orders: Orders
) -> None:
    result = determinism(chaos, orders)
    assert result.verdict is Verdict.PASS, str(result)
    assert "crash after each of 4 activities" in result.summary
    # Every crash really happened: one per activity, each forcing a replay.
    fired = {f.name for f in chaos.ledger(orders.prefix).fired()}
    assert fired == {
        "check_inventory.after_effect",
        "charge_payment.after_effect",
        "reserve_stock.after_effect",
        "notify_customer.after_effect",
    }


def test_a_replay_unsafe_app_fails_the_check_naming_the_order(variant_stack: Stack) -> None:
    chaos = Chaos(variant_stack)
    orders = Orders(OrderAPIClient(variant_stack.ports["app"]), prefix="unsafe-")
    try:
        result = determinism(chaos, orders)
    finally:
        chaos.reset()
    assert result.verdict is Verdict.FAIL, str(result)
    evidence = result.evidence[0]
    assert evidence.startswith("order unsafe-1-crashed ended differently after replays")
    assert '"runs": 5' in evidence.split("without faults")[1]  # five turns in one process
