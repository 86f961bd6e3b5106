"""The Go port of the seed's OrderProcessing (harness/reference_apps/seed_go) on a real stack: built
through build_go_app into a temporary cache, run as the stack's app, driven over its HTTP
API on 127.0.0.1, its ledger read with the harness's own reader.

One stack per test, one at a time (no toxiproxy: no network faults here).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness import AppSpec, Chaos, Failpoint, Ledger, OrderAPIClient, Settings, Stack, StackConfig
from harness.testing import build_go_app
from tests.integration.torn_state import torn_snapshots

TERMINAL = {"COMPLETED", "FAILED", "TERMINATED"}
# The Python reference app's GET /state shape, which the port must match.
STATE_FIELDS = {"stock", "initial_stock", "charges", "refunds", "reservations", "notifications"}
APPROVED_EFFECTS = {"payment.charged", "stock.reserved", "customer.notified"}


@pytest.fixture(scope="module")
def seed_go(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's binary, built once for this module into a cache of its own."""
    settings = Settings.from_env()
    if shutil.which(settings.go) is None:
        pytest.skip(f"the Go toolchain ({settings.go}) is not on PATH: cannot build seed_go")
    cache = tmp_path_factory.mktemp("cache")
    lines: list[str] = []
    binary = build_go_app(
        dataclasses.replace(settings, cache_dir=cache), "seed_go", progress=lines.append
    )
    assert binary.parent.parent == cache / "apps" and binary.name == "seed_go"
    assert lines[0].startswith("[go app seed_go] building") and "built in" in lines[-1]
    return binary


@contextmanager
def go_stack(binary: Path, variant: str = "correct") -> Iterator[tuple[Stack, OrderAPIClient]]:
    app = AppSpec(
        command=(str(binary),), health_path="/healthz", env={"ORDER_APP_VARIANT": variant}
    )
    with Stack(StackConfig(app=app, proxies=False)) as stack:
        yield stack, OrderAPIClient(stack.ports["app"])


def order(
    order_id: str | None, product: str = "p-001", quantity: int = 2, total: float = 49.99
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customerId": "cust-42",
        "productId": product,
        "quantity": quantity,
        "totalAmount": total,
    }
    if order_id is not None:
        body["orderId"] = order_id
    return body


def submit(api: OrderAPIClient, body: dict[str, Any]) -> str:
    resp = api.request("POST", "/orders", body)
    assert resp.status == 202, resp.body
    instance_id = resp.body["instanceId"]
    assert resp.body == {"instanceId": instance_id}  # exactly the original's shape
    assert resp.headers["location"] == f"/orders/{instance_id}"
    return str(instance_id)


