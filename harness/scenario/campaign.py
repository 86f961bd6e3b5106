"""Run scenarios, one after another, on stacks reused where that is safe.

A stack is reused by the next scenario when both want the same app and backend and the
previous scenario left the stack healthy (its heal and reset succeeded). Each run of a
scenario gets fresh instance ids (``<name>-<run token>[-r<N>]-``), so scenarios sharing a
stack never see each other's orders. Everything the report needs is collected into a
:class:`~harness.scenario.outcome.ScenarioOutcome` while the stack is still up.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.checks.result import Verdict, combine
from harness.checks.slo import SLO, check_slos
from harness.errors import ConfigError, HarnessError, ProvisionError
from harness.experiment.chaos import Chaos, ExtraChecks
from harness.experiment.load import run_load
from harness.experiment.machine_share import machine_share
from harness.experiment.schedule_run import run_schedule
from harness.faults.deploy import Deploy
from harness.record.timeline import Timeline
from harness.scenario.model import Scenario
from harness.scenario.outcome import Evidence, ScenarioOutcome
from harness.settings import Settings
from harness.stack import readiness
from harness.stack.app_check import check_hosted_code
from harness.stack.builtin_apps import builtin_app
from harness.stack.config import AppSpec, StackConfig, hosted_app
from harness.stack.stack import Stack
from harness.workload.load_config import LoadProfile
from harness.workload.order_api import OrderAPIClient
from harness.workload.orders import Orders
from harness.workload.protocol import NO_EXPECTATION, Workload, input_key
from harness.workload.workflow_api import WorkflowAPI
from harness.workload.workflows import Workflows

Progress = Callable[[str], None]
# Told of each scenario run as it starts: its stack, its timeline, its label (the live
# dashboard follows them).
OnScenario = Callable[[Stack, Timeline, str], None]


def app_spec(
    scenario: Scenario, settings: Settings | None = None, *, progress: Progress = print
) -> AppSpec:
    """The AppSpec a scenario's ``app`` section describes (a built-in Go app is built
    into ``settings``' cache first, if it is not there), reading answers in the app's
    order API shape."""
    app = scenario.app
    if not app.own:
        spec = builtin_app(
            app.builtin,
            settings or Settings.from_env(),
            app.variant,
            env=app.env.items(),
            progress=progress,
        )
    elif app.hosted:
        assert app.workflows is not None
        spec = hosted_app(app.workflows, env=app.env, cwd=app.cwd, dependencies=app.dependencies)
    else:
        assert app.command is not None
        spec = AppSpec(
            app.command,
            health_path=app.health_path,
            env=dict(app.env),
            cwd=app.cwd,
            workflows=app.workflows,
            instrument=app.instrument,
            dependencies=dict(app.dependencies),
        )
    return dataclasses.replace(spec, order_api=app.shape)


def workload_of(scenario: Scenario, stack: Stack, prefix: str, seed: int) -> Workload:
    """The workload a scenario's ``workload`` section describes, on ``stack``: orders
    over the app's HTTP API, or instances of a workflow through daprd."""
    section = scenario.workload
    if section.workflow is None:
        return Orders(OrderAPIClient.on(stack), prefix=prefix, seed=seed)
    registry = stack.app_registry()
    expected: Any = NO_EXPECTATION
    if section.outputs is not None:
        by_input = {input_key(i): o for i, o in zip(section.inputs, section.outputs, strict=True)}

        def expected(value: Any) -> Any:
            return by_input.get(input_key(value), NO_EXPECTATION)

    return Workflows(
        WorkflowAPI(stack.ports["daprd_grpc"], stack.api_token),
        prefix,
        workflow=section.workflow,
        inputs=list(section.inputs),
        registered=registry["workflows"] if registry else None,
        seed=seed,
        expect_output=expected,
    )


