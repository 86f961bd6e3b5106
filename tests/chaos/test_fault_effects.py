"""Every fault kind does what it says, and a fault that would hit nothing is an error."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness import (
    Chaos,
    ConfigError,
    FaultError,
    Orders,
    Stack,
    StackConfig,
    StackError,
    Workflows,
)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f}s"
        time.sleep(0.02)


def proc_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_kill_removes_the_pid_and_heal_brings_a_new_one_that_serves(
    dapr_stack: Stack, chaos: Chaos, orders: Orders
) -> None:
    old = dapr_stack.process("app").pid
    chaos.kill("app")
    assert not Path(f"/proc/{old}").exists() or proc_state(old) == "Z"
    with pytest.raises(FaultError, match="cannot kill app: it is not running"):
        chaos.kill("app")
    chaos.heal()
    assert dapr_stack.process("app").pid != old
    oid = orders.submit()
    assert orders.wait_terminal([oid])[oid].runtime_status == "COMPLETED"


def app_processes(stack: Stack) -> list[int]:
    """Live processes running this stack's app (found by its run dir in their env)."""
    found = []
    marker = f"DAPR_CHAOS_RUN_DIR={stack.run_dir}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if (
            marker in env
            and b"harness.reference_apps.orders" in cmd
            and proc_state(int(entry.name)) != "Z"
        ):
            found.append(int(entry.name))
    return found


def test_a_heal_during_a_timed_restart_leaves_one_app(
    dapr_stack: Stack, chaos: Chaos, orders: Orders
) -> None:
    # The kill's own timer starts the app after the supervisor delay; heal comes while
    # that timer sleeps. Both used to start it: two apps, one of them untracked.
    chaos.kill("app", duration=0.05)
    # Past the kill's 0.05 s, so the timer is inside its ~1 s supervisor delay (on a
    # loaded machine it may not be yet: heal then cancels it, and the test is weaker but
    # still true). heal joins a running timer before it starts anything, so when it
    # returns every start has happened and the end state is judged at once.
    time.sleep(0.3)
    chaos.heal()
    assert app_processes(dapr_stack) == [dapr_stack.process("app").pid]
    oid = orders.submit()
    assert orders.wait_terminal([oid])[oid].runtime_status == "COMPLETED"


def test_two_heals_starting_the_app_at_once_start_it_once(dapr_stack: Stack, chaos: Chaos) -> None:
    # What a timed heal and the stack-wide heal do when they meet: both find the app
    # down and start it at the same instant. One start wins; the other is told it runs.
    chaos.kill("app")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start() -> None:
        barrier.wait()
        try:
            dapr_stack.start_member("app")
            outcomes.append("started")
        except StackError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes)[-1] == "started" and "app is already running" in sorted(outcomes)[0]
    assert app_processes(dapr_stack) == [dapr_stack.process("app").pid]


def test_latency_is_visible_in_request_timings(chaos: Chaos, orders: Orders) -> None:
    oid = orders.submit()
    orders.wait_terminal([oid])

    def timed_get() -> float:
        started = time.monotonic()
        assert orders.api.status(oid) is not None  # the app asks daprd over app->daprd
        return time.monotonic() - started

    before = min(timed_get() for _ in range(5))
    chaos.latency("app->daprd", 300)
    slowed = min(timed_get() for _ in range(3))
    chaos.heal()
    after = min(timed_get() for _ in range(5))
    assert slowed >= before + 0.29, (before, slowed)
    assert after < before + 0.1, (before, after)


def test_a_downed_link_refuses_connections_until_healed(dapr_stack: Stack, chaos: Chaos) -> None:
    port = dapr_stack.ports["proxy_daprd_valkey"]
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    chaos.down("daprd->valkey")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    chaos.heal()
    socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_reset_peer_resets_connections(dapr_stack: Stack, chaos: Chaos) -> None:
    port = dapr_stack.ports["proxy_app_daprd"]
    chaos.reset_peer("app->daprd")
    # The RST may come at connect, at send or at receive, depending on timing.
    with (
        pytest.raises((ConnectionResetError, BrokenPipeError)),
        socket.create_connection(("127.0.0.1", port), 2) as s,
    ):
        s.settimeout(2)
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        if s.recv(100) == b"":
            raise ConnectionResetError("closed without data")


def test_a_paused_process_stops_and_resumes(dapr_stack: Stack, chaos: Chaos) -> None:
    pid = dapr_stack.process("placement").pid
    window = chaos.pause("placement", seconds=0.5)
    assert proc_state(pid) == "T"
    wait_until(lambda: window.end is not None, "the timed resume")
    assert proc_state(pid) in ("S", "R")
    assert window.end is not None and window.end - window.start >= 0.5


