"""The correct reference app survives every fault in the chaos issue's list: all checks
pass (exactly-once, nothing lost, completed, conservation, worker health)."""

from __future__ import annotations

import pytest

from harness import Chaos, Orders, Stack

ACTIVITIES = ("check_inventory", "charge_payment", "reserve_stock", "notify_customer")
GATE = "reserve_stock.before_effect"


def in_flight(chaos: Chaos, orders: Orders, n: int = 8) -> None:
    """Submit ``n`` orders and return once they are mid-workflow: a delay failpoint holds
    each one in reserve_stock for 0.3 s, so faults land while activities run."""
    chaos.arm(GATE, "delay", seconds=0.3, count=None)
    orders.submit_many(n)
    chaos.wait_for_hit(GATE, prefix=orders.prefix)


def settle(chaos: Chaos, orders: Orders) -> None:
    chaos.disarm(GATE)
    chaos.assert_ok(orders, deadline=90)


@pytest.mark.parametrize("activity", ACTIVITIES)
@pytest.mark.parametrize("where", ["before_effect", "after_effect"])
def test_app_crash_at_each_activity(
    chaos: Chaos, orders: Orders, activity: str, where: str
) -> None:
    name = f"{activity}.{where}"
    chaos.arm(name, "crash", nth=1)
    for _ in range(4):
        # The crash may land before a POST is answered: that order is "uncertain" (one
        # sent to the dead app afterwards is refused: never delivered), and
        # the checks still demand it completes if it exists.
        orders.try_submit()
    hit = chaos.wait_for_hit(name, prefix=orders.prefix)
    assert hit.action == "crash" and hit.workflow_id
    chaos.heal()
    orders.submit_many(2)  # the healed stack takes new orders
    verification = chaos.assert_ok(orders, deadline=90)
    crashed = verification.history.statuses[hit.workflow_id]
    assert crashed is not None and crashed.runtime_status == "COMPLETED"
    assert verification.history.ledger.reexecutions()[(hit.workflow_id, activity)] >= 1


def test_daprd_sigkill_mid_workflow_and_restart(chaos: Chaos, orders: Orders) -> None:
    in_flight(chaos, orders)
    chaos.kill("daprd", duration=1.0)
    settle(chaos, orders)


@pytest.mark.parametrize("member", ["scheduler", "placement", "valkey"])
def test_restart_mid_workflow(chaos: Chaos, orders: Orders, member: str) -> None:
    in_flight(chaos, orders)
    chaos.restart(member)
    settle(chaos, orders)


def test_latency_500ms_daprd_to_valkey(chaos: Chaos, orders: Orders) -> None:
    chaos.latency("daprd->valkey", 500, duration=4.0)
    orders.submit_many(5)
    chaos.assert_ok(orders, deadline=90, heal=False)


def test_valkey_link_down_for_5s(chaos: Chaos, orders: Orders, dapr_stack: Stack) -> None:
    in_flight(chaos, orders)
    chaos.down("daprd->valkey", duration=5.0)
    settle(chaos, orders)


def test_reset_peer_on_app_to_daprd(chaos: Chaos, orders: Orders) -> None:
    in_flight(chaos, orders)
    chaos.reset_peer("app->daprd", duration=2.0)
    settle(chaos, orders)
