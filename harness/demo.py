"""``dapr-chaos demo``: bring up the stack with the reference app, submit a batch of orders
through the HTTP API, wait until all are terminal, check conservation, and write a report
(summary.json plus every process log) under ``reports/<timestamp>-demo/``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.checks.conservation import business_state_from, conservation
from harness.settings import Settings
from harness.stack.stack import Stack, StackConfig
from harness.workload.orders import Order, OrderAPIClient, Orders


def _say(line: str) -> None:
    print(line, flush=True)


def run_demo(*, orders: int, report_root: Path, settings: Settings) -> int:
    """Returns 0 when every order is terminal and the business state is consistent."""
    report = report_root / f"{time.strftime('%Y%m%d-%H%M%S')}-demo"
    report.mkdir(parents=True, exist_ok=True)
    _say("starting the stack (Valkey, placement, scheduler, daprd, order app) ...")
    with Stack(StackConfig(), settings=settings) as stack:
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
        summary = {
            "orders": len(ids),
            "seconds": round(elapsed, 3),
            "workflows_per_second": round(len(ids) / elapsed, 1),
            "outcomes": results,
            "conservation": {"verdict": check.verdict.value, "evidence": check.evidence},
            "stack_start_seconds": round(stack.timings["total"], 3),
            "logs": str(report / "logs"),
        }
        assert stack.run_dir is not None
        shutil.copytree(stack.run_dir / "logs", report / "logs")
        shutil.copy2(stack.ledger_path, report / "ledger.jsonl")
    (report / "summary.json").write_text(json.dumps(summary, indent=2))
    latest = report_root / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(report.name)

    completed = sum(1 for s in statuses.values() if s.runtime_status == "COMPLETED")
    _say(
        f"{completed} of {len(ids)} orders COMPLETED in {elapsed:.2f}s "
        f"({summary['workflows_per_second']} workflows/s):"
    )
    for outcome, count in sorted(results.items()):
        _say(f"  {count:5}  {outcome}")
    _say(str(check))
    _say(f"report: {report / 'summary.json'}")
    _say(f"logs:   {report / 'logs'} (valkey, placement, scheduler, daprd, app)")
    ok = check.passed and completed == len(ids)
    if not ok:
        print("demo FAILED: see above", file=sys.stderr)
    return 0 if ok else 1
