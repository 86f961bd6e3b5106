"""Every proxied link carries the traffic it is named for: a fault on it changes what
daprd (or the app) does, and healing it brings the stack back.

A raw socket on a proxy port (tests/chaos/test_toxics.py) shows what a toxic does to
bytes; these show that daprd's own connections go through the proxies at all. Timings
are judged by lower bounds only (a loaded machine makes things slower, never faster).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from harness import Chaos, Orders, Stack
from harness.stack.ports import established


def end_to_end(orders: Orders) -> float:
    """Seconds from POST to a COMPLETED order (one regular order, four activities)."""
    started = time.monotonic()
    oid = orders.submit()
    status = orders.wait_terminal([oid], timeout=120)[oid]
    assert status.runtime_status == "COMPLETED", status
    return time.monotonic() - started


@pytest.mark.parametrize("link", ["daprd->valkey", "daprd->placement", "daprd->scheduler"])
def test_daprd_holds_its_connections_through_the_proxies(dapr_stack: Stack, link: str) -> None:
    assert established(dapr_stack.topology.link(link).listen) >= 1  # type: ignore[union-attr]


# (link, latency in ms each way, seconds an order takes at least): every order saves
# its workflow state in Valkey many times, creates reminders in the scheduler for every
# step, and its activities use the app's store for each effect. Unfaulted it takes
# about 0.1 s; measured with these latencies: 8 s, 4.6 s and about 2 s.
SLOWED = [
    ("daprd->valkey", 300, 2.0),
    ("daprd->scheduler", 500, 1.5),
    ("app->store", 300, 1.0),
]


@pytest.mark.parametrize(("link", "ms", "at_least"), SLOWED)
def test_latency_on_a_link_slows_every_order_until_healed(
    dapr_stack: Stack, chaos: Chaos, orders: Orders, link: str, ms: int, at_least: float
) -> None:
    end_to_end(orders)  # warm: the first order of a test pays for connections
    window = chaos.latency(link, ms)
    slowed = end_to_end(orders)
    chaos.heal()
    assert slowed >= at_least, f"an order took {slowed:.2f}s with {ms} ms on {link}"
    assert window.touched, window.describe()  # the link had connections to slow
    end_to_end(orders)  # and it serves again once healed


def test_a_cut_placement_link_disconnects_daprd_and_a_heal_reconnects_it(
    dapr_stack: Stack, chaos: Chaos, orders: Orders
) -> None:
    def placement() -> str:
        runtime: Any = (dapr_stack.daprd.metadata() or {}).get("actorRuntime") or {}
        return str(runtime.get("placement", ""))

    assert placement() == "placement: connected"
    chaos.down("daprd->placement")
    wait_until(lambda: placement() == "placement: disconnected", "daprd losing placement")
    chaos.heal()  # heal waits for the actor runtime to be connected again
    assert placement() == "placement: connected"
    end_to_end(orders)


@pytest.mark.parametrize("link", ["daprd->scheduler", "daprd->valkey", "app->store"])
def test_a_cut_link_stops_new_orders_and_a_heal_brings_them_back(
    dapr_stack: Stack, chaos: Chaos, orders: Orders, link: str
) -> None:
    chaos.down(link)
    try:
        # Without the link the app cannot schedule the workflow (daprd cannot create its
        # reminder or save its state) or claim the order in its store: no 202.
        assert orders.try_submit() is None
    finally:
        chaos.heal()
    end_to_end(orders)
    verification = chaos.verify(orders)
    assert verification.passed, verification.report()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f}s"
        time.sleep(0.1)
