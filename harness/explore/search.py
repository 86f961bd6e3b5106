"""Search fault schedules for one that breaks a check, and shrink it.

The search is a Hypothesis test over :func:`harness.strategies.fault_schedules`: one
example is one run of the base scenario with the example's faults (through an
:class:`ExampleRunner`, normally a campaign on a reused stack). An example whose run ends
with a check that FAILs is a violation; Hypothesis then shrinks it, each candidate again a
real run, towards fewer and simpler faults. A run the harness could not carry out (a
fault that hit nothing) or whose checks could not decide is not a violation: it is
reported, never counted as one.

Before generating, a single-fault sweep tries a crash at each failpoint alone (the
schedules that catch most non-idempotent effects, one run each). Runs are cached by
plan, so Hypothesis's replays of an example cost nothing. After the first violation at
most ``shrink_runs`` new runs are spent on shrinking; candidates past that budget count as
not reproducing, which ends the shrink with the smallest violation found so far.

The search depends on its seed only (no example database): the same seed, space and
outcomes give the same schedules.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import example, given, note, seed, settings
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter

from harness.checks.result import Verdict
from harness.errors import ConfigError, HarnessError
from harness.explore.profiles import EXPLORE_PROFILES, ExploreProfile
from harness.explore.strategies import FaultPlan, FaultSpace, fault_schedules, single_fault_sweep
from harness.scenario.model import Scenario

Progress = Callable[[str], None]

# An example's verdict: a FAILed check is a violation.
VIOLATION, PASS, UNKNOWN, ERROR, SKIPPED = (
    Verdict.FAIL,
    Verdict.PASS,
    Verdict.UNKNOWN,
    Verdict.ERROR,
    Verdict.SKIPPED,
)


def verdict_label(verdict: Verdict) -> str:
    """How explore's log names a verdict: a FAIL is a "violation"."""
    return "violation" if verdict is Verdict.FAIL else verdict.value


@dataclass(frozen=True)
class Observation:
    """What one run showed. ``verdict``: FAIL, a violation (a check failed); PASS;
    UNKNOWN (a check could not decide); ERROR (the harness could not carry the run out);
    SKIPPED (past the shrink budget: not run). ``findings``: one line per failed or undecided
    check, or the error. ``seconds``: wall time of the run."""

    verdict: Verdict
    findings: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def violation(self) -> bool:
        return self.verdict == VIOLATION

    def summary(self) -> str:
        head = verdict_label(self.verdict).upper()
        return f"{head}: {self.findings[0]}" if self.findings else head


class ExampleRunner(Protocol):
    """Runs scenarios for a search (the real one: :class:`harness.explore.runner.StackRunner`)."""

    def discover(self, base: Scenario) -> tuple[Observation, FaultSpace]:
        """Run ``base`` without faults, tracing every failpoint: the baseline, and the
        space of what its stack offers (failpoints with hit counts, members, links)."""
        ...

    def run(self, scenario: Scenario) -> Observation:
        """Run one scenario (a unique name per call: its instance ids derive from it)."""
        ...


@dataclass
class Example:
    """One run of the search. ``phase``: baseline, sweep, generate or shrink."""

    number: int
    phase: str
    plan: FaultPlan
    observation: Observation

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "phase": self.phase,
            "faults": len(self.plan),
            "schedule": self.plan.describe() if len(self.plan) else [],
            "verdict": verdict_label(self.observation.verdict),
            "findings": list(self.observation.findings),
            "seconds": round(self.observation.seconds, 2),
        }


