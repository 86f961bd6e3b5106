"""False alarms: the shipped scenarios, N times each, against the correct reference app.

The bar ("trust every verdict"): 0 FAIL on the correct app. A run where the only failing
evidence is a recognised upstream defect is KNOWN-UPSTREAM (counted and shown, never
hidden); ERROR is a run the harness could not carry out; a coverage gap (a path no
order took, a fault that overlapped no work) is counted per scenario too, since a PASS
with a gap proves less. One campaign for the whole run (a stack reused while scenarios
pass), rounds in the shipped order, so every scenario sees the same machine load.

Usage: ``.venv/bin/python bench/false_alarms.py [--repeat 20] [-k EXPR] [--json F]``
Prints a table per scenario and the totals; exit status 1 if any run FAILed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from harness.checks.result import Verdict
from harness.cli.run import DEFAULT_SCENARIOS, select
from harness.scenario.campaign import Campaign
from harness.scenario.parse import load_all

COLUMNS = ("pass", "known-upstream", "fail", "unknown", "vacuous", "error")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of each scenario")
    parser.add_argument("-k", dest="expr", default=None, help="select scenarios by name")
    parser.add_argument("--json", type=Path, default=None, help="write the counts here")
    args = parser.parse_args()
    scenarios = load_all([DEFAULT_SCENARIOS])
    if args.expr:
        scenarios = select(scenarios, args.expr)
    verdicts: dict[str, Counter[str]] = defaultdict(Counter)
    gaps: dict[str, Counter[str]] = defaultdict(Counter)
    failures: list[str] = []
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="dapr-chaos-false-alarms-") as tmp,
        Campaign(Path(tmp), progress=lambda _line: None) as campaign,
    ):
        for r in range(1, args.repeat + 1):
            line = []
            for scenario in scenarios:
                outcome = campaign.run(scenario, r, numbered=True)
                verdicts[scenario.name][outcome.verdict.value] += 1
                for check in outcome.checks:
                    if check.name == "coverage" and check.verdict is Verdict.VACUOUS:
                        for gap in check.evidence:
                            gaps[scenario.name][gap.split(" at ")[0].split(":")[0]] += 1
                if outcome.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.UNKNOWN):
                    why = outcome.error or "; ".join(
                        f"{c.name}: {c.summary}" for c in outcome.failed_checks
                    )
                    failures.append(f"{outcome.label}: {outcome.verdict.value}: {why}")
                line.append(outcome.verdict.value[0].upper())
            elapsed = time.monotonic() - started
            print(f"round {r}/{args.repeat}: {''.join(line)}  ({elapsed:.0f}s)", flush=True)
    width = max(len(s.name) for s in scenarios)
    print()
    print(f"{'scenario':<{width}}  " + "  ".join(f"{c:>14}" for c in COLUMNS) + "  coverage gaps")
    total: Counter[str] = Counter()
    for scenario in scenarios:
        counts = verdicts[scenario.name]
        total.update(counts)
        gap = ", ".join(f"{n}x {g}" for g, n in gaps[scenario.name].most_common()) or "-"
        cells = "  ".join(f"{counts.get(c, 0):>14}" for c in COLUMNS)
        print(f"{scenario.name:<{width}}  {cells}  {gap}")
    print(f"{'total':<{width}}  " + "  ".join(f"{total.get(c, 0):>14}" for c in COLUMNS))
    runs = sum(total.values())
    print(
        f"\n{runs} runs in {time.monotonic() - started:.0f}s: {total.get('fail', 0)} FAIL "
        f"(false alarms), {total.get('known-upstream', 0)} KNOWN-UPSTREAM, "
        f"{total.get('error', 0)} ERROR, {sum(sum(g.values()) for g in gaps.values())} "
        "coverage gap(s)"
    )
    for failure in failures:
        print(f"  {failure}")
    if args.json:
        data: dict[str, Any] = {
            "repeat": args.repeat,
            "verdicts": {k: dict(v) for k, v in verdicts.items()},
            "coverage_gaps": {k: dict(v) for k, v in gaps.items()},
            "failures": failures,
        }
        args.json.write_text(json.dumps(data, indent=1))
    return 1 if total.get("fail", 0) else 0


if __name__ == "__main__":
    sys.exit(main())
