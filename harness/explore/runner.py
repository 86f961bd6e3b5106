"""The engine half of ``dapr-chaos explore``: examples run as scenarios of one campaign
on a reused stack, the base scenario, the restriction of the discovered space, and the
minimal scenario written back from a found violation."""

from __future__ import annotations

import dataclasses
import fnmatch
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.checks.result import CheckResult, Verdict
from harness.errors import ConfigError
from harness.explore.search import ERROR, PASS, UNKNOWN, VIOLATION, Exploration, Observation
from harness.explore.strategies import FaultSpace, workload_steps
from harness.faults.deploy import Deploy
from harness.faults.failpoints import Failpoint
from harness.faults.fault import MEMBERS
from harness.faults.raise_event import RaiseEvent
from harness.faults.schedule import Schedule
from harness.scenario.campaign import Campaign, app_spec
from harness.scenario.model import Scenario
from harness.scenario.outcome import ScenarioOutcome
from harness.scenario.parse import load_scenario, parse_scenario
from harness.stack.app_check import check_hosted_code
from harness.stack.config import StackConfig

EVERY_FAILPOINT = "*"
KNOWN_PREFIX = "known upstream finding: "

# The search's default base: the reference app, a short workload (one example is one run).
DEFAULT_BASE = """\
name: explore
description: The reference order app under generated fault schedules.
seed: 7
app: {{variant: {variant}}}
workload: {{orders: {orders}, concurrency: 3}}
timeouts: {{chaos: 30, verify: 60}}
"""


def observation_of(outcome: ScenarioOutcome) -> Observation:
    """A campaign outcome as the search sees it: a FAILed check is a violation."""
    seconds = outcome.duration
    if outcome.verdict is Verdict.ERROR:
        first = (outcome.error or "the harness could not carry the run out").splitlines()[0]
        return Observation(ERROR, (first,), seconds)
    failed = [c for c in outcome.checks if c.verdict is Verdict.FAIL]
    if failed:
        return Observation(VIOLATION, tuple(_finding(c) for c in failed), seconds)
    undecided = [c for c in outcome.checks if c.verdict is Verdict.UNKNOWN]
    if undecided:
        return Observation(UNKNOWN, tuple(_finding(c) for c in undecided), seconds)
    # Dapr's own bugs the harness recognised and recovered from: not the app's violation.
    known = [f"{KNOWN_PREFIX}{line[:300]}" for line in outcome.metrics.get("known_findings", [])]
    return Observation(PASS, tuple(known), seconds)


def _finding(check: CheckResult) -> str:
    """``name VERDICT: summary: first evidence line`` (the evidence names the order)."""
    line = f"{check.name} {check.verdict.value.upper()}: {check.summary}"
    if check.evidence:
        line += f": {check.evidence[0]}"
    return line if len(line) <= 400 else line[:397] + "..."


class StackRunner:
    """Examples as scenario runs of one campaign: a stack reused while runs pass."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.outcomes: list[ScenarioOutcome] = []

    def run(self, scenario: Scenario) -> Observation:
        outcome = self.campaign.run(scenario)
        self.outcomes.append(outcome)
        return observation_of(outcome)

    def discover(self, base: Scenario) -> tuple[Observation, FaultSpace]:
        traced = dataclasses.replace(
            base,
            name=f"{base.name[:39]}-baseline",
            failpoints=(Failpoint(EVERY_FAILPOINT, "trace", count=None),),
            faults=workload_steps(base),
            schedule=Schedule(
                tuple(e for e in base.schedule.events if isinstance(e.fault, RaiseEvent)),
                chaos_timeout=base.schedule.chaos_timeout,
                verify_deadline=base.schedule.verify_deadline,
            ),
        )
        outcome = self.campaign.run(traced)
        self.outcomes.append(outcome)
        hits = Counter(h.name for h in outcome.hits)
        stack = self.campaign.stack
        members = tuple(m for m in MEMBERS if stack is None or m in stack.members)
        links: tuple[str, ...] = ()
        if stack is not None and stack.topology is not None:
            links = tuple(sorted(stack.topology.proxied))
        space = FaultSpace(
            failpoints=dict(hits), members=members, links=links, orders=base.workload.orders
        )
        return observation_of(outcome), space


def restriction(
    kinds: Sequence[str] | None,
    patterns: Sequence[str] | None,
    versions: Sequence[str] = (),
) -> Callable[[FaultSpace], FaultSpace]:
    """Narrow a discovered space to ``kinds`` and to failpoints matching ``patterns``
    (shell-style), and give it the code ``versions`` to deploy (the app's own first).
    A pattern that matches no discovered failpoint is bad input."""

    def narrow(space: FaultSpace) -> FaultSpace:
        points = dict(space.failpoints)
        if patterns:
            for pattern in patterns:
                if not any(fnmatch.fnmatchcase(n, pattern) for n in points):
                    raise ConfigError(
                        f"--failpoints {pattern!r} matches none of the app's failpoints: "
                        + (", ".join(sorted(points)) or "it hit none in the baseline run")
                    )
            points = {
                n: c for n, c in points.items() if any(fnmatch.fnmatchcase(n, p) for p in patterns)
            }
        return space.restricted(
            failpoints=points, kinds=tuple(kinds or space.kinds), versions=tuple(versions)
        )

    return narrow


def deploy_versions(base: Scenario, given: Sequence[str]) -> tuple[str, ...]:
    """The versions deploy faults switch between: the base app's own, then ``given``
    (``--deploy``), each once; () without any. ConfigError when the base app does not
    host its workflows (a deploy swaps hosted code) or a version does not import or
    registers no workflow, before any stack starts."""
    if not given:
        return ()
    app = base.app
    if not app.hosted or app.workflows is None:
        raise ConfigError(
            f"--deploy swaps the workflows the harness hosts; the base scenario runs "
            f"{app.describe()}: give a --scenario whose app is workflows: MODULE:ATTR"
        )
    versions = tuple(dict.fromkeys((app.workflows, *given)))
    if len(versions) < 2:
        raise ConfigError(f"--deploy {given[0]} is the app's own version: name another one")
    spec = app_spec(base)
    for version in versions[1:]:
        check_hosted_code(Deploy(workflows=version).spec_for(spec), StackConfig().app_id)
    return versions


def base_scenario(path: Path | None, variant: str | None, orders: int | None) -> Scenario:
    """The scenario whose app, workload, checks and timeouts every example uses."""
    if path is None:
        text = DEFAULT_BASE.format(variant=variant or "correct", orders=orders or 6)
        return parse_scenario(text, "<explore default scenario>")
    base = load_scenario(path)
    if variant is not None:
        if not base.runs_reference_app:
            raise ConfigError(
                f"--variant applies to the reference app; {path} runs {base.app.describe()}"
            )
        base = base.with_variant(variant)
    if orders is not None:
        base = dataclasses.replace(base, workload=dataclasses.replace(base.workload, orders=orders))
    return base


def minimal_scenario(result: Exploration) -> Scenario:
    assert result.minimal is not None
    found = result.minimal
    first = result.first_violation()
    start = len(first.plan) if first else len(found.plan)
    description = (
        f"Found by dapr-chaos explore (seed {result.seed}, profile {result.profile.name}) "
        f"in {result.runs} runs; shrunk from {start} to {len(found.plan)} fault(s). "
        f"{found.observation.findings[0] if found.observation.findings else ''}"
    ).strip()
    name = f"{result.base.name[:38]}-minimal"
    return found.plan.apply(result.base, name, description[:600])