def test_timed_faults_heal_themselves(dapr_stack: Stack, chaos: Chaos) -> None:
    window = chaos.latency("daprd->scheduler", 50, duration=0.3)
    assert dapr_stack.toxiproxy.toxics("daprd->scheduler") != []
    wait_until(lambda: window.end is not None, "the timed heal")
    assert window.end is not None and window.end - window.start >= 0.3
    assert chaos.timeline.active() == []
    assert dapr_stack.toxiproxy.toxics("daprd->scheduler") == []


def test_restart_keeps_ports_and_serves(dapr_stack: Stack, chaos: Chaos, orders: Orders) -> None:
    old = dapr_stack.process("scheduler").pid
    chaos.restart("scheduler")
    assert dapr_stack.process("scheduler").pid != old
    chaos.heal()
    oid = orders.submit()
    assert orders.wait_terminal([oid])[oid].runtime_status == "COMPLETED"


def test_bad_fault_targets_are_clear_errors(chaos: Chaos) -> None:
    with pytest.raises(ConfigError, match="unknown process fault target 'daprd2'"):
        chaos.kill("daprd2")
    with pytest.raises(ConfigError, match="unknown link 'app->valkey'"):
        chaos.down("app->valkey")
    with pytest.raises(ConfigError, match="failpoint action 'explode' is unknown"):
        chaos.arm("x.before_effect", "explode")


def test_a_network_fault_on_an_unproxied_stack_is_an_error() -> None:
    with Stack(StackConfig(app=None, proxies=False)) as stack:
        chaos = Chaos(stack)
        with pytest.raises(FaultError, match="has no proxy in this stack"):
            chaos.latency("daprd->valkey", 100)


def test_soft_restart_keeps_the_pid_and_workflows_go_on(
    dapr_stack: Stack, chaos: Chaos, orders: Orders
) -> None:
    pid = dapr_stack.process("daprd").pid
    before = dapr_stack.process("daprd").log_size()
    orders.submit_many(3)
    chaos.soft_restart()
    chaos.assert_ok(orders)
    assert dapr_stack.process("daprd").pid == pid
    assert "Received signal 'hangup'; restarting" in dapr_stack.process("daprd").log_since(before)


def test_an_armed_failpoint_that_never_fires_fails_verification(
    chaos: Chaos, orders: Orders
) -> None:
    chaos.arm("charge_payment.aftr_effect", "crash")  # misspelled: nothing will hit it
    orders.submit()
    with pytest.raises(
        FaultError,
        match=r"charge_payment\.aftr_effect were armed but never fired, so they did nothing",
    ):
        chaos.verify(orders)


def test_a_straggler_of_another_test_neither_fires_nor_uses_up_this_tests_failpoint(
    dapr_stack: Stack, chaos: Chaos, orders: Orders
) -> None:
    # On a shared stack an instance of an earlier test can still be running when the
    # next test arms its failpoint: it must pass through (not crash the app, not use up
    # the count), and the crash lands in this test's own instance.
    straggler = Orders(orders.api, prefix=f"straggler-{time.monotonic_ns()}-")
    chaos.arm("notify_customer.before_effect", "crash")
    late = straggler.submit(product_id="p-001")

    def finished() -> bool:
        status = orders.api.status(late)
        return status is not None and status.runtime_status == "COMPLETED"

    wait_until(finished, "the straggler's workflow completing")
    orders.submit(product_id="p-001")
    hit = chaos.wait_for_hit("notify_customer.before_effect")
    assert hit.fired and hit.workflow_id is not None
    assert hit.workflow_id.startswith(orders.prefix), hit
    chaos.assert_ok(orders, deadline=60)
    assert straggler.api.status(late) is not None


def test_an_instance_named_by_the_test_itself_fires_an_unscoped_failpoint(
    chaos: Chaos, workflows: Workflows
) -> None:
    # An id outside the test's prefix: a scoped arming passes it by (the wait's error
    # says how to arm for it), an unscoped one acts on it, and verification counts that
    # firing as this run's (the instance is the workload's own).
    own = f"own-{time.monotonic_ns()}"
    order = {"orderId": own, "customerId": "c-1", "productId": "p-001", "quantity": 1}
    chaos.arm("charge_payment.before_effect", "trace", count=None)  # the test's prefix
    chaos.arm("notify_customer.before_effect", "crash", instances="")
    workflows.start("order_processing", {**order, "totalAmount": 9.99}, instance_id=own)
    hit = chaos.wait_for_hit("notify_customer.before_effect", prefix=own)
    assert hit.workflow_id == own
    with pytest.raises(FaultError, match='arm it with instances=""'):
        chaos.wait_for_hit("charge_payment.before_effect", fired=False, prefix="own-", timeout=1)
    verification = chaos.assert_ok(workflows, deadline=60)
    assert verification.history.statuses[own].runtime_status == "COMPLETED"  # type: ignore[union-attr]
