"""Detection: what catches each deliberately broken variant of the reference app, and how
fast; and the correct app's false alarms over the same scenarios. Measured in one run.

1. For each variant (``harness/reference_apps/orders/variants/``): the shipped scenarios
   in the fixed order of ``ORDER`` (broad and cheap first; shipped scenarios not listed
   there follow by name), the app overridden as ``dapr-chaos run --variant NAME`` does,
   on one campaign (a stack reused while scenarios pass), stopping at the first scenario
   a check FAILs. If none does: ``dapr-chaos explore --profile ci --variant NAME``.
   Seconds to the first detection count from the variant's start (its stack's start
   included) to the end of the failing run, or, for explore, to the line where it
   reports its first violation (after the scenarios' time). A run the harness could not
   carry out, or one that met Dapr's known worker-registration race, decides nothing:
   the next scenario runs.
2. The correct app over the same scenarios, once each: a scenario FAIL is a false alarm;
   a run where the harness recognised a known upstream race (and recovered) is counted
   apart, and so is a run the harness could not carry out (ERROR).

Targets ("trust every verdict"): every variant detected, each within 60 s; 0 false alarms.
Nothing is asserted on times: the table prints what was measured.
Usage: ``.venv/bin/python bench/detection.py [--variants a,b] [--no-explore] [--json F]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.checks.result import Verdict
from harness.cli.run import DEFAULT_SCENARIOS
from harness.scenario.campaign import Campaign
from harness.scenario.model import REFERENCE_VARIANTS, Scenario
from harness.scenario.outcome import ScenarioOutcome
from harness.scenario.parse import load_all

ROOT = Path(__file__).resolve().parents[1]
ORDER = (
    "app-crash-after-payment",  # a crash right after a charge: effects, memory, lost orders
    "app-crash-after-refund",  # a crash right after a refund: the compensation's effects
    "daprd-restart-after-payment",  # a charge re-dispatched under a new task_execution_id
    "app-crash-every-activity",  # a crash after every step, and the replay check
    "activity-errors",  # an error in every activity
    "daprd-kill",  # the sidecar goes away: the worker must come back
    "baseline",  # 100 orders without faults, and the replay check
)
# Checks whose FAIL the registration race (and the harness's daprd restart to clear it)
# cannot cause in a correct app: the correct app passes them across any daprd restart.
RACE_PROOF = ("exactly-once", "conservation", "replay")
CLASSES = {  # for the table only: the kind of mistake each variant makes
    "payment-not-idempotent": "non-idempotent effects",
    "task-execution-key": "non-idempotent effects",
    "dedup-in-memory": "dedup in process memory",
    "refund-not-idempotent": "compensation",
    "refund-wrong-amount": "compensation",
    "no-compensation": "compensation",
    "swallows-store-errors": "swallowed errors",
    "notify-before-reserve": "ordering",
    "random-gateway": "non-determinism",
    "wall-clock-timer": "non-determinism",
    "replay-unsafe": "wrong output under replay",
    "loses-orders": "lost orders",
    "worker-quits": "worker lost",
}


@dataclass
class Detection:
    variant: str
    caught_by: str = "not caught"
    checks: list[str] = field(default_factory=list)
    evidence: str = ""
    seconds: float | None = None
    scenario_runs: int = 0
    errors: list[str] = field(default_factory=list)
    total_s: float = 0.0


def ordered(scenarios: list[Scenario]) -> list[Scenario]:
    by_name = {sc.name: sc for sc in scenarios}
    first = [by_name[name] for name in ORDER if name in by_name]
    return first + sorted((sc for sc in scenarios if sc.name not in ORDER), key=lambda s: s.name)


def failed_by_a_check(outcome: ScenarioOutcome) -> list[str]:
    return [c.name for c in outcome.checks if c.verdict is Verdict.FAIL]


def first_evidence(outcome: ScenarioOutcome) -> str:
    for check in outcome.checks:
        if check.verdict is Verdict.FAIL:
            return (check.evidence[0] if check.evidence else check.summary)[:240]
    return ""


def quiet(_line: str) -> None:
    pass


def scenarios_catch(variant: str, scenarios: list[Scenario], report: Path) -> Detection:
    found = Detection(variant)
    started = time.monotonic()
    with Campaign(report / variant, progress=quiet) as campaign:
        for scenario in scenarios:
            outcome = campaign.run(scenario.with_variant(variant))
            found.scenario_runs += 1
            print(f"  {variant}: {scenario.name} {outcome.verdict.value}", flush=True)
            if outcome.verdict is Verdict.ERROR:
                found.errors.append(f"{scenario.name}: {(outcome.error or '').splitlines()[0]}")
            checks = failed_by_a_check(outcome)
            if outcome.metrics.get("known_findings"):
                # Dapr's registration race can cost a run its verdict (an SLO missed, an
                # instance stuck, while the worker was unregistered): only a check the
                # race cannot fail (a duplicated effect, money out of balance, a replay
                # that differs) counts as detecting the app's mistake.
                checks = [c for c in checks if c in RACE_PROOF]
                if not checks:
                    why = "met the known upstream race, not counted"
                    found.errors.append(f"{scenario.name}: {why}")
                    continue
            if checks:
                found.caught_by = scenario.name
                found.checks = checks
                found.evidence = first_evidence(outcome)
                found.seconds = time.monotonic() - started
                break
    found.total_s = time.monotonic() - started
    return found


def explore_catches(found: Detection, report: Path) -> None:
    """``dapr-chaos explore --profile ci --variant NAME``, timed to its first violation."""
    out = report / f"explore-{found.variant}"
    command = [sys.executable, "-m", "harness.cli", "explore", "--profile", "ci"]
    command += ["--variant", found.variant, "--report", str(out)]
    started = time.monotonic()
    first: float | None = None
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if first is None and ("found a violation" in line or "baseline: VIOLATION" in line):
            first = time.monotonic() - started
            print(f"  {found.variant}: explore found a violation after {first:.0f}s", flush=True)
    proc.wait()
    spent = time.monotonic() - started
    log = out / "latest" / "explore.json"
    data: dict[str, Any] = json.loads(log.read_text()) if log.exists() else {}
    minimal = data.get("minimal")
    if proc.returncode == 1 and minimal:
        schedule = "; ".join(minimal.get("schedule") or ["no fault"])
        found.caught_by = f"explore: {schedule}"
        findings = minimal.get("findings") or [""]
        found.checks = sorted({line.split(" ", 1)[0] for line in findings if line})
        found.evidence = findings[0][:240]
        found.seconds = found.total_s + (first if first is not None else spent)
    else:
        runs = data.get("runs", "?")
        found.caught_by = f"not caught (explore: exit {proc.returncode}, {runs} runs)"
    found.total_s += spent


@dataclass
class FalseAlarms:
    runs: int = 0
    alarms: list[str] = field(default_factory=list)
    known_races: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def correct_app(scenarios: list[Scenario], report: Path) -> FalseAlarms:
    result = FalseAlarms()
    started = time.monotonic()
    with Campaign(report / "correct", progress=quiet) as campaign:
        for scenario in scenarios:
            outcome = campaign.run(scenario.with_variant("correct"))
            result.runs += 1
            print(f"  correct: {scenario.name} {outcome.verdict.value}", flush=True)
            checks = ", ".join(f"{c.name} {c.verdict.value}" for c in outcome.failed_checks)
            if outcome.metrics.get("known_findings"):
                # Dapr's race, recognised and recovered from: whatever it cost the run
                # (an SLO missed while the worker was unregistered) is not the app's.
                cost = f": {checks}" if checks else ""
                result.known_races.append(f"{scenario.name} ({outcome.verdict.value}{cost})")
            elif outcome.verdict is Verdict.ERROR:
                result.errors.append(f"{scenario.name}: {(outcome.error or '').splitlines()[0]}")
            elif outcome.verdict is not Verdict.PASS:
                result.alarms.append(f"{scenario.name}: {checks}")
    result.seconds = time.monotonic() - started
    return result


def table(found: list[Detection]) -> str:
    rows = [("variant", "class of mistake", "caught by", "check(s)", "seconds")]
    for d in found:
        seconds = f"{d.seconds:.1f}" if d.seconds is not None else "-"
        rows.append(
            (d.variant, CLASSES.get(d.variant, "?"), d.caught_by, ", ".join(d.checks), seconds)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        cells = [r[i].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join(cells) + "  " + r[4].rjust(7))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", help="comma-separated (default: every variant)")
    parser.add_argument("--no-explore", action="store_true", help="scenarios only")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    variants = [v for v in REFERENCE_VARIANTS if v != "correct"]
    if args.variants:
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = sorted(set(variants) - set(REFERENCE_VARIANTS))
        if unknown:
            parser.error(f"unknown variant(s) {unknown}; use {', '.join(REFERENCE_VARIANTS)}")
    scenarios = ordered([sc for sc in load_all([DEFAULT_SCENARIOS]) if sc.runs_reference_app])
    report = Path(tempfile.mkdtemp(prefix="dapr-chaos-detection-"))
    print(f"{len(variants)} variant(s); scenarios in order: {', '.join(s.name for s in scenarios)}")
    print(f"reports under {report}", flush=True)
    started = time.monotonic()
    found: list[Detection] = []
    for variant in variants:
        detection = scenarios_catch(variant, scenarios, report)
        if detection.seconds is None and not args.no_explore:
            explore_catches(detection, report)
        found.append(detection)
    correct = correct_app(scenarios, report)
    print()
    print("command: .venv/bin/python bench/detection.py " + " ".join(sys.argv[1:]))
    print(table(found))
    caught = [d for d in found if d.seconds is not None]
    fast = [d for d in caught if d.seconds is not None and d.seconds <= 60]
    print(
        f"\ndetected {len(caught)} of {len(found)} variants; {len(fast)} within 60 s "
        f"(target: all); bench took {time.monotonic() - started:.0f}s"
    )
    for d in found:
        if d.evidence:
            print(f"  {d.variant}: {d.evidence}")
        for error in d.errors:
            print(f"  {d.variant}: inconclusive, {error}")
    print(
        f"\ncorrect app over the same {correct.runs} scenarios ({correct.seconds:.0f}s): "
        f"{len(correct.alarms)} false alarm(s) (target 0); "
        f"{len(correct.known_races)} run(s) met a known upstream race, recovered and counted "
        f"apart; {len(correct.errors)} harness error(s)"
    )
    for line in correct.alarms + [f"known upstream race in {n}" for n in correct.known_races]:
        print(f"  {line}")
    for line in correct.errors:
        print(f"  error: {line}")
    if args.json:
        doc = {"variants": [asdict(d) for d in found], "correct": asdict(correct)}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
