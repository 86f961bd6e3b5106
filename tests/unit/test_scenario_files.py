"""Scenario files are validated strictly, with FILE:LINE errors, before anything runs."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from harness.cli.run import DEFAULT_SCENARIOS, select, with_variant
from harness.errors import ConfigError
from harness.faults.network import LinkToxic
from harness.faults.process import Kill
from harness.faults.schedule import At, OnCompleted, OnFailpoint
from harness.scenario.model import reference_workflows
from harness.scenario.parse import discover, load_all, load_scenario, parse_scenario
from harness.scenario.selection import matches

GOOD = """\
name: good-one
description: a kill on a failpoint and a latency fault
seed: 9
workload: {orders: 10, concurrency: 2}
failpoints:
  - {name: charge_payment.after_effect, action: delay, seconds: 0.2, count: every}
faults:
  - {action: kill, target: daprd, trigger: {failpoint: reserve_stock.before_effect, nth: 2},
     duration: 1, params: {signal: TERM}}
  - action: latency
    target: daprd->valkey
    trigger: {completed: 3}
    duration: 2.5
    params: {ms: 250, jitter_ms: 20, stream: upstream, toxicity: 0.5}
checks: [exactly-once, nothing-lost]
timeouts: {chaos: 30, verify: 45}
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_scenario(text, "s.yaml")
    return str(info.value)


def test_a_valid_scenario_builds_its_schedule() -> None:
    sc = parse_scenario(GOOD, "s.yaml")
    assert sc.name == "good-one" and sc.seed == 9
    assert (sc.workload.orders, sc.workload.concurrency) == (10, 2)
    assert sc.failpoints[0].count is None and sc.failpoints[0].seconds == 0.2
    kill, latency = sc.schedule.events
    assert kill.trigger == OnFailpoint("reserve_stock.before_effect", 2)
    assert kill.fault == Kill("daprd", signal.SIGTERM) and kill.duration == 1
    assert latency.trigger == OnCompleted(3)
    assert isinstance(latency.fault, LinkToxic)
    assert latency.fault.toxic.attributes == {"latency": 250, "jitter": 20}
    assert (latency.fault.toxic.stream, latency.fault.toxic.toxicity) == ("upstream", 0.5)
    assert sc.checks == ("exactly-once", "nothing-lost", "coverage")  # coverage always
    assert (sc.schedule.chaos_timeout, sc.schedule.verify_deadline) == (30, 45)


def test_written_back_scenarios_load_to_the_same_scenario() -> None:
    sc = parse_scenario(GOOD, "s.yaml")
    again = parse_scenario(sc.as_yaml(), "again.yaml")
    assert again.schedule == sc.schedule
    assert again.failpoints == sc.failpoints
    assert (again.checks, again.seed, again.workload) == (sc.checks, sc.seed, sc.workload)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: x\nworkload:\n  orders: 5\n  concurency: 2\n",
            "s.yaml:4: unknown key 'concurency' in workload; allowed: orders, concurrency, pace,",
        ),
        ("name: x\nseeds: 3\n", "s.yaml:2: unknown key 'seeds' in the scenario; allowed: name,"),
        ("name: x\nworkload: {orders: ten}\n", "s.yaml:2: workload.orders must be an integer"),
        ("name: x\nworkload: {orders: '5'}\n", "s.yaml:2: workload.orders must be an integer"),
        ("name: x\nworkload: {orders: 0}\n", "s.yaml:2: workload.orders must be > 0, got 0"),
        (
            "name: x\nfaults:\n  - {action: kill, target: daprx, trigger: {at: 1}}\n",
            "s.yaml:3: kill target 'daprx' is unknown; allowed: app, daprd, placement, scheduler",
        ),
        (
            "name: x\nfaults:\n  - {action: explode, target: app, trigger: {at: 1}}\n",
            "s.yaml:3: fault action 'explode' is unknown; allowed: kill, pause, restart",
        ),
        (
            "name: x\nfaults:\n  - {action: down, target: app, trigger: {at: 1}}\n",
            "down target 'app' is unknown; allowed: app->daprd, daprd->valkey",
        ),
        (
            "name: x\nfaults:\n  - {action: kill, target: app}\n",
            "s.yaml:3: a fault needs a trigger",
        ),
        (
            "name: x\nfaults:\n  - {action: kill, target: app, trigger: {at: 1, completed: 2}}\n",
            "s.yaml:3: fault.trigger needs exactly one of",
        ),
        (
            "name: x\nfaults:\n  - action: latency\n    target: daprd->valkey\n"
            "    trigger: {at: 1}\n",
            "s.yaml:3: latency needs params: ms",
        ),
        (
            "name: x\nfaults:\n  - action: latency\n    target: daprd->valkey\n"
            "    trigger: {at: 1}\n    params: {ms: 5, stream: sideways}\n",
            "s.yaml:6: toxic stream 'sideways' is unknown; allowed: downstream, upstream",
        ),
        (
            "name: x\nfaults:\n  - {action: pause, target: app, trigger: {at: 1}, "
            "params: {signal: KILL}}\n",
            "s.yaml:3: pause takes no params",
        ),
        (
            "name: x\nchecks: [exactly-once, exactly-twice]\n",
            "s.yaml:2: check 'exactly-twice' is unknown; allowed: exactly-once",
        ),
        ("name: x\nchecks: []\n", "s.yaml:2: checks is empty"),
        ("name: x\nslo: {min_throughput: 5}\n", "s.yaml:2: slo needs a load profile"),
        (
            "name: x\nfailpoints:\n  - {name: a.b, action: explode}\n",
            "s.yaml:3: failpoint action 'explode' is unknown; allowed: crash, pause",
        ),
        (
            "name: x\nfailpoints:\n  - {name: a.b}\n  - {name: a.b}\n",
            "s.yaml:3: failpoint 'a.b' is armed twice",
        ),
        ("name: Bad Name\n", "s.yaml:1: name 'Bad Name' is invalid"),
        ("description: no name\n", "s.yaml:1: the scenario needs the key 'name'"),
        ("name: x\napp: {variant: broken-on-purpose}\n", "s.yaml:2: app.variant 'broken-on-pu"),
        ("name: x\nworkload: [1, 2]\n", "s.yaml:2: workload must be a mapping, got a list"),
        ("name: x\n  bad: indent\n", "s.yaml:2: not valid YAML"),
        ("", "s.yaml:1: the file is empty"),
    ],
)
def test_bad_scenarios_are_rejected_with_file_line_and_allowed_values(
    text: str, expected: str
) -> None:
    assert expected in error_of(text)


