"""What one run of one scenario produced (:class:`ScenarioOutcome`), and the evidence the
report needs, gathered while the stack is still up (:class:`Evidence`): the fault
timeline, failpoint hits, per-second activity series from the ledger, the failing orders
with their workflow histories, and the slice of every process log written during the
scenario.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checks.orders import order_result
from harness.checks.result import CheckResult, Verdict
from harness.checks.verification import Verification
from harness.errors import HarnessError
from harness.record.history import Outcome
from harness.record.instances import InstanceReader
from harness.record.ledger import FailpointHit, Ledger
from harness.record.order_shape import REFERENCE
from harness.record.recorder import history_rows
from harness.record.timeline import Timeline
from harness.scenario.model import Scenario
from harness.stack.stack import Stack
from harness.workload.protocol import Workload

MAX_FAILING_ORDERS = 10


@dataclass
class ScenarioOutcome:
    """Everything one run of one scenario produced. ``verdict``: PASS every check (and
    SLO) passed; FAIL a check or SLO failed or could not decide (the evidence says which
    and why); ERROR the harness could not carry the scenario out. Times in ``timeline``,
    ``hits`` and ``series`` are seconds since ``started`` (epoch seconds)."""

    scenario: Scenario
    repeat: int
    prefix: str
    verdict: Verdict = Verdict.ERROR
    error: str | None = None
    started: float = 0.0
    duration: float = 0.0
    verification: Verification | None = None
    slo_results: list[CheckResult] = field(default_factory=list)
    timeline: Timeline = field(default_factory=Timeline)
    hits: list[FailpointHit] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] | None = None
    failing_orders: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    stack: dict[str, Any] = field(default_factory=dict)

    numbered: bool = False  # one of several repeats: labels and ids carry the number

    @property
    def label(self) -> str:
        return self.scenario.name + (f" #{self.repeat}" if self.numbered else "")

    @property
    def checks(self) -> list[CheckResult]:
        found = list(self.verification.results) if self.verification else []
        return found + self.slo_results

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]


def activity_series(
    ledger: Ledger, t0: float, end: float, bucket: float, terminal: set[str]
) -> dict[str, Any]:
    """Per-``bucket``-seconds rates from the ledger, for the timeline plot: activity
    executions started, business effects applied, and orders finishing (the time of the
    last ledger record of each order in ``terminal``). Rates are per second."""
    n = max(1, int((end - t0) / bucket) + 1)

    def rates(times: list[float]) -> list[float]:
        out = [0.0] * n
        for ts in times:
            i = int((ts - t0) / bucket)
            if 0 <= i < n:
                out[i] += 1 / bucket
        return [round(v, 2) for v in out]

    last: dict[str, float] = {}
    stamps = [(i.workflow_id, i.ts) for i in ledger.invocations]
    stamps += [(e.workflow_id or "", e.ts) for e in ledger.effects]
    for wf, ts in stamps:
        last[wf] = max(last.get(wf, 0.0), ts)
    return {
        "bucket_s": bucket,
        "t": [round(i * bucket, 3) for i in range(n)],
        "activity_executions_per_s": rates([i.ts for i in ledger.invocations]),
        "effects_per_s": rates([e.ts for e in ledger.effects]),
        "orders_finishing_per_s": rates([ts for wf, ts in last.items() if wf in terminal]),
    }


def _order_ids_in(results: Sequence[CheckResult], prefix: str) -> list[str]:
    pattern = re.compile(re.escape(prefix) + r"\d+")
    found: list[str] = []
    for result in results:
        if result.passed:
            continue
        for line in [result.summary, *result.evidence]:
            for match in pattern.findall(line):
                if match not in found:
                    found.append(match)
    return found


class Evidence:
    """Gathers a scenario's evidence; its log slices go under ``report_dir/logs/<label>/``."""

    def __init__(self, report_dir: Path) -> None:
        self.report_dir = report_dir

    def collect(
        self,
        stack: Stack,
        workload: Workload,
        outcome: ScenarioOutcome,
        offsets: dict[str, int],
        *,
        backend: str,
        stack_number: int,
    ) -> None:
        """Gather the report's evidence into ``outcome`` while the stack is still up:
        the ledger's series and metrics, failing orders with their histories, and each
        process's log slice since ``offsets`` (bytes)."""
        t0 = outcome.started
        end = time.time()
        ledger = Ledger.read(stack.ledger_path, prefix=workload.prefix)
        outcome.hits = [h for h in ledger.failpoints]
        history = outcome.verification.history if outcome.verification else None
        statuses = history.statuses if history is not None else {}
        order_api = history.order_api if history is not None else REFERENCE
        terminal = {oid for oid, st in statuses.items() if st is not None and st.terminal}
        bucket = 0.5 if end - t0 < 60 else 1.0
        outcome.series = activity_series(ledger, t0, end, bucket, terminal)
        outcomes: dict[str, int] = {}
        for status in statuses.values():
            key = (
                (order_result(status, order_api) or status.runtime_status) if status else "unknown"
            )
            outcomes[key] = outcomes.get(key, 0) + 1
        attempts = Counter(a.outcome for a in workload.attempts())
        outcome.metrics = {
            "orders_submitted": sum(attempts.values()),
            "orders_accepted": attempts[Outcome.OK],
            "orders_uncertain": attempts[Outcome.INFO],
            "orders_refused": attempts[Outcome.FAIL],
            "outcomes": outcomes,
            "activity_executions": len(ledger.invocations),
            "reexecutions": sum(ledger.reexecutions().values()),
            "effects": len(ledger.effects),
            "failpoints_fired": len(ledger.fired()),
        }
        if outcome.load is not None:
            outcome.metrics.update(
                orders_submitted=outcome.load["submitted"],
                orders_accepted=outcome.load["accepted"],
                orders_uncertain=len(outcome.load["uncertain"]),
                orders_refused=len(outcome.load["refused"]),
            )
        if outcome.verification is not None:
            history = outcome.verification.history
            outcome.metrics["known_findings"] = list(history.known_findings)
            outcome.metrics["worker_findings"] = list(history.worker_findings)
        outcome.stack = {
            "app": outcome.scenario.app.describe(),
            "backend": backend,
            "stack_number": stack_number,
            "app_id": stack.config.app_id,
        }
        self._failing_orders(stack, workload, outcome)
        self._log_slices(stack, outcome, offsets)

    def _failing_orders(self, stack: Stack, workload: Workload, outcome: ScenarioOutcome) -> None:
        """The instances a failed check names, and those that did not complete, with
        their daprd histories (at most MAX_FAILING_ORDERS)."""
        if outcome.verification is None or outcome.verification.passed:
            return
        statuses = outcome.verification.history.statuses
        ids = _order_ids_in(outcome.verification.results, workload.prefix)
        # Instances that did not complete, except those whose start got no answer and
        # that do not exist: they were never accepted.
        uncertain = outcome.verification.history.uncertain
        ids += [
            oid
            for oid, st in statuses.items()
            if (st is None or st.runtime_status != "COMPLETED")
            and oid not in ids
            and not (st is None and oid in uncertain)
        ]
        if not ids:
            return
        reader = InstanceReader(stack.ports["daprd_grpc"], stack.api_token)
        try:
            for oid in ids[:MAX_FAILING_ORDERS]:
                status = statuses.get(oid)
                try:
                    rows = history_rows(reader.events(oid))
                    problem = None
                except HarnessError as exc:
                    rows, problem = [], str(exc)
                outcome.failing_orders.append(
                    {
                        "order_id": oid,
                        "runtime_status": status.runtime_status if status else "unknown",
                        "output": status.output if status else None,
                        "failure": status.failure if status else None,
                        "history": rows,
                        "history_error": problem,
                        "named_by": [
                            c.name
                            for c in outcome.verification.results
                            if not c.passed and any(oid in line for line in c.evidence)
                        ],
                    }
                )
        finally:
            reader.close()

    def _log_slices(self, stack: Stack, outcome: ScenarioOutcome, offsets: dict[str, int]) -> None:
        """Copy what each process logged during the scenario to the report."""
        folder = self.report_dir / "logs" / re.sub(r"[^A-Za-z0-9.-]+", "-", outcome.label)
        folder.mkdir(parents=True, exist_ok=True)
        for name, member in stack.members.items():
            text = member.process.log_since(offsets.get(name, 0))
            path = folder / f"{name}.log"
            path.write_text(text)
            outcome.logs[name] = str(path.relative_to(self.report_dir))
