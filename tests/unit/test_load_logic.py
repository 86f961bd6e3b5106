"""Load logic without a stack: profiles, workload settings, the operation log, the
per-second series, baseline / dip / recovery, and SLO checks that can fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import Verdict
from harness.checks.slo import SLO, check_slos
from harness.errors import ConfigError
from harness.experiment.load_result import LoadResult
from harness.record.series import (
    NO_BASELINE,
    NO_FAULT,
    NOT_RECOVERED,
    OUTLASTED,
    RECOVERED,
    Latency,
    Second,
    Window,
    per_second,
    percentile,
    recovery_of,
)
from harness.workload.load_config import LoadProfile, WorkloadConfig
from harness.workload.locust_process import LocustCommand, run_time_s
from harness.workload.operations import Operations, OperationWriter
from harness.workload.order_generator import (
    UNIT_PRICES,
    OrderGenerator,
    is_out_of_stock_product,
)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": -3}, "users must be a positive integer"),
        ({"users": 0}, "users must be a positive integer"),
        ({"duration": 0}, "duration must be > 0 seconds"),
        ({"duration": float("nan")}, "duration must be > 0 seconds"),
        ({"spawn_rate": 0}, "spawn rate must be > 0"),
        ({"workers": -1}, "workers must be in 0..users"),
        ({"workers": 5}, "workers must be in 0..users"),
    ],
)
def test_a_bad_load_profile_is_a_config_error(kwargs: dict[str, float], message: str) -> None:
    values: dict[str, float] = {"users": 4, "spawn_rate": 2.0, "duration": 10.0, **kwargs}
    with pytest.raises(ConfigError, match=message):
        LoadProfile(**values)  # type: ignore[arg-type]


def test_profile_ramp_and_whole_seconds() -> None:
    assert LoadProfile(10, 5.0, 2.5).ramp_s == 3
    assert run_time_s(2.5) == 3 and run_time_s(0.2) == 1


def test_workload_config_round_trips_through_the_environment(tmp_path: Path) -> None:
    config = WorkloadConfig(
        prefix="p-", url="http://127.0.0.1:1", ops_path=tmp_path / "ops", seed=3, poll_s=0.2
    )
    assert WorkloadConfig.from_env(config.to_env()) == config
    with pytest.raises(ConfigError, match="DAPR_CHAOS_LOAD_POLL"):
        WorkloadConfig.from_env({"DAPR_CHAOS_LOAD_POLL": "soon"})
    with pytest.raises(ConfigError, match="prefix"):
        WorkloadConfig.from_env({"DAPR_CHAOS_LOAD_PREFIX": "has space"})
    with pytest.raises(ConfigError, match="out-of-stock"):
        WorkloadConfig.from_env({"DAPR_CHAOS_LOAD_OUT_OF_STOCK": "2"})


def test_locust_binds_only_loopback_and_has_no_web_ui(tmp_path: Path) -> None:
    command = LocustCommand("http://127.0.0.1:9", 4, 2.0, 5, tmp_path / "s", 2, 20023)
    master = command.master()
    assert "--headless" in master
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.1"
    assert master[master.index("--run-time") + 1] == "5s"
    worker = command.worker()
    assert worker[worker.index("--master-host") + 1] == "127.0.0.1"


def test_mixed_orders_are_reproducible_realistic_and_partly_out_of_stock() -> None:
    a = [OrderGenerator("x-", seed=5).mixed(0.1) for _ in range(1)]
    gen1, gen2 = OrderGenerator("x-", seed=5), OrderGenerator("x-", seed=5)
    batch = [gen1.mixed(0.1) for _ in range(2000)]
    assert batch == [gen2.mixed(0.1) for _ in range(2000)] and batch[0] == a[0]
    assert len({o.order_id for o in batch}) == 2000
    assert len({o.customer_id for o in batch}) > 200
    sold_out = [o for o in batch if is_out_of_stock_product(o.product_id)]
    assert 100 < len(sold_out) < 300  # about 10%
    # Scarce products come in pairs racing for one product of the run's own.
    scarce = [o for o in sold_out if o.product_id.endswith("scarce")]
    assert scarce and all(o.product_id.startswith("x-") for o in sold_out)
    for product in {o.product_id for o in scarce}:
        pair = [o for o in scarce if o.product_id == product]
        assert len(pair) == 2 and sum(o.quantity for o in pair) > 5
    stocked = [o for o in batch if not is_out_of_stock_product(o.product_id)]
    assert all(o.total_amount == round(o.quantity * UNIT_PRICES[o.product_id], 2) for o in stocked)
    assert len({o.product_id for o in stocked}) == len(UNIT_PRICES)


def test_the_operation_log_accounts_for_every_order(tmp_path: Path) -> None:
    path = tmp_path / "ops.jsonl"
    log = OperationWriter(path)
    order = {"customerId": "c", "productId": "p-001", "quantity": 1, "totalAmount": 4.99}
    log.write("start", t=10.0)
    for oid in ("a", "b", "c", "d"):
        log.write("submit", id=oid, order={"orderId": oid, **order})
    log.write("accepted", id="a")
    log.write("refused", id="b", why="HTTP 503")
    log.write("unanswered", id="c", why="Timeout")
    log.write("done", id="a", latency_ms=120.0, status="COMPLETED", result="Approved")
    log.write("http_error", request="POST /orders", kind="HTTP 503")
    log.close()
    with open(path, "a") as handle:
        handle.write('{"op": "accep')  # a line still being written is not read
    ops = Operations.read(path)
    assert ops.start == 10.0 and set(ops.orders) == {"a", "b", "c", "d"}
    assert list(ops.accepted) == ["a"] and ops.refused == {"b": "HTTP 503"}
    assert set(ops.uncertain) == {"c", "d"}  # d: the user was stopped before the answer
    assert ops.done["a"].latency_ms == 120.0 and len(ops.http_errors) == 1


def test_per_second_buckets_and_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(range(101)), 99) == 99
    series = per_second([(0.1, 10.0), (0.9, 30.0), (2.5, 7.0), (9.0, 1.0)], [1.2, 1.3, -1], 3)
    assert [s.completions for s in series] == [2, 0, 1]
    assert [s.http_errors for s in series] == [0, 2, 0]
    assert series[0].p50_ms == 20.0 and series[1].p99_ms is None


def seconds(counts: list[int]) -> list[Second]:
    return [Second(i, c, None, None, 0) for i, c in enumerate(counts)]


def test_recovery_is_measured_from_the_heal_until_throughput_is_back() -> None:
    counts = [5, 10, 10, 10, 10, 2, 0, 0, 4, 9, 10, 10, 10]
    rec = recovery_of(seconds(counts), [Window("kill", "app", 5.0, 7.6)], ramp_s=1)
    assert rec.status == RECOVERED and rec.baseline_wps == 10.0
    assert rec.dip_wps == 0 and rec.dip_ratio == 0.0
    # windows from second 7 on: [0,4,9] 4.3, [4,9,10] 7.7, [9,10,10] 9.7 >= 9 -> k=9
    assert rec.recovery_s == pytest.approx(9 - 7.6)


def test_recovery_distinguishes_never_recovered_outlasted_no_baseline_and_no_fault() -> None:
    low = [10, 10, 10, 10, 0, 0, 3, 3, 3, 3, 3]
    never = recovery_of(seconds(low), [Window("kill", "app", 4.0, 6.0)], ramp_s=1)
    assert never.status == NOT_RECOVERED and never.recovery_s is None
    assert "stayed below 90%" in never.note
    open_ended = recovery_of(seconds(low), [Window("kill", "app", 4.0, None)], ramp_s=1)
    assert open_ended.status == OUTLASTED and open_ended.recovery_s is None
    early = recovery_of(seconds(low), [Window("kill", "app", 0.5, 2.0)], ramp_s=1)
    assert early.status == NO_BASELINE and early.baseline_wps is None
    none = recovery_of(seconds([2, 10, 10]), [], ramp_s=1)
    assert none.status == NO_FAULT and none.baseline_wps == 10.0 and none.dip_wps is None


def result(
    wps: float = 30.0,
    p99: float | None = 250.0,
    recovery_s: float | None = 1.5,
    recovery: str = RECOVERED,
) -> LoadResult:
    return LoadResult(
        profile=LoadProfile(4, 4.0, 10.0),
        prefix="p-",
        duration_s=10.0,
        submitted=300,
        accepted_ids=[],
        refused={},
        uncertain={},
        completed=int(wps * 10),
        workflows_per_s=wps,
        requests_per_s=2 * wps,
        latency_ms=Latency(100.0, 200.0, p99),
        failures={},
        series=[],
        fault_windows=[],
        baseline_wps=30.0,
        dip=None,
        recovery_s=recovery_s,
        recovery=recovery,
    )


def test_slos_pass_and_fail_with_the_measured_value_in_the_evidence() -> None:
    slo = SLO(min_throughput=25, max_p99_ms=300, max_recovery_s=2)
    assert [c.verdict for c in check_slos(result(), slo)] == [Verdict.PASS] * 3
    bad = check_slos(result(wps=12.5, p99=900.0, recovery_s=4.0), slo)
    assert [c.verdict for c in bad] == [Verdict.FAIL] * 3
    assert "measured 12.50 workflows/s" in bad[0].evidence[0] and ">= 25" in bad[0].evidence[0]
    assert "measured p99 900.0 ms" in bad[1].evidence[0]
    assert "measured 4.0s" in bad[2].evidence[0] and "<= 2s" in bad[2].evidence[0]


def test_slo_edge_cases_never_pass_silently() -> None:
    nothing = check_slos(result(p99=None), SLO(max_p99_ms=300))
    assert nothing[0].verdict is Verdict.FAIL
    never = check_slos(result(recovery_s=None, recovery=NOT_RECOVERED), SLO(max_recovery_s=5))
    assert never[0].verdict is Verdict.FAIL and "not recovered" in never[0].evidence[0]
    no_fault = check_slos(result(recovery_s=None, recovery=NO_FAULT), SLO(max_recovery_s=5))
    assert no_fault[0].verdict is Verdict.UNKNOWN
    assert check_slos(result(), SLO()) == []
    with pytest.raises(ConfigError, match="min_throughput"):
        SLO(min_throughput=-1)


def test_a_load_result_is_json_able() -> None:
    data = json.loads(json.dumps(result().to_dict()))
    assert data["latency_ms"]["p99"] == 250.0 and data["recovery"] == RECOVERED


def test_the_scenario_mix_takes_every_path_in_each_block_of_ten() -> None:
    gen = OrderGenerator("run-7-", seed=3)
    orders = [gen.planned(n) for n in range(1, 101)]
    assert [o.order_id for o in orders] == [f"run-7-{n}" for n in range(1, 101)]
    for block in range(10):
        chunk = orders[block * 10 : block * 10 + 10]
        regular = [o for o in chunk if o.product_id in UNIT_PRICES]
        sold_out = [o for o in chunk if o.product_id == "run-7-sold-out"]
        scarce = [i for i, o in enumerate(chunk) if o.product_id == f"run-7-b{block + 1}-scarce"]
        assert (len(regular), len(sold_out), len(scarce)) == (7, 1, 2), chunk
        # The race: back to back, each fits the shelf alone, together they do not.
        assert scarce[1] == scarce[0] + 1
        quantities = [chunk[i].quantity for i in scarce]
        assert all(2 <= q <= 5 for q in quantities) and sum(quantities) > 5
        prices = [round(o.quantity * UNIT_PRICES[o.product_id], 2) for o in regular]
        assert [o.total_amount for o in regular] == prices
    first = orders[:10]
    assert first[0].product_id in UNIT_PRICES  # a one-order run is approved
    assert {o.product_id for o in first[1:4]} == {"run-7-sold-out", "run-7-b1-scarce"}


def test_the_scenario_mix_depends_on_the_seed_only() -> None:
    a, b = OrderGenerator("a-", seed=11), OrderGenerator("a-", seed=11)
    forward = [a.planned(n) for n in range(1, 31)]
    backward = [b.planned(n) for n in range(30, 0, -1)][::-1]  # any thread order
    assert forward == backward
    other = [OrderGenerator("a-", seed=12).planned(n) for n in range(1, 31)]
    assert other != forward
    nexts = OrderGenerator("a-", seed=11)
    assert [nexts.next_planned() for _ in range(30)] == forward
