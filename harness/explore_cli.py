"""``dapr-chaos explore``: search fault schedules on a real stack, shrink a violation,
write it as a scenario file that ``dapr-chaos run`` reproduces.

Exit status: 0 no violation found within the budget; 1 a violation was found (its
minimal scenario is written); 2 bad input (options, scenario file), before anything
starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness import options
from harness.campaign import Campaign, ScenarioOutcome
from harness.checks.result import CheckResult, Verdict
from harness.errors import ConfigError
from harness.explore_profiles import EXPLORE_PROFILES
from harness.faults.failpoints import Failpoint
from harness.faults.fault import FAULT_KINDS, MEMBERS
from harness.faults.schedule import Schedule
from harness.report.journal import new_report_dir, point_latest
from harness.report.writer import write_report
from harness.runtime.images import IMAGE_SETS
from harness.scenario import REFERENCE_VARIANTS, Scenario, load_scenario, parse_scenario
from harness.settings import Settings
from harness.stack.stack import BACKENDS

if TYPE_CHECKING:
    # Hypothesis is imported only when a search runs: the CLI starts faster without it.
    from harness.explore import Exploration, Observation
    from harness.strategies import FaultSpace

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

Say = Callable[[str], None]


def _say(line: str) -> None:
    print(line, flush=True)


def observation_of(outcome: ScenarioOutcome) -> Observation:
    """A campaign outcome as the search sees it: a FAILed check is a violation."""
    from harness.explore import ERROR, PASS, UNKNOWN, VIOLATION, Observation

    seconds = outcome.duration
    if outcome.verdict == "error":
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
            faults=(),
            schedule=Schedule(
                (),
                chaos_timeout=base.schedule.chaos_timeout,
                verify_deadline=base.schedule.verify_deadline,
            ),
        )
        from harness.strategies import FaultSpace

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
    kinds: Sequence[str] | None, patterns: Sequence[str] | None
) -> Callable[[FaultSpace], FaultSpace]:
    """Narrow a discovered space to ``kinds`` and to failpoints matching ``patterns``
    (shell-style). A pattern that matches no discovered failpoint is bad input."""

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
        return space.restricted(failpoints=points, kinds=tuple(kinds or space.kinds))

    return narrow


def base_scenario(path: Path | None, variant: str | None, orders: int | None) -> Scenario:
    """The scenario whose app, workload, checks and timeouts every example uses."""
    if path is None:
        text = DEFAULT_BASE.format(variant=variant or "correct", orders=orders or 6)
        return parse_scenario(text, "<explore default scenario>")
    base = load_scenario(path)
    if variant is not None:
        if base.app.command is not None:
            raise ConfigError(
                f"--variant applies to the reference app; {path} runs {base.app.describe()}"
            )
        base = dataclasses.replace(base, app=dataclasses.replace(base.app, variant=variant))
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


def explore_command(args: argparse.Namespace, settings: Settings, say: Say = _say) -> int:
    """Everything ``dapr-chaos explore`` does; returns the exit status."""
    from harness.explore import explore

    profile = EXPLORE_PROFILES[args.profile]
    base = base_scenario(args.scenario, args.variant, args.orders)
    if not getattr(args, "verbose", False):
        # One line per run is the progress here; the per-fault log lines need -v.
        logging.getLogger("harness").setLevel(logging.WARNING)
    if base.faults or base.failpoints:
        say(f"note: {args.scenario} has faults of its own; explore replaces them")
    narrow = restriction(args.kinds, args.failpoints)
    report = new_report_dir(Path(args.report), f"explore-{base.name}")
    started = time.time()
    say(f"explore {base.name} ({base.app.describe()}), profile {profile.name}; report: {report}")

    def campaign_line(line: str) -> None:
        if line.strip() not in ("chaos ...", "heal ...", "verify ..."):
            say("  " + line)

    backend = args.backend
    with Campaign(
        report, settings=settings, progress=campaign_line, backend=backend, images=args.images
    ) as campaign:
        runner = StackRunner(campaign)
        result = explore(
            base,
            runner,
            profile=profile,
            seed_value=args.seed,
            examples=args.examples,
            max_faults=args.max_faults,
            sweep=False if args.no_sweep else None,
            shrink_runs=args.shrink_runs,
            restrict=narrow,
            progress=say,
        )
        say(f"seed: {result.seed} (run again with --seed {result.seed} for the same schedules)")
        summary = result.to_dict()
        if result.found:
            status = _report_found(result, campaign, report, args, started, say)
            summary["reproduced"] = status
        else:
            counts = ", ".join(f"{n} {v}" for v, n in sorted(result.counts().items()))
            say(f"no violation in {result.runs} run(s) ({counts})")
        known = [
            e
            for e in result.examples
            if any(f.startswith(KNOWN_PREFIX) for f in e.observation.findings)
        ]
        if known:
            say(
                "known upstream findings (Dapr's, recovered from, not counted) in run(s) "
                + ", ".join(str(e.number) for e in known)
                + f": {known[0].observation.findings[0][len(KNOWN_PREFIX) :][:200]}"
            )
    (report / "explore.json").write_text(json.dumps(summary, indent=2) + "\n")
    point_latest(report)
    say(f"search log: {report / 'explore.json'}")
    return 1 if result.found else 0


def _report_found(
    result: Exploration,
    campaign: Campaign,
    report: Path,
    args: argparse.Namespace,
    started: float,
    say: Say,
) -> str:
    """Write the minimal scenario, re-run it from the file, write the report."""
    assert result.minimal is not None
    found = result.minimal
    say("")
    say(f"minimal schedule ({len(found.plan)} fault(s)), from run {found.number}:")
    for line in found.plan.describe():
        say(f"  - {line}")
    for finding in found.observation.findings:
        say(f"violation: {finding}")
    if result.budget_spent:
        say("note: the shrink budget ran out; a smaller schedule may exist (--shrink-runs)")
    if result.flaky:
        say("note: Hypothesis saw this failure come and go (timing-dependent faults)")
    scenario = minimal_scenario(result)
    paths = [report / "minimal.scenario.yaml"]
    if args.out is not None:
        paths.append(args.out)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(scenario.as_yaml())
    target = paths[-1]
    say(f"scenario: {target}")
    say(f"reproduce: dapr-chaos run {target}")
    say("re-running it from the file ...")
    outcome = campaign.run(load_scenario(target))
    page = write_report(
        report,
        [outcome],
        name=f"explore-{result.base.name}",
        started=started,
        ended=time.time(),
        command=["dapr-chaos", *sys.argv[1:]],
    )
    again = observation_of(outcome)
    if again.violation:
        say(f"reproduced: yes ({again.findings[0]})")
        status = "yes"
    else:
        say(f"reproduced: no, the re-run was {again.summary()} (timing-dependent: try --repeat)")
        status = "no"
    say(f"report: {page}")
    return status


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "explore",
        help="search generated fault schedules for a violation, shrink it, write a scenario",
        description="Generate fault schedules (Hypothesis) from what the stack offers, run "
        "each as one scenario on a reused stack, shrink the first violation to the "
        "smallest schedule that still breaks a check, and write it as a scenario file. "
        "Exit 0: nothing found; 1: a violation (scenario written); 2: bad input.",
    )
    p.add_argument(
        "--scenario",
        type=Path,
        help="base scenario file: its app, workload, checks and timeouts (its own faults are "
        "replaced); default: the reference app with 6 orders",
    )
    p.add_argument(
        "--variant",
        choices=REFERENCE_VARIANTS,
        help="reference app variant (e.g. payment-not-idempotent, to see a finding)",
    )
    p.add_argument("--orders", type=options.positive_int, help="orders per run")
    p.add_argument(
        "--profile",
        choices=tuple(EXPLORE_PROFILES),
        default="ci",
        help="ci: 10 examples, seed 0 unless given; deep: 200 examples, random seed",
    )
    p.add_argument("--examples", type=options.positive_int, help="generated examples to run")
    p.add_argument("--seed", type=int, help="search seed (printed either way)")
    p.add_argument(
        "--max-faults", type=options.positive_int, default=4, help="faults per schedule (4)"
    )
    p.add_argument(
        "--kinds",
        type=_kinds,
        help=f"fault kinds to draw, comma-separated: {','.join(FAULT_KINDS)} (default: all)",
    )
    p.add_argument(
        "--failpoints",
        action="append",
        metavar="PATTERN",
        help="only failpoints matching this shell pattern (repeatable), e.g. 'charge_*'",
    )
    p.add_argument(
        "--no-sweep", action="store_true", help="skip the single-crash sweep of every failpoint"
    )
    p.add_argument(
        "--shrink-runs",
        type=options.non_negative_int,
        help="most runs spent shrinking a violation (profile default: ci 40, deep 300)",
    )
    p.add_argument("--out", type=Path, help="also write the minimal scenario to this file")
    p.add_argument("--report", default="reports", help="report root directory (default: reports)")
    p.add_argument("--backend", choices=BACKENDS, default=None, help="override the backend")
    p.add_argument("--images", choices=IMAGE_SETS, default=None, help="containers: image set")


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in FAULT_KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(
            f"unknown fault kind(s) {bad or text!r}; choose from {', '.join(FAULT_KINDS)}"
        )
    return kinds
