"""``dapr-chaos explore``: search fault schedules on a real stack, shrink a violation,
write it as a scenario file that ``dapr-chaos run`` reproduces.

Exit status: 0 no violation found within the budget; 1 a violation was found (its
minimal scenario is written); 2 bad input (options, scenario file), before anything
starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli import options
from harness.explore.profiles import EXPLORE_PROFILES
from harness.faults.fault import FAULT_KINDS
from harness.report.journal import new_report_dir, point_latest
from harness.report.writer import write_report
from harness.runtime.images import IMAGE_SETS
from harness.scenario.campaign import Campaign
from harness.scenario.model import REFERENCE_VARIANTS
from harness.scenario.parse import load_scenario
from harness.settings import Settings
from harness.stack.config import BACKENDS

if TYPE_CHECKING:
    # Hypothesis is imported only when a search runs: the CLI starts faster without it.
    from harness.explore.search import Exploration

Say = Callable[[str], None]


def _say(line: str) -> None:
    print(line, flush=True)


def explore_command(args: argparse.Namespace, settings: Settings, say: Say = _say) -> int:
    """Everything ``dapr-chaos explore`` does; returns the exit status."""
    from harness.explore.runner import (
        KNOWN_PREFIX,
        StackRunner,
        base_scenario,
        deploy_versions,
        restriction,
    )
    from harness.explore.search import explore, verdict_label
    from harness.explore.strategies import workload_steps

    profile = EXPLORE_PROFILES[args.profile]
    base = base_scenario(args.scenario, args.variant, args.orders)
    if not getattr(args, "verbose", False):
        # One line per run is the progress here; the per-fault log lines need -v.
        logging.getLogger("harness").setLevel(logging.WARNING)
    steps = workload_steps(base)
    if len(base.faults) > len(steps) or base.failpoints:
        say(f"note: {args.scenario} has faults of its own; explore replaces them")
    if steps:
        say(
            f"note: {args.scenario} keeps its {len(steps)} raise-event step(s) in every run "
            "(the workload's, not faults)"
        )
    versions = deploy_versions(base, args.deploy or ())
    if versions and "stalled" not in base.checks:
        # A deploy's typical failure is a stall: judged by name, with its reason.
        base = dataclasses.replace(base, checks=(*base.checks, "stalled"))
    narrow = restriction(args.kinds, args.failpoints, versions)
    report = new_report_dir(Path(args.report), f"explore-{base.name}")
    started = time.time()
    say(f"explore {base.name} ({base.app.describe()}), profile {profile.name}; report: {report}")
    if versions:
        say(f"deploys back and forth between: {', '.join(versions)}")

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
            counts = ", ".join(
                f"{n} {verdict_label(v)}"
                for v, n in sorted(result.counts().items(), key=lambda item: item[0].value)
            )
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
    from harness.explore.runner import minimal_scenario, observation_of

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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``explore`` to the CLI's subcommands."""
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
        type=options.comma_list(FAULT_KINDS, "fault kind(s)"),
        help=f"fault kinds to draw, comma-separated: {','.join(FAULT_KINDS)} (default: all)",
    )
    p.add_argument(
        "--failpoints",
        action="append",
        metavar="PATTERN",
        help="only failpoints matching this shell pattern (repeatable), e.g. 'charge_*'",
    )
    p.add_argument(
        "--deploy",
        action="append",
        metavar="MODULE:ATTR",
        help="another version of the hosted app's workflows (repeatable): generated "
        "schedules deploy it and the app's own back, with a gap or an overlap",
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
    p.set_defaults(func=explore_command)