def test_a_random_time_trigger_is_drawn_from_the_seed() -> None:
    text = (
        "name: r\nseed: {seed}\nfaults:\n"
        "  - {{action: kill, target: app, trigger: {{between: [0.5, 3]}}}}\n"
    )
    first = parse_scenario(text.format(seed=1)).schedule.events[0].trigger
    again = parse_scenario(text.format(seed=1)).schedule.events[0].trigger
    other = parse_scenario(text.format(seed=2)).schedule.events[0].trigger
    assert isinstance(first, At) and 0.5 <= first.seconds <= 3
    assert first == again and first != other


def test_every_shipped_scenario_is_valid_and_names_are_unique() -> None:
    scenarios = load_all([DEFAULT_SCENARIOS])
    assert len(scenarios) >= 10
    names = {sc.name for sc in scenarios}
    for must in ("app-crash-after-payment", "app-pause", "app-crash-every-activity"):
        assert must in names
    for sc in scenarios:
        assert sc.path is not None and sc.path.name == f"{sc.name}.scenario.yaml"
        assert parse_scenario(sc.as_yaml()).schedule == sc.schedule


def test_discovery_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such scenario file or directory"):
        discover([tmp_path / "missing"])
    with pytest.raises(ConfigError, match=r"no scenario files found .*\.scenario\.yaml"):
        discover([tmp_path])
    for n in (1, 2):
        (tmp_path / f"{n}.scenario.yaml").write_text("name: same\n")
    with pytest.raises(ConfigError, match="scenario name 'same' is also used by"):
        load_all([tmp_path])
    with pytest.raises(ConfigError, match="cannot read the scenario file"):
        load_scenario(tmp_path)


@pytest.mark.parametrize(
    ("expr", "name", "selected"),
    [
        ("daprd", "daprd-kill", True),
        ("daprd and not pause", "daprd-pause", False),
        ("valkey or app", "app-pause", True),
        ("not (valkey or app)", "daprd-kill", True),
        ("", "anything", True),
    ],
)
def test_k_selects_by_name_like_pytest(expr: str, name: str, selected: bool) -> None:
    assert matches(expr, name) is selected


@pytest.mark.parametrize("expr", ["daprd and", "(app", "or app", "app $"])
def test_a_malformed_k_expression_is_an_error(expr: str) -> None:
    with pytest.raises(ConfigError, match="-k"):
        matches(expr, "app-pause")


def test_k_selecting_nothing_is_an_error() -> None:
    with pytest.raises(ConfigError, match="selects none of the"):
        select(load_all([DEFAULT_SCENARIOS]), "no-such-scenario")


def test_a_variant_overrides_the_reference_app_only() -> None:
    shipped = load_all([DEFAULT_SCENARIOS])
    broken = with_variant(shipped, "no-compensation")
    assert {sc.app.variant for sc in broken} == {"no-compensation"}
    assert all(sc.app.workflow_code == reference_workflows("no-compensation") for sc in broken)
    own = parse_scenario("name: own\napp: {command: python app.py}\n", "own.yaml")
    assert with_variant([*shipped[:1], own], "loses-orders")[1] is own
    with pytest.raises(ConfigError, match="none of the 1 selected does"):
        with_variant([own], "loses-orders")
    with pytest.raises(ConfigError, match="a variant applies to the reference app; own runs"):
        own.with_variant("loses-orders")
    with pytest.raises(ConfigError, match="unknown reference app variant 'nope'"):
        shipped[0].with_variant("nope")
