"""The search engine of ``dapr-chaos explore`` on a model of the reference app.

The model stands in for real runs (pure logic: which plans break which check). What it
says of the non-idempotent variant is what the real stack shows: a crash or a raised
error after a non-idempotent effect (the charge, the notification) makes Dapr run the
activity again, and the effect happens twice. The real-stack version is
tests/chaos/test_explore.py.

Hypothesis always tries the simplest example first: one fault, the first failpoint in
name order (charge_payment.after_effect), crash, first hit. Tests of the generator and
the shrinker therefore break the model at a later failpoint (notify_customer), where
finding it takes a real search.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.explore.profiles import EXPLORE_PROFILES
from harness.explore.runner import base_scenario, restriction
from harness.explore.search import ERROR, PASS, VIOLATION, Observation, explore
from harness.explore.strategies import (
    DURATIONS,
    FaultPlan,
    FaultSpace,
    fault_schedules,
    single_fault_sweep,
)
from harness.faults.failpoints import Failpoint
from harness.scenario.model import FaultSpec, Scenario
from harness.scenario.parse import parse_scenario

CI = EXPLORE_PROFILES["ci"]
SPACE = FaultSpace.reference(orders=6)


NOTIFY = "notify_customer.after_effect"
CHARGE = "charge_payment.after_effect"


def duplicates(plan: FaultPlan, culprit: str) -> bool:
    return any(fp.name == culprit and fp.action in ("crash", "raise") for fp in plan.failpoints)


class ModelRunner:
    """Answers runs from a rule instead of a stack; remembers every plan it ran."""

    def __init__(self, broken: bool = True, *, culprit: str = NOTIFY, errors: bool = False) -> None:
        self.broken = broken
        self.culprit = culprit
        self.errors = errors
        self.plans: list[FaultPlan] = []
        self.names: list[str] = []

    def discover(self, base: Scenario) -> tuple[Observation, FaultSpace]:
        return Observation(PASS, (), 1.0), SPACE

    def run(self, scenario: Scenario) -> Observation:
        plan = FaultPlan.from_scenario(scenario)
        self.plans.append(plan)
        self.names.append(scenario.name)
        if self.errors and any(s.action == "pause" for s in plan.faults):
            return Observation(ERROR, ("a fault did nothing",), 1.0)
        if self.broken and duplicates(plan, self.culprit):
            return Observation(VIOLATION, (f"exactly-once FAIL: {self.culprit} twice",), 1.0)
        return Observation(PASS, (), 1.0)


def base(variant: str = "payment-not-idempotent") -> Scenario:
    return base_scenario(None, variant, None)


def quiet(_line: str) -> None:
    pass


def test_same_seed_gives_the_same_schedules() -> None:
    def schedules(seed: int) -> list[str]:
        runner = ModelRunner(broken=False)
        explore(base("correct"), runner, seed_value=seed, sweep=False, progress=quiet)
        return [p.key() for p in runner.plans]

    first = schedules(1234)
    assert len(first) == CI.examples
    assert schedules(1234) == first
    assert schedules(99) != first


def test_the_ci_profile_is_derandomized_and_deep_picks_a_seed() -> None:
    runner = ModelRunner(broken=False)
    result = explore(base("correct"), runner, sweep=False, progress=quiet)
    assert result.seed == 0
    deep = explore(
        base("correct"),
        ModelRunner(False),
        profile=EXPLORE_PROFILES["deep"],
        examples=2,
        sweep=False,
        progress=quiet,
    )
    assert isinstance(deep.seed, int)


def test_generation_finds_and_shrinks_to_the_one_fault_that_matters() -> None:
    shrunk_large = 0
    for seed in range(10):
        runner = ModelRunner()
        result = explore(
            base(),
            runner,
            seed_value=seed,
            examples=200,
            max_faults=8,
            sweep=False,
            progress=quiet,
        )
        first = result.first_violation()
        assert result.minimal is not None and first is not None, f"seed {seed}: not found"
        assert first.phase == "generate"
        (fp,) = result.minimal.plan.failpoints
        assert len(result.minimal.plan) == 1, result.minimal.plan.describe()
        assert fp.name == NOTIFY and fp.action in ("crash", "raise")
        assert fp.nth == 1  # shrunk to the first hit as well
        if len(first.plan) >= 3:
            shrunk_large += 1
            assert result.minimal.phase == "shrink"
        # Hypothesis replays examples; the cache runs each plan once.
        assert len(runner.plans) == len({p.key() for p in runner.plans})
    assert shrunk_large >= 2, "too few seeds produced a multi-fault failure to shrink"


def test_the_sweep_finds_a_single_crash_first() -> None:
    runner = ModelRunner()
    result = explore(base(), runner, progress=quiet)
    assert result.minimal is not None
    assert result.minimal.phase == "sweep"
    assert result.minimal.plan.describe() == [f"failpoint {NOTIFY}: crash on hit 1"]
    # The sweep goes in name order and stops at the first violation.
    names = [p.failpoints[0].name for p in runner.plans]
    assert names == sorted(SPACE.failpoints)[: names.index(NOTIFY) + 1]


def test_the_first_generated_example_is_the_simplest_schedule() -> None:
    runner = ModelRunner(culprit=CHARGE)
    result = explore(base(), runner, sweep=False, progress=quiet)
    assert result.minimal is not None and result.minimal.number == 1
    assert runner.plans[0].describe() == [f"failpoint {CHARGE}: crash on hit 1"]


def test_the_correct_app_spends_the_budget_and_finds_nothing() -> None:
    runner = ModelRunner(broken=False)
    result = explore(base("correct"), runner, progress=quiet)
    assert not result.found
    sweep = single_fault_sweep(SPACE)
    assert len(sweep) == len(SPACE.failpoints)
    # Hypothesis's first example, the simplest plan, is the sweep's first: cached.
    assert result.runs == len(sweep) + CI.examples - 1
    assert [p.describe() for p in runner.plans[: len(sweep)]] == [p.describe() for p in sweep]


def test_errors_are_reported_never_counted_as_violations() -> None:
    runner = ModelRunner(broken=False, errors=True)
    result = explore(
        base("correct"), runner, seed_value=5, examples=40, sweep=False, progress=quiet
    )
    assert not result.found
    assert result.counts().get(ERROR, 0) >= 1


def test_the_shrink_budget_bounds_the_runs_after_the_first_violation() -> None:
    result = explore(
        base(),
        ModelRunner(),
        seed_value=3,
        examples=200,
        max_faults=6,
        sweep=False,
        shrink_runs=0,
        progress=quiet,
    )
    first = result.first_violation()
    assert result.minimal is first
    assert result.budget_spent
    assert result.examples[-1].observation.verdict != VIOLATION or result.runs == first.number


def test_bad_input_mid_search_ends_it_without_more_runs() -> None:
    class Refusing(ModelRunner):
        def run(self, scenario: Scenario) -> Observation:
            super().run(scenario)
            raise ConfigError("app.command: no such program")

    runner = Refusing()
    with pytest.raises(ConfigError, match="no such program"):
        explore(base(), runner, sweep=False, progress=quiet)
    assert len(runner.plans) == 1


def test_a_baseline_that_already_fails_is_the_minimal_reproduction() -> None:
    class Broken(ModelRunner):
        def discover(self, base: Scenario) -> tuple[Observation, FaultSpace]:
            return Observation(VIOLATION, ("nothing-lost FAIL: 6 of 6 lost",)), SPACE

    result = explore(base("loses-orders"), Broken(), progress=quiet)
    assert result.minimal is not None and len(result.minimal.plan) == 0
    assert result.minimal.phase == "baseline"


def test_every_example_gets_its_own_scenario_name() -> None:
    runner = ModelRunner(broken=False)
    explore(base("correct"), runner, progress=quiet)
    assert len(set(runner.names)) == len(runner.names)


def test_load_profiles_and_bad_budgets_are_refused() -> None:
    text = "name: x\nworkload: {load: {users: 2, duration: 5}}\n"
    with pytest.raises(ConfigError, match="not load profiles"):
        explore(parse_scenario(text), ModelRunner(), progress=quiet)
    with pytest.raises(ConfigError, match="max-faults"):
        explore(base(), ModelRunner(), max_faults=0, progress=quiet)


# -- the strategies --------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(plan=fault_schedules(SPACE, max_faults=5))
def test_generated_plans_stay_inside_the_space(plan: FaultPlan) -> None:
    assert 1 <= len(plan) <= 5
    names = [fp.name for fp in plan.failpoints]
    assert len(names) == len(set(names))
    for fp in plan.failpoints:
        assert 1 <= fp.nth <= SPACE.failpoints[fp.name]
        assert fp.count == 1
        assert fp.seconds <= SPACE.max_seconds
    for spec in plan.faults:
        assert "at" not in spec.trigger and "between" not in spec.trigger
        if "failpoint" in spec.trigger:
            assert spec.trigger["nth"] <= SPACE.failpoints[spec.trigger["failpoint"]]
        if "completed" in spec.trigger:
            assert 1 <= spec.trigger["completed"] <= SPACE.orders
        if spec.action == "soft-restart":
            assert spec.target == "daprd"
        if spec.action in ("kill", "pause", "down", "latency", "reset-peer"):
            assert spec.duration in DURATIONS
    # Every plan is a valid scenario, equal to what its own YAML loads back to.
    scenario = plan.apply(base(), "gen")
    again = parse_scenario(scenario.as_yaml())
    assert FaultPlan.from_scenario(again) == FaultPlan.from_scenario(scenario)
    assert again.schedule == scenario.schedule


@given(st.data())
def test_a_narrowed_space_only_offers_what_was_asked(data: st.DataObject) -> None:
    space = SPACE.restricted(kinds=("failpoint",), failpoints={"charge_payment.after_effect": 2})
    plan = data.draw(fault_schedules(space, max_faults=3))
    assert not plan.faults
    assert {fp.name for fp in plan.failpoints} == {"charge_payment.after_effect"}


def test_wall_clock_triggers_only_when_asked() -> None:
    space = FaultSpace(failpoints={}, kinds=("member",), times=True, horizon=2.0)

    @settings(max_examples=100, deadline=None)
    @given(plan=fault_schedules(space, max_faults=3))
    def check(plan: FaultPlan) -> None:
        for spec in plan.faults:
            assert "failpoint" not in spec.trigger
            if "at" in spec.trigger:
                assert 0 <= spec.trigger["at"] <= 2.0

    check()


def test_a_plan_keeps_the_first_arming_of_a_failpoint() -> None:
    first = Failpoint("charge_payment.after_effect", "crash")
    plan = FaultPlan.of(
        [
            first,
            Failpoint("charge_payment.after_effect", "raise"),
            FaultSpec("restart", "app", {"completed": 1}),
        ]
    )
    assert plan.failpoints == (first,) and len(plan) == 2
    assert plan.describe() == [
        "failpoint charge_payment.after_effect: crash on hit 1",
        "restart app once 1 orders are terminal",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kinds": ("nemesis",)}, "unknown fault kind"),
        ({"member_actions": ("explode",)}, "unknown member action"),
        ({"links": ("app->valkey",)}, "unknown link"),
        ({"failpoints": {"x": 0}}, "hit counts must be >= 1"),
        ({"orders": 0}, "orders must be >= 1"),
        ({"max_seconds": 0.1}, "max_seconds"),
        ({"kinds": ("failpoint",), "failpoints": {}}, "the fault space is empty"),
    ],
)
def test_a_bad_fault_space_is_one_clear_error(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SPACE.restricted(**changes)


def test_failpoint_patterns_narrow_and_a_pattern_that_matches_nothing_is_an_error() -> None:
    narrow = restriction(("failpoint",), ["charge_*", "reserve_stock.after_effect"])
    space = narrow(SPACE)
    assert sorted(space.failpoints) == [
        "charge_payment.after_effect",
        "charge_payment.before_effect",
        "reserve_stock.after_effect",
    ]
    with pytest.raises(ConfigError, match="matches none of the app's failpoints"):
        restriction(None, ["payment.*"])(SPACE)


def test_every_failpoint_can_only_be_traced() -> None:
    Failpoint("*", "trace", count=None)
    with pytest.raises(ConfigError, match="only be armed to trace"):
        Failpoint("*", "crash")


def test_bad_strategy_bounds_are_refused() -> None:
    with pytest.raises(ConfigError, match="max_faults"):
        fault_schedules(SPACE, min_faults=3, max_faults=2)


# -- deploys ---------------------------------------------------------------------------

V = "harness.reference_apps.orders.versions:"
HOSTED = f"""
name: explore-deploys
app: {{workflows: "{V}v1_named"}}
workload:
  workflow: order_processing
  instances: 4
  inputs: [{{customerId: c, productId: p-001, quantity: 1, totalAmount: 1.0}}]