def wait_terminal(api: OrderAPIClient, instance_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        resp = api.request("GET", f"/orders/{instance_id}")
        assert resp.status in (200, 404), resp.body
        if resp.status == 200 and resp.body["runtimeStatus"] in TERMINAL:
            return dict(resp.body)
        assert time.monotonic() < deadline, (
            f"{instance_id} not terminal after {timeout}s: {resp.body}"
        )
        time.sleep(0.1)


def test_orders_complete_or_are_rejected_and_everything_adds_up(seed_go: Path) -> None:
    with go_stack(seed_go) as (stack, api):
        approved = [submit(api, order("go-1")), submit(api, order(None, "p-003", 1, 10.5))]
        rejected = submit(api, order("go-2", "sold-out", 1, 5.0))
        assert rejected == "go-2" and len(approved[1]) == 32  # generated when absent

        assert api.request("POST", "/orders", order("go-1")).status == 409
        assert api.request("POST", "/orders", raw=b"{not json").status == 400
        bad = api.request("POST", "/orders", {**order("go-3"), "quantity": 1.5})
        assert bad.status == 400 and "quantity" in bad.body["error"]
        assert api.request("POST", "/orders", {**order("go-4"), "extra": 1}).status == 400
        assert api.request("GET", "/orders/never-submitted").status == 404
        assert api.request("GET", "/healthz").status == 200

        for instance_id in approved:
            assert wait_terminal(api, instance_id) == {
                "runtimeStatus": "COMPLETED",
                "output": {"orderId": instance_id, "status": "Completed"},
            }
        assert wait_terminal(api, rejected)["output"] == {
            "orderId": "go-2",
            "status": "Rejected: out of stock",
        }

        state = api.request("GET", "/state").body
        assert set(state) == STATE_FIELDS
        assert all(isinstance(v, int) for part in state.values() for v in part.values())
        assert state["charges"] == {"go-1": 4999, approved[1]: 1050}
        assert state["reservations"] == {"go-1": 2, approved[1]: 1}
        assert state["notifications"] == {"go-1": 1, approved[1]: 1}
        assert state["refunds"] == {}
        assert state["stock"]["p-001"] == state["initial_stock"]["p-001"] - 2 == 99_998
        assert state["initial_stock"]["scarce"] == 5 and state["stock"]["sold-out"] == 0

        ledger = Ledger.read(stack.ledger_path)
        assert ledger.torn == 0 and ledger.unfinished() == [] and ledger.failpoints == []
        counts = ledger.effect_counts()
        assert set(counts) == {(kind, i) for kind in APPROVED_EFFECTS for i in approved}
        assert set(counts.values()) == {1}
        activities = {(i.workflow_id, i.activity) for i in ledger.invocations}
        assert ("go-2", "CheckInventoryActivity") in activities
        assert len(activities) == 4 * len(approved) + 1
        charge = next(
            e for e in ledger.effects if e.subject == "go-1" and e.kind == "payment.charged"
        )
        assert (
            charge.details == {"cents": 4999}
            and charge.application == "go-1:ProcessPaymentActivity#1"
        )
        assert charge.activity == "ProcessPaymentActivity" and charge.workflow_id == "go-1"

        # GET /state is one moment while effects land (see tests/integration/torn_state.py)
        def state_now() -> Any:
            return api.request("GET", "/state").body

        assert torn_snapshots(stack.valkey_url, state_now, "go-torn-") == 0


def crash_after_the_charge(stack: Stack, api: OrderAPIClient, instance_id: str) -> dict[str, Any]:
    """Crash the app once right after the charge is committed and recorded, restart it
    (as the harness heals), and wait for the order."""
    chaos = Chaos(stack)
    chaos.arm_failpoint(Failpoint("ProcessPaymentActivity.after", "crash"))
    submit(api, order(instance_id))
    deadline = time.monotonic() + 30
    while stack.process("app").running():
        assert time.monotonic() < deadline, "the armed crash never happened"
        time.sleep(0.05)
    chaos.heal()
    return wait_terminal(api, instance_id)


def test_a_crash_after_the_charge_reruns_the_activity_without_charging_twice(seed_go: Path) -> None:
    with go_stack(seed_go) as (stack, api):
        status = crash_after_the_charge(stack, api, "go-crash")
        assert status["output"] == {"orderId": "go-crash", "status": "Completed"}
        assert api.request("GET", "/state").body["charges"] == {"go-crash": 4999}
        ledger = Ledger.read(stack.ledger_path)
        [crash] = ledger.fired("ProcessPaymentActivity.after")
        assert crash.action == "crash" and crash.workflow_id == "go-crash"
        payments = [i for i in ledger.invocations if i.activity == "ProcessPaymentActivity"]
        assert len(payments) == 2 and len(ledger.unfinished()) == 1
        assert ledger.effect_counts()[("payment.charged", "go-crash")] == 1
        assert ledger.rerecorded == 1  # the re-run found the charge applied and said so


def test_the_payment_not_idempotent_variant_charges_twice(seed_go: Path) -> None:
    with go_stack(seed_go, "payment-not-idempotent") as (stack, api):
        status = crash_after_the_charge(stack, api, "go-twice")
        assert status["output"] == {"orderId": "go-twice", "status": "Completed"}
        assert api.request("GET", "/state").body["charges"] == {"go-twice": 2 * 4999}
        ledger = Ledger.read(stack.ledger_path)
        assert ledger.effect_counts()[("payment.charged", "go-twice")] == 2
        assert sorted(
            str(e.application) for e in ledger.effects if e.kind == "payment.charged"
        ) == [
            "go-twice:ProcessPaymentActivity#1",
            "go-twice:ProcessPaymentActivity#2",
        ]