@dataclass
class Exploration:
    """The result of a search. ``minimal`` is the smallest violation found (None: none)."""

    seed: int
    profile: ExploreProfile
    base: Scenario
    space: FaultSpace | None = None
    baseline: Observation | None = None
    examples: list[Example] = field(default_factory=list)
    minimal: Example | None = None
    budget_spent: bool = False
    flaky: bool = False
    report: list[str] = field(default_factory=list)  # Hypothesis's own report lines

    @property
    def found(self) -> bool:
        return self.minimal is not None

    @property
    def runs(self) -> int:
        return sum(1 for e in self.examples if e.observation.verdict != SKIPPED)

    def counts(self) -> dict[Verdict, int]:
        out: dict[Verdict, int] = {}
        for e in self.examples:
            out[e.observation.verdict] = out.get(e.observation.verdict, 0) + 1
        return out

    def first_violation(self) -> Example | None:
        return next((e for e in self.examples if e.observation.violation), None)

    def to_dict(self) -> dict[str, Any]:
        first = self.first_violation()
        return {
            "seed": self.seed,
            "profile": self.profile.name,
            "examples_budget": self.profile.examples,
            "shrink_runs_budget": self.profile.shrink_runs,
            "base_scenario": self.base.name,
            "space": None if self.space is None else _space_dict(self.space),
            "runs": self.runs,
            "verdicts": {verdict_label(v): n for v, n in self.counts().items()},
            "found": self.found,
            "first_violation_faults": len(first.plan) if first else None,
            "minimal": self.minimal.to_dict() if self.minimal else None,
            "shrink_budget_spent": self.budget_spent,
            "flaky": self.flaky,
            "examples": [e.to_dict() for e in self.examples],
            "hypothesis_report": self.report,
        }


def _space_dict(space: FaultSpace) -> dict[str, Any]:
    return {
        "failpoints": dict(sorted(space.failpoints.items())),
        "members": list(space.members),
        "links": list(space.links),
        "orders": space.orders,
        "kinds": list(space.kinds),
        "times": space.times,
        "versions": list(space.versions),
    }


class _Violation(AssertionError):
    """Raised inside the Hypothesis test when a run broke a check."""


def pick_seed(profile: ExploreProfile, given_seed: int | None) -> int:
    if given_seed is not None:
        return given_seed
    if profile.seed is not None:
        return profile.seed
    return random.SystemRandom().randrange(2**32)


def explore(
    base: Scenario,
    runner: ExampleRunner,
    *,
    profile: ExploreProfile = EXPLORE_PROFILES["ci"],
    seed_value: int | None = None,
    examples: int | None = None,
    max_faults: int = 4,
    sweep: bool | None = None,
    shrink_runs: int | None = None,
    restrict: Callable[[FaultSpace], FaultSpace] | None = None,
    progress: Progress = print,
) -> Exploration:
    """Search for a schedule of at most ``max_faults`` faults that makes a check of
    ``base`` fail; shrink the first found. ``restrict`` narrows the discovered space
    (kinds, failpoint names). ``examples``, ``sweep`` and ``shrink_runs`` override the
    profile's. Bad input (ConfigError) and missing binaries propagate."""
    if base.workload.load is not None:
        raise ConfigError(
            f"{base.path or base.name}: explore runs order workloads (workload.orders), not "
            "load profiles: one example must be a short run"
        )
    if max_faults < 1:
        raise ConfigError(f"--max-faults must be >= 1, got {max_faults}")
    profile = ExploreProfile(
        profile.name,
        examples if examples is not None else profile.examples,
        profile.sweep if sweep is None else sweep,
        shrink_runs if shrink_runs is not None else profile.shrink_runs,
        profile.seed,
    )
    if profile.examples < 1 or profile.shrink_runs < 0:
        raise ConfigError("examples must be >= 1 and shrink runs >= 0")
    result = Exploration(pick_seed(profile, seed_value), profile, base)

    progress("baseline: the scenario without faults, tracing every failpoint ...")
    baseline, space = runner.discover(base)
    result.baseline = baseline
    progress(f"baseline: {baseline.summary()} in {baseline.seconds:.1f}s")
    if baseline.verdict == ERROR:
        raise HarnessError(
            f"the scenario does not run even without faults: {baseline.findings[0]}"
            if baseline.findings
            else "the scenario does not run even without faults"
        )
    if baseline.violation:
        result.minimal = Example(0, "baseline", FaultPlan(), baseline)
        result.examples.append(result.minimal)
        return result
    space = restrict(space) if restrict else space
    result.space = space
    hits = ", ".join(f"{n} x{c}" for n, c in sorted(space.failpoints.items())) or "none"
    progress(f"fault space ({', '.join(space.kinds)}): failpoints (hits per run) {hits}")
    progress(
        f"  members {', '.join(space.members) or 'none'}; links {', '.join(space.links) or 'none'}"
        + (f"; versions {', '.join(space.versions)}" if space.versions else "")
    )

    _Search(result, runner, space, max_faults, progress).run()
    return result


