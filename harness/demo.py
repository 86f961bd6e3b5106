"""``dapr-chaos demo``: bring up the stack with the reference app, submit a batch of orders
through the HTTP API, wait until all are terminal and check conservation; then run a few
chaos scenarios (fault schedules, then heal, then the checks) and print a verdict table.
Writes ``reports/<timestamp>-demo/`` (summary.json with every verdict and its evidence,
the fault timelines, the ledger, every process log) and points ``reports/latest`` at it.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.chaos import Chaos
from harness.checks.conservation import business_state_from, conservation
from harness.checks.result import CheckResult
from harness.faults import toxiproxy as tx
from harness.faults.network import LinkDown, LinkToxic
from harness.faults.process import Kill
from harness.faults.schedule import At, FaultEvent, OnCompleted, OnFailpoint, Schedule
from harness.runner import run_schedule
from harness.settings import Settings
from harness.stack.stack import Stack, StackConfig
from harness.workload.orders import Order, OrderAPIClient, Orders, OrderStatus


def _say(line: str) -> None:
    print(line, flush=True)


def _scenarios() -> list[tuple[str, Schedule]]:
    return [
        (
            "app crash right after the payment effect",
            Schedule(
                (
                    FaultEvent(
                        OnFailpoint("charge_payment.after_effect", nth=5), Kill("app"), duration=1.0
                    ),
                )
            ),
        ),
        (
            "daprd SIGKILL mid-workflow, restarted",
            Schedule((FaultEvent(OnCompleted(5), Kill("daprd"), duration=1.0),)),
        ),
        (
            "500 ms latency daprd->valkey for 3 s",
            Schedule(
                (FaultEvent(At(0.2), LinkToxic("daprd->valkey", tx.latency(500)), duration=3.0),)
            ),
        ),
        (
            "valkey link down for 3 s",
            Schedule((FaultEvent(OnCompleted(3), LinkDown("daprd->valkey"), duration=3.0),)),
        ),
    ]


def _chaos_scenarios(stack: Stack, api: OrderAPIClient, report: Path) -> list[dict[str, Any]]:
    results = []
    for i, (name, schedule) in enumerate(_scenarios(), 1):
        _say(f"chaos {i}/{len(_scenarios())}: {name} ...")
        chaos = Chaos(stack)
        orders = Orders(api, prefix=f"demo-chaos{i}-", seed=i)
        try:
            verification = run_schedule(chaos, schedule, orders, count=20, concurrency=4)
        finally:
            chaos.reset()
        chaos.timeline.save(report / f"timeline-{i}.json")
        results.append(
            {
                "name": name,
                "verdict": verification.verdict.value,
                "faults": [w.describe() for w in chaos.timeline.windows],
                "checks": [
                    {
                        "name": r.name,
                        "verdict": r.verdict.value,
                        "summary": r.summary,
                        "evidence": r.evidence,
                    }
                    for r in verification.results
                ],
            }
        )
    return results


def _report_batch(
    statuses: dict[str, OrderStatus],
    submitted: int,
    elapsed: float,
    summary: dict[str, Any],
    check: CheckResult,
) -> None:
    completed = sum(1 for s in statuses.values() if s.runtime_status == "COMPLETED")
    _say(
        f"{completed} of {submitted} orders COMPLETED in {elapsed:.2f}s "
        f"({summary['workflows_per_second']} workflows/s):"
    )
    for outcome, count in sorted(summary["outcomes"].items()):
        _say(f"  {count:5}  {outcome}")
    _say(str(check))


def run_demo(
    *,
    orders: int,
    report_root: Path,
    settings: Settings,
    backend: str = "processes",
    images: str | None = None,
) -> int:
    """Returns 0 when every order is terminal, the business state is consistent and every
    chaos scenario passed. ``backend``/``images``: as in :class:`StackConfig`."""
    report = report_root / f"{time.strftime('%Y%m%d-%H%M%S')}-demo"
    report.mkdir(parents=True, exist_ok=True)
    _say("starting the stack (Valkey, placement, scheduler, daprd, order app) ...")
    with Stack(StackConfig(backend=backend, images=images), settings=settings) as stack:
        _say(f"stack ready in {stack.timings['total']:.2f}s")
        api = OrderAPIClient(stack.ports["app"])
        batch = Orders(api, prefix="demo-", seed=7)
        # About one order in ten asks for a product that is sold out or nearly so.
        made: list[Order] = []
        for i in range(orders):
            if i % 10 == 9:
                made.append(
                    batch.make(product_id="sold-out" if i % 20 == 19 else "scarce", quantity=2)
                )
            else:
                made.append(batch.make())
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            ids = list(pool.map(batch.submit, made))
        _say(f"submitted {len(ids)} orders in {time.monotonic() - started:.2f}s; waiting ...")
        statuses = batch.wait_terminal(ids, timeout=max(60.0, orders * 0.5))
        elapsed = time.monotonic() - started
        state = business_state_from(api.state())
        check = conservation({o.order_id: o for o in made}, statuses, state)
        results: dict[str, int] = {}
        for status in statuses.values():
            key = status.result or status.runtime_status
            results[key] = results.get(key, 0) + 1
        summary: dict[str, Any] = {
            "orders": len(ids),
            "seconds": round(elapsed, 3),
            "workflows_per_second": round(len(ids) / elapsed, 1),
            "outcomes": results,
            "conservation": {"verdict": check.verdict.value, "evidence": check.evidence},
            "stack_start_seconds": round(stack.timings["total"], 3),
            "logs": str(report / "logs"),
        }
        _report_batch(statuses, len(ids), elapsed, summary, check)
        summary["scenarios"] = _chaos_scenarios(stack, api, report)
        assert stack.run_dir is not None
        shutil.copytree(stack.run_dir / "logs", report / "logs")
        shutil.copy2(stack.ledger_path, report / "ledger.jsonl")
    (report / "summary.json").write_text(json.dumps(summary, indent=2))
    latest = report_root / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(report.name)

    completed = sum(1 for s in statuses.values() if s.runtime_status == "COMPLETED")
    _say("")
    _say(f"{'chaos scenario':44} {'verdict':8} checks")
    for scenario in summary["scenarios"]:
        marks = " ".join(f"{c['name']}={c['verdict']}" for c in scenario["checks"])
        _say(f"{scenario['name']:44} {scenario['verdict'].upper():8} {marks}")
    _say(f"report: {report / 'summary.json'}")
    _say(f"logs:   {report / 'logs'} (valkey, placement, scheduler, daprd, app)")
    ok = (
        check.passed
        and completed == len(ids)
        and all(sc["verdict"] == "pass" for sc in summary["scenarios"])
    )
    if not ok:
        print("demo FAILED: see above", file=sys.stderr)
    return 0 if ok else 1