"""


def test_deploys_switch_between_the_versions_back_and_forth() -> None:
    versions = (V + "v1_named", V + "v2_named", V + "v2_dropped")
    space = FaultSpace(
        failpoints={"charge_payment.before": 4}, kinds=("deploy",), versions=versions
    )
    hosted = parse_scenario(HOSTED, "h.yaml")
    seen: set[tuple[str, str]] = set()

    @settings(max_examples=150, deadline=None)
    @given(plan=fault_schedules(space, max_faults=3))
    def check(plan: FaultPlan) -> None:
        assert not plan.failpoints
        for spec in plan.faults:
            assert (spec.action, spec.target, spec.duration) == ("deploy", "app", None)
            assert spec.params["workflows"] in versions
            assert 0 <= spec.params["seconds"] <= space.max_seconds
            seen.add((spec.params["workflows"], spec.params["mode"]))
        again = plan.apply(hosted, "gen")  # a valid scenario, deploys and all
        assert FaultPlan.from_scenario(again) == plan

    check()
    # Every version, the app's own included (the way back), with a gap and an overlap.
    assert {v for v, _ in seen} == set(versions) and {m for _, m in seen} == {"gap", "overlap"}
    # Without a second version there is nothing to deploy.
    with pytest.raises(ConfigError, match="the fault space is empty"):
        space.restricted(versions=versions[:1])
    with pytest.raises(ConfigError, match="MODULE:ATTR"):
        space.restricted(versions=(versions[0], "nomodule"))


def test_deploy_versions_start_with_the_apps_own_and_are_checked_before_any_run() -> None:
    from harness.explore.runner import deploy_versions

    hosted = parse_scenario(HOSTED, "h.yaml")
    assert deploy_versions(hosted, []) == ()
    assert deploy_versions(hosted, [V + "v2_named", V + "v2_named"]) == (
        V + "v1_named",
        V + "v2_named",
    )
    with pytest.raises(ConfigError, match="No module named 'no_such_module'"):
        deploy_versions(hosted, ["no_such_module:v2"])
    with pytest.raises(ConfigError, match="is the app's own version"):
        deploy_versions(hosted, [V + "v1_named"])
    with pytest.raises(ConfigError, match="swaps the workflows the harness hosts"):
        deploy_versions(base(), [V + "v2_named"])  # the built-in order app


def test_a_base_scenarios_raise_events_stay_in_every_plan_and_are_never_faults() -> None:
    from harness.faults.raise_event import RaiseEvent

    signals = parse_scenario(
        """
name: waits
app: {workflows: "tests.apps.python.signals:wfr"}
workload: {workflow: await_signal, instances: 2}
faults:
  - {action: kill, target: app, trigger: {completed: 1}, duration: 1}
  - {action: raise-event, trigger: {failpoint: prepare.after, nth: 2}, params: {event: go}}
""",
        "w.yaml",
    )
    plan = FaultPlan.from_scenario(signals)
    assert [f.action for f in plan.faults] == ["kill"]  # the step is the workload's
    crash = FaultPlan((Failpoint("prepare.after", "crash"),))
    run = crash.apply(signals, "gen")
    assert [f.action for f in run.faults] == ["raise-event"]
    assert isinstance(run.schedule.events[0].fault, RaiseEvent)
    assert [fp.name for fp in FaultPlan.from_scenario(run).failpoints] == ["prepare.after"]