class _Search:
    """The Hypothesis test and its bookkeeping for one :func:`explore`."""

    def __init__(
        self,
        result: Exploration,
        runner: ExampleRunner,
        space: FaultSpace,
        max_faults: int,
        progress: Progress,
    ) -> None:
        self.result = result
        self.runner = runner
        self.space = space
        self.max_faults = max_faults
        self.progress = progress
        self.cache: dict[str, Observation] = {}
        self.sweep = single_fault_sweep(space) if result.profile.sweep else []
        self.sweep_keys = {plan.key() for plan in self.sweep}
        self.shrink_started: int | None = None
        self.fatal: BaseException | None = None
        self.last_violation: str | None = None

    def run(self) -> None:
        result = self.result
        profile = result.profile
        test = given(plan=fault_schedules(self.space, max_faults=self.max_faults))(self.test)
        for plan in reversed(self.sweep):
            test = example(plan=plan)(test)
        test = seed(result.seed)(test)
        test = settings(profile.hypothesis(), max_examples=profile.examples)(test)
        if self.sweep:
            self.progress(f"sweep: a crash at each of {len(self.sweep)} failpoints, alone")
        try:
            with with_reporter(lambda value: result.report.append(str(value))):
                test()
        except _Violation:
            pass
        except Flaky:
            result.flaky = True
        if self.fatal is not None:
            raise self.fatal
        violations = [e for e in result.examples if e.observation.violation]
        if violations:
            # The fewest faults; among those, the example Hypothesis ended on (its final
            # replay is the last violation it saw), else the latest.
            fewest = min(len(e.plan) for e in violations)
            smallest = [e for e in violations if len(e.plan) == fewest]
            ended_on = [e for e in smallest if e.plan.key() == self.last_violation]
            result.minimal = (ended_on or smallest)[-1]

    def test(self, plan: FaultPlan) -> None:
        if self.fatal is not None:
            raise self.fatal  # bad input met mid-search: end it without further runs
        observation = self.observe(plan)
        note("schedule: " + "; ".join(plan.describe()))
        note(f"outcome: {observation.summary()}")
        if observation.violation:
            self.last_violation = plan.key()
            raise _Violation(observation.summary())

    def observe(self, plan: FaultPlan) -> Observation:
        key = plan.key()
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        result = self.result
        phase = (
            "shrink"
            if self.shrink_started is not None
            else "sweep"
            if key in self.sweep_keys
            else "generate"
        )
        number = len(result.examples) + 1
        if phase == "shrink" and result.runs - (self.shrink_started or 0) >= (
            result.profile.shrink_runs
        ):
            result.budget_spent = True
            observation = Observation(SKIPPED, ("past the shrink budget: not run",))
            result.examples.append(Example(number, phase, plan, observation))
            return observation
        name = f"{result.base.name[:40]}-e{number}"
        self.progress(f"[{number}] {phase}: {len(plan)} fault(s): " + "; ".join(plan.describe()))
        started = time.monotonic()
        try:
            scenario = plan.apply(result.base, name)
            observation = self.runner.run(scenario)
        except HarnessError as exc:
            if exc.exit_status == 2:  # bad input (ConfigError, ProvisionError): fatal
                self.fatal = exc
                raise
            observation = Observation(ERROR, (str(exc).splitlines()[0],))
        if not observation.seconds:
            observation = Observation(
                observation.verdict, observation.findings, time.monotonic() - started
            )
        self.cache[key] = observation
        result.examples.append(Example(number, phase, plan, observation))
        self.progress(f"    {observation.summary()} ({observation.seconds:.1f}s)")
        if observation.violation and self.shrink_started is None:
            self.shrink_started = result.runs
            self.progress(
                f"found a violation with {len(plan)} fault(s); shrinking "
                f"(at most {result.profile.shrink_runs} more runs) ..."
            )
        return observation
