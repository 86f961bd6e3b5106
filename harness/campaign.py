"""Run scenarios, one after another, on stacks reused where that is safe.

A stack is reused by the next scenario when both want the same app and backend and the
previous scenario left the stack healthy (its heal and reset succeeded). Each run of a
scenario gets fresh instance ids (``<name>-<run token>[-r<N>]-``), so scenarios sharing a
stack never see each other's orders. Everything the report needs is collected into a
:class:`ScenarioOutcome` while the stack is still up: the fault timeline, failpoint hits,
per-second activity series from the ledger, the failing orders with their workflow
histories, and the slice of every process log written during the scenario.

Verdicts: ``pass`` every check (and SLO) passed; ``fail`` a check or SLO failed or could
not decide (the evidence says which and why); ``error`` the harness could not carry the
scenario out (a fault that hit nothing, a stack that would not start).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.chaos import Chaos
from harness.checks.result import CheckResult
from harness.checks.slo import SLO, check_slos
from harness.checks.verification import Verification
from harness.errors import ConfigError, HarnessError, ProvisionError
from harness.record.instances import InstanceReader
from harness.record.ledger import FailpointHit, Ledger
from harness.record.recorder import history_rows
from harness.record.timeline import Timeline
from harness.runner import run_schedule
from harness.scenario import Scenario
from harness.settings import Settings
from harness.stack import readiness
from harness.stack.stack import AppSpec, Stack, StackConfig, reference_app
from harness.workload.load import LoadProfile, run_load
from harness.workload.orders import OrderAPIClient, Orders

Progress = Callable[[str], None]
MAX_FAILING_ORDERS = 10


@dataclass
class ScenarioOutcome:
    """Everything one run of one scenario produced. Times in ``timeline``, ``hits`` and
    ``series`` are seconds since ``started`` (epoch seconds)."""

    scenario: Scenario
    repeat: int
    prefix: str
    verdict: str = "error"
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


def app_spec(scenario: Scenario) -> AppSpec:
    """The AppSpec a scenario's ``app`` section describes."""
    app = scenario.app
    if app.command is None:
        spec = reference_app(("ORDER_APP_VARIANT", app.variant), *app.env.items())
        return spec
    return AppSpec(app.command, health_path=app.health_path, env=dict(app.env))


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


