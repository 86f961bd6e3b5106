"""The worker-health check fails on an app whose workflow worker quits while the app
stays up (what python-sdk #900 does after a sidecar restart), and the opt-in restart
brings the orders home."""

from __future__ import annotations

import signal
import time

import pytest

from harness import Chaos, FaultError, OrderAPIClient, Orders, Stack, Verdict

VARIANT = "worker-quits"


def wait_until_no_worker(stack: Stack) -> None:
    deadline = time.monotonic() + 15
    while (stack.metadata().get("workflows") or {}).get("connectedWorkers", 0) != 0:
        assert stack.process("app").running(), "the app exited while its worker was awaited"
        assert time.monotonic() < deadline, "daprd still counts a workflow worker after 15 s"
        time.sleep(0.02)


def test_a_worker_that_never_comes_back_fails_worker_health(variant_stack: Stack) -> None:
    chaos = Chaos(variant_stack, worker_grace=5)
    orders = Orders(OrderAPIClient(variant_stack.ports["app"]), prefix="quit-")
    try:
        chaos.arm("reserve_stock.before_effect", "delay", seconds=1.0, count=None)
        orders.submit_many(2)
        chaos.wait_for_hit("reserve_stock.before_effect", prefix=orders.prefix)
        variant_stack.process("app").signal(signal.SIGUSR1)  # the worker stops, the app lives
        chaos.disarm("reserve_stock.before_effect")
        wait_until_no_worker(variant_stack)
        verification = chaos.verify(orders, deadline=5)
    finally:
        chaos.restart_app_on_lost_worker = True
        chaos.reset()
    result = verification.result("worker-health")
    assert result.verdict is Verdict.FAIL, verification.report()
    assert result.evidence[0].startswith("no workflow worker connected")
    assert "(worker grace 5s) although the app" in result.evidence[0]
    # Its orders are stuck mid-workflow: nothing-lost names them with their last event.
    lost = verification.result("nothing-lost")
    assert lost.verdict is Verdict.FAIL and "stuck RUNNING; last event #" in lost.evidence[0]


def test_the_opt_in_restart_recovers_and_still_reports_it(variant_stack: Stack) -> None:
    chaos = Chaos(variant_stack, worker_grace=5, restart_app_on_lost_worker=True)
    orders = Orders(OrderAPIClient(variant_stack.ports["app"]), prefix="quit2-")
    try:
        chaos.arm("reserve_stock.before_effect", "delay", seconds=1.0, count=None)
        orders.submit_many(2)
        chaos.wait_for_hit("reserve_stock.before_effect", prefix=orders.prefix)
        variant_stack.process("app").signal(signal.SIGUSR1)
        chaos.disarm("reserve_stock.before_effect")
        wait_until_no_worker(variant_stack)
        verification = chaos.verify(orders, deadline=60)
    finally:
        chaos.reset()
    assert verification.result("nothing-lost").verdict is Verdict.PASS
    assert verification.result("worker-health").verdict is Verdict.FAIL
    assert any(m.text.startswith("restarting the app") for m in chaos.timeline.marks)


def test_a_wait_for_a_failpoint_judges_a_missing_worker_and_says_why_it_timed_out(
    variant_stack: Stack,
) -> None:
    # No instance reaches a failpoint without a worker: the wait does not sit out its
    # timeout blind. It has the supervisor judge the missing worker (a finding here: not
    # the registration race) and its error says where the instances got to.
    chaos = Chaos(variant_stack, worker_grace=5)
    chaos.worker_probe = 2
    orders = Orders(OrderAPIClient(variant_stack.ports["app"]), prefix="wait-")
    try:
        chaos.arm("reserve_stock.before_effect", "delay", seconds=1.0, count=None)
        orders.submit_many(2)
        chaos.wait_for_hit("reserve_stock.before_effect", prefix=orders.prefix)
        chaos.arm("notify_customer.before_effect", "crash")
        variant_stack.process("app").signal(signal.SIGUSR1)
        chaos.disarm("reserve_stock.before_effect")
        wait_until_no_worker(variant_stack)
        with pytest.raises(FaultError) as raised:
            chaos.wait_for_hit("notify_customer.before_effect", prefix=orders.prefix, timeout=15)
        findings = list(chaos.worker_findings)
    finally:
        chaos.disarm("notify_customer.before_effect")  # the restarted worker reaches it
        chaos.restart_app_on_lost_worker = True
        chaos.reset()
    message = str(raised.value)
    progress = message.split("; ")[1]
    assert progress.startswith("instances wait-*: activity invocations "), message
    assert "check_inventory 2" in progress and "notify_customer" not in progress, message
    assert "failpoints hit reserve_stock.before_effect (fired)" in message, message
    assert "daprd counts 0 connected workflow worker(s)" in message, message
    assert len(findings) == 1 and findings[0].startswith("no workflow worker connected")


@pytest.mark.slow
def test_a_worker_that_quits_when_the_sidecar_goes_fails_worker_health(
    variant_stack: Stack,
) -> None:
    # The variant's realistic trigger: daprd goes away and the app gives up its worker.
    chaos = Chaos(variant_stack, worker_grace=5)
    orders = Orders(OrderAPIClient(variant_stack.ports["app"]), prefix="gone-")
    try:
        chaos.arm("reserve_stock.before_effect", "delay", seconds=1.0, count=None)
        orders.submit_many(2)
        chaos.wait_for_hit("reserve_stock.before_effect", prefix=orders.prefix)
        chaos.kill("daprd", duration=1.0)
        chaos.disarm("reserve_stock.before_effect")
        time.sleep(1.5)  # the outage lasts its second: heal would end it at once
        verification = chaos.verify(orders, deadline=5)
    finally:
        chaos.restart_app_on_lost_worker = True
        chaos.reset()
    result = verification.result("worker-health")
    assert result.verdict is Verdict.FAIL, verification.report()
    assert "(worker grace 5s) although the app" in " ".join(result.evidence)
    assert verification.result("nothing-lost").verdict is Verdict.FAIL
