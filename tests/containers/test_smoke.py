"""The reference order app with every member in a container: orders complete, money and
stock add up, each effect happens once, and the members really are containers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from harness import Ledger, Orders, Stack, Verdict, conservation
from harness.testing import RUN_LABEL, docker_client, is_container

MEMBERS = {"toxiproxy", "valkey", "placement", "scheduler", "daprd", "app"}


def test_every_member_is_a_running_container_on_the_host_network(dapr_stack: Stack) -> None:
    assert set(dapr_stack.members) == MEMBERS
    api = docker_client().api
    for name, member in dapr_stack.members.items():
        process = member.process
        assert is_container(process), name
        assert process.container_id is not None
        info = api.inspect_container(process.container_id)
        assert info["State"]["Status"] == "running", name
        assert info["HostConfig"]["NetworkMode"] == "host", name
        assert info["Config"]["Labels"][RUN_LABEL], name
        # The host pid namespace: the pid the harness sees is the process's real pid.
        assert info["State"]["Pid"] == process.pid, name
        assert process.start_time is not None, name  # /proc decides liveness at once


def test_orders_complete_with_consistent_business_state(dapr_stack: Stack, orders: Orders) -> None:
    made = [orders.make() for _ in range(20)]
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(orders.submit, made))
    statuses = orders.wait_terminal(ids, timeout=60)
    assert {s.runtime_status for s in statuses.values()} == {"COMPLETED"}
    result = conservation({o.order_id: o for o in made}, statuses, orders.api.state())
    assert result.verdict is Verdict.PASS, str(result)
    # The ledger the app writes in its container is read from the bind-mounted run dir.
    counts = Ledger.read(dapr_stack.ledger_path, prefix=orders.prefix).effect_counts()
    assert len(counts) == 3 * len(ids) and set(counts.values()) == {1}