class Campaign:
    """Runs scenarios and keeps at most one stack up at a time.

    ``report_dir`` receives each stack's logs (``logs/<scenario label>/``). ``backend``
    overrides every scenario's backend when given; ``images`` picks the container images.
    Use as a context manager: the last stack is stopped on exit, whatever happened.
    """

    def __init__(
        self,
        report_dir: Path,
        *,
        settings: Settings | None = None,
        progress: Progress = print,
        backend: str | None = None,
        images: str | None = None,
    ) -> None:
        self.report_dir = report_dir
        self.images = images
        self.settings = settings or Settings.from_env()
        self.progress = progress
        self.backend = backend
        self.token = secrets.token_hex(3)
        self._stack: Stack | None = None
        self._stack_key: tuple[Any, ...] | None = None
        self._healthy = False
        self.stacks_started = 0

    def __enter__(self) -> Campaign:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def stack(self) -> Stack | None:
        """The stack that is up now (the last scenario's), if any."""
        return self._stack

    def close(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.stop()

    def _config(self, scenario: Scenario) -> StackConfig:
        return StackConfig(
            app=app_spec(scenario),
            backend=self.backend or scenario.backend,
            images=self.images,
        )

    def _stack_for(self, scenario: Scenario) -> Stack:
        key = (self.backend or scenario.backend, scenario.app.key)
        if self._stack is not None and self._stack_key == key and self._healthy:
            return self._stack
        self.close()
        self.progress(f"  starting a stack for {scenario.app.describe()} ...")
        stack = Stack(self._config(scenario), settings=self.settings)
        self._stack = stack
        self._stack_key = key
        stack.start()
        self.stacks_started += 1
        self._healthy = True
        self.progress(f"  stack ready in {stack.timings['total']:.2f}s")
        return stack

    def run(
        self, scenario: Scenario, repeat: int = 1, *, numbered: bool = False
    ) -> ScenarioOutcome:
        """Run one scenario once. Bad input (ConfigError, ProvisionError) propagates:
        the whole run must stop with status 2. Other harness errors become the
        outcome's ``error`` verdict."""
        numbered = numbered or repeat > 1
        suffix = f"-r{repeat}" if numbered else ""
        outcome = ScenarioOutcome(scenario, repeat, f"{scenario.name}-{self.token}{suffix}-")
        outcome.numbered = numbered
        outcome.started = time.time()
        try:
            stack = self._stack_for(scenario)
        except (ConfigError, ProvisionError):
            raise
        except HarnessError as exc:
            self._healthy = False
            outcome.error = f"the stack did not start: {exc}"
            outcome.duration = time.time() - outcome.started
            return outcome
        self._execute(stack, scenario, outcome)
        outcome.duration = time.time() - outcome.started
        return outcome

    def _execute(self, stack: Stack, scenario: Scenario, outcome: ScenarioOutcome) -> None:
        offsets = {name: m.process.log_size() for name, m in stack.members.items()}
        chaos = Chaos(stack, workflows=scenario.app.workflow_code)
        if stack.failpoints is not None:  # a fresh start: no arming, no hit counts
            stack.failpoints.clear()
        outcome.timeline = chaos.timeline
        api = OrderAPIClient(stack.ports["app"])
        orders = Orders(api, prefix=outcome.prefix, seed=scenario.seed + outcome.repeat - 1)
        workload = scenario.workload
        try:
            for fp in scenario.failpoints:
                chaos.arm_failpoint(fp)
            if workload.load is not None:
                self._load(stack, chaos, scenario, outcome)
                return
            verification = run_schedule(
                chaos,
                scenario.schedule,
                orders,
                count=workload.orders,
                concurrency=workload.concurrency,
                checks=scenario.checks,
                on_phase=lambda name: self.progress(f"  {name} ..."),
            )
            outcome.verification = verification
            outcome.verdict = "pass" if verification.passed else "fail"
        except ConfigError:
            raise
        except HarnessError as exc:
            outcome.error = str(exc)
            outcome.verdict = "error"
        finally:
            self._collect(stack, chaos, orders, outcome, offsets)
            self._healthy = self._reusable(chaos, outcome)

    def _load(
        self, stack: Stack, chaos: Chaos, scenario: Scenario, outcome: ScenarioOutcome
    ) -> None:
        """The scenario's Locust load with its faults, then the checks and SLOs."""
        load = scenario.workload.load
        assert load is not None
        profile = LoadProfile(load.users, load.spawn_rate, load.duration, load.workers)
        self.progress(f"  load: {load.users} users for {load.duration:g}s, faults on schedule ...")
        result = run_load(
            stack,
            profile,
            prefix=outcome.prefix,
            seed=scenario.seed + outcome.repeat - 1,
            chaos=chaos,
            schedule=scenario.schedule,
            checks=scenario.checks,
        )
        outcome.verification = result.verification
        data = result.to_dict()
        data["started_offset_s"] = round(result.started_at - outcome.started, 3)
        outcome.load = data
        if scenario.slo is not None:
            slo = scenario.slo
            outcome.slo_results = check_slos(
                result, SLO(slo.min_throughput, slo.max_p99_ms, slo.max_recovery_s)
            )
        p99 = result.latency_ms.p99
        self.progress(
            f"  {result.workflows_per_s:.1f} workflows/s, p99 "
            + (f"{p99:.0f} ms" if p99 is not None else "n/a")
            + ", "
            f"recovery: {result.recovery}"
            + (f" in {result.recovery_s:.1f}s" if result.recovery_s is not None else "")
        )
        passed = result.verification is not None and result.verification.passed
        outcome.verdict = "pass" if passed and not outcome.failed_checks else "fail"

    def _reusable(self, chaos: Chaos, outcome: ScenarioOutcome) -> bool:
        """Heal and reset the stack; whether the next scenario may use it. Only a stack
        that passed, healed, and has a workflow worker registered is reused: after a
        failure or an upstream finding its state is suspect, and a fresh stack costs ~1 s."""
        try:
            chaos.reset()
            workers = readiness.workflow_workers(chaos.stack.daprd.metadata())
        except HarnessError as exc:
            self.progress(f"  the stack did not heal after the scenario ({exc})")
            return False
        findings = outcome.metrics.get("known_findings") or outcome.metrics.get("worker_findings")
        return outcome.verdict == "pass" and workers >= 1 and not findings

    def _collect(
        self,
        stack: Stack,
        chaos: Chaos,
        orders: Orders,
        outcome: ScenarioOutcome,
        offsets: dict[str, int],
    ) -> None:
        """Gather the report's evidence while the stack is still up."""
        t0 = outcome.started
        end = time.time()
        ledger = Ledger.read(stack.ledger_path, prefix=orders.prefix)
        outcome.hits = [h for h in ledger.failpoints]
        statuses = outcome.verification.history.statuses if outcome.verification else {}
        terminal = {oid for oid, st in statuses.items() if st is not None and st.terminal}
        bucket = 0.5 if end - t0 < 60 else 1.0
        outcome.series = activity_series(ledger, t0, end, bucket, terminal)
        outcomes: dict[str, int] = {}
        for status in statuses.values():
            key = (status.result or status.runtime_status) if status else "unknown"
            outcomes[key] = outcomes.get(key, 0) + 1
        outcome.metrics = {
            "orders_submitted": len(orders.submitted) + len(orders.uncertain) + len(orders.refused),
            "orders_accepted": len(orders.accepted),
            "orders_uncertain": len(orders.uncertain),
            "orders_refused": len(orders.refused),
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
            "backend": self.backend or outcome.scenario.backend,
            "stack_number": self.stacks_started,
            "app_id": stack.config.app_id,
        }
        self._failing_orders(stack, orders, outcome)
        self._log_slices(stack, outcome, offsets)

    def _failing_orders(self, stack: Stack, orders: Orders, outcome: ScenarioOutcome) -> None:
        if outcome.verification is None or outcome.verification.passed:
            return
        statuses = outcome.verification.history.statuses
        ids = _order_ids_in(outcome.verification.results, orders.prefix)
        # Orders that did not complete, except those whose POST got no answer and that
        # do not exist: they were never accepted.
        ids += [
            oid
            for oid, st in statuses.items()
            if (st is None or st.runtime_status != "COMPLETED")
            and oid not in ids
            and not (st is None and oid in orders.uncertain)
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


def run_scenarios(
    scenarios: Sequence[Scenario],
    report_dir: Path,
    *,
    repeat: int = 1,
    settings: Settings | None = None,
    progress: Progress = print,
    backend: str | None = None,
    images: str | None = None,
    outcomes: list[ScenarioOutcome] | None = None,
) -> list[ScenarioOutcome]:
    """Run every scenario ``repeat`` times; stacks are shared by consecutive scenarios
    with the same app, so scenarios are grouped by app (order kept within a group).
    Outcomes are appended to ``outcomes`` (if given) as they finish, so a caller still
    has them when a Ctrl-C ends the run early."""
    if repeat < 1:
        raise ConfigError(f"--repeat must be >= 1, got {repeat}")
    order: dict[tuple[Any, ...], int] = {}
    for sc in scenarios:
        order.setdefault(sc.stack_key, len(order))
    grouped = sorted(scenarios, key=lambda sc: order[sc.stack_key])
    outcomes = [] if outcomes is None else outcomes
    total = len(grouped) * repeat
    with Campaign(
        report_dir, settings=settings, progress=progress, backend=backend, images=images
    ) as campaign:
        for sc in grouped:
            for r in range(1, repeat + 1):
                label = sc.name + (f" #{r}" if repeat > 1 else "")
                progress(
                    f"[{len(outcomes) + 1}/{total}] {label}: {sc.description or ''}".rstrip(": ")
                )
                outcome = campaign.run(sc, r, numbered=repeat > 1)
                outcomes.append(outcome)
                mark = outcome.verdict.upper()
                why = ""
                if outcome.error:
                    why = f": {outcome.error.splitlines()[0]}"
                elif outcome.failed_checks:
                    why = ": " + ", ".join(
                        f"{c.name} {c.verdict.value}" for c in outcome.failed_checks
                    )
                progress(f"  {mark} in {outcome.duration:.1f}s{why}")
    return outcomes


def verdict_of(outcomes: Sequence[ScenarioOutcome]) -> str:
    """``error`` if any scenario errored, else ``fail`` if any failed, else ``pass``."""
    verdicts = {o.verdict for o in outcomes}
    return "error" if "error" in verdicts else "fail" if "fail" in verdicts else "pass"