class Campaign:
    """Runs scenarios and keeps at most one stack up at a time.

    ``report_dir`` receives each stack's logs (``logs/<scenario label>/``). ``backend``
    overrides every scenario's backend when given; ``images`` picks the container images;
    ``extra_checks`` run on every scenario's history after its own checks;
    ``on_scenario`` is told of each scenario run's stack and timeline as it starts.
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
        extra_checks: ExtraChecks | None = None,
        on_scenario: OnScenario | None = None,
    ) -> None:
        self.report_dir = report_dir
        self.extra_checks = extra_checks
        self.on_scenario = on_scenario
        self.images = images
        self.settings = settings or Settings.from_env()
        self.progress = progress
        self.backend = backend
        self.token = secrets.token_hex(3)
        self._stack: Stack | None = None
        self._stack_key: tuple[Any, ...] | None = None
        self._healthy = False
        self.stacks_started = 0
        self.evidence = Evidence(report_dir)

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
            app=app_spec(scenario, self.settings, progress=self.progress),
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
        # A measured scenario runs with no other dapr-chaos run beside it (see machine_share);
        # its time, and every other's, counts from when it has the machine.
        with machine_share(alone=scenario.slo is not None, progress=self.progress):
            outcome.started = time.time()
            try:
                self._check_deploys(scenario)
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

    def _check_deploys(self, scenario: Scenario) -> None:
        """Every version the scenario deploys imports and registers a workflow (ConfigError
        before any stack starts), each applied to the app the one before it left."""
        deploys = [e.fault for e in scenario.schedule.events if isinstance(e.fault, Deploy)]
        if not deploys:
            return
        config = self._config(scenario)
        spec = config.app
        for deploy in deploys:
            spec = deploy.spec_for(spec)
            check_hosted_code(spec, config.app_id)  # remembered: the deploy acts at once

    def _execute(self, stack: Stack, scenario: Scenario, outcome: ScenarioOutcome) -> None:
        offsets = {name: m.process.log_size() for name, m in stack.members.items()}
        chaos = Chaos(stack, workflows=scenario.app.workflow_code, extra_checks=self.extra_checks)
        outcome.timeline = chaos.timeline
        if self.on_scenario is not None:
            self.on_scenario(stack, chaos.timeline, outcome.label)
        section = scenario.workload
        workload = workload_of(scenario, stack, outcome.prefix, scenario.seed + outcome.repeat - 1)
        try:
            for fp in scenario.failpoints:
                chaos.arm_failpoint(fp)
            if section.load is not None:
                self._load(stack, chaos, scenario, outcome)
                return
            verification = run_schedule(
                chaos,
                scenario.schedule,
                workload,
                count=section.orders,
                concurrency=section.concurrency,
                pace=section.pace,
                checks=scenario.checks,
                on_phase=lambda name: self.progress(f"  {name} ..."),
            )
            outcome.verification = verification
            outcome.verdict = verification.verdict
        except ConfigError:
            raise
        except HarnessError as exc:
            outcome.error = str(exc)
            outcome.verdict = Verdict.ERROR
        finally:
            self.evidence.collect(
                stack,
                workload,
                outcome,
                offsets,
                backend=self.backend or scenario.backend,
                stack_number=self.stacks_started,
            )
            self._healthy = self._reusable(chaos, outcome)
            workload.close()

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
            workflow=scenario.workload.workflow,
            inputs=scenario.workload.inputs,
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
        verdicts = [c.verdict for c in outcome.slo_results]
        if result.verification is not None:
            verdicts.append(result.verification.verdict)
        outcome.verdict = combine(verdicts)

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
        return outcome.verdict is Verdict.PASS and workers >= 1 and not findings


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
    on_scenario: OnScenario | None = None,
) -> list[ScenarioOutcome]:
    """Run every scenario ``repeat`` times; stacks are shared by consecutive scenarios
    with the same app, so scenarios are grouped by app (order kept within a group).
    Outcomes are appended to ``outcomes`` (if given) as they finish, so a caller still
    has them when a Ctrl-C ends the run early. ``on_scenario``: as for :class:`Campaign`."""
    if repeat < 1:
        raise ConfigError(f"--repeat must be >= 1, got {repeat}")
    order: dict[tuple[Any, ...], int] = {}
    for sc in scenarios:
        order.setdefault(sc.stack_key, len(order))
    grouped = sorted(scenarios, key=lambda sc: order[sc.stack_key])
    outcomes = [] if outcomes is None else outcomes
    total = len(grouped) * repeat
    with Campaign(
        report_dir,
        settings=settings,
        progress=progress,
        backend=backend,
        images=images,
        on_scenario=on_scenario,
    ) as campaign:
        for sc in grouped:
            for r in range(1, repeat + 1):
                label = sc.name + (f" #{r}" if repeat > 1 else "")
                progress(
                    f"[{len(outcomes) + 1}/{total}] {label}: {sc.description or ''}".rstrip(": ")
                )
                outcome = campaign.run(sc, r, numbered=repeat > 1)
                outcomes.append(outcome)
                mark = outcome.verdict.value.upper()
                why = ""
                if outcome.error:
                    why = f": {outcome.error.splitlines()[0]}"
                elif outcome.failed_checks:
                    why = ": " + ", ".join(
                        f"{c.name} {c.verdict.value}" for c in outcome.failed_checks
                    )
                progress(f"  {mark} in {outcome.duration:.1f}s{why}")
    return outcomes


def verdict_of(outcomes: Sequence[ScenarioOutcome]) -> Verdict:
    """The run's verdict: the scenarios' combined (ERROR, FAIL, UNKNOWN, KNOWN_UPSTREAM,
    PASS, in that order of strength; VACUOUS when none judged anything)."""
    return combine(o.verdict for o in outcomes)


def exit_status(verdict: Verdict, *, strict_upstream: bool = False) -> int:
    """0 for PASS, and for KNOWN_UPSTREAM unless ``strict_upstream``; 1 otherwise."""
    if verdict is Verdict.PASS:
        return 0
    if verdict is Verdict.KNOWN_UPSTREAM and not strict_upstream:
        return 0
    return 1
