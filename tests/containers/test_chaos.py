"""The process-mode chaos scenarios (tests/chaos/test_scenarios.py), run unchanged against
the container stack, plus proof that each fault really went through Docker."""

from __future__ import annotations

from harness import Chaos, Orders, Stack
from harness.testing import docker_client, is_container
from tests.chaos import test_scenarios as scenarios


def container_of(stack: Stack, name: str) -> str:
    process = stack.process(name)
    assert is_container(process) and getattr(process, "container_id", None) is not None
    return process.container_id


def test_app_crash_after_the_payment_effect(
    chaos: Chaos, orders: Orders, dapr_stack: Stack
) -> None:
    before = container_of(dapr_stack, "app")
    scenarios.test_app_crash_at_each_activity(chaos, orders, "charge_payment", "after_effect")
    # The failpoint SIGKILLed the app inside its container; heal started a new container.
    assert container_of(dapr_stack, "app") != before


def test_daprd_kill_and_restart(chaos: Chaos, orders: Orders, dapr_stack: Stack) -> None:
    before = container_of(dapr_stack, "daprd")
    scenarios.in_flight(chaos, orders)
    chaos.kill("daprd", duration=1.0)
    assert not dapr_stack.process("daprd").running()
    assert dapr_stack.process("daprd").returncode == -9  # docker kill --signal SIGKILL
    scenarios.settle(chaos, orders)
    assert container_of(dapr_stack, "daprd") != before


def test_valkey_link_down(chaos: Chaos, orders: Orders, dapr_stack: Stack) -> None:
    scenarios.test_valkey_link_down_for_5s(chaos, orders, dapr_stack)


def test_pause_is_docker_pause_and_restart_keeps_valkey_data(
    chaos: Chaos, orders: Orders, dapr_stack: Stack
) -> None:
    scenarios.in_flight(chaos, orders, n=4)
    chaos.pause("placement")
    api = docker_client().api
    assert api.inspect_container(container_of(dapr_stack, "placement"))["State"]["Paused"]
    chaos.heal()
    assert not api.inspect_container(container_of(dapr_stack, "placement"))["State"]["Paused"]
    chaos.restart("valkey")  # a new container on the same AOF: accepted orders survive
    scenarios.settle(chaos, orders)
