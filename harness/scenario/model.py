"""The scenario model: one chaos experiment as validated values (what a scenario file
says, once :mod:`harness.scenario.parse` has checked it), and the faults its specs stand
for. A scenario can be written back as YAML that parses to an equal scenario.

All durations are seconds; latencies in the ``params`` of network faults are milliseconds.
"""

from __future__ import annotations

import dataclasses
import random
import signal
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.checks.verification import DEFAULT_CHECKS
from harness.errors import ConfigError
from harness.faults.deploy import Deploy
from harness.faults.failpoints import Failpoint
from harness.faults.fault import Fault
from harness.faults.network import LinkDown, LinkToxic
from harness.faults.process import Kill, Pause, Restart, SoftRestart
from harness.faults.raise_event import RESEND_S, RaiseEvent
from harness.faults.schedule import At, FaultEvent, OnCompleted, OnFailpoint, Schedule, Trigger
from harness.record.order_shape import ORDER_SHAPES, ORIGINAL, REFERENCE, OrderShape
from harness.stack.builtin_apps import BUILTIN_APPS, SEED_GO, check_seed_go_variant
from harness.stack.toxiproxy import Toxic

SCHEMA_VERSION = "dapr-chaos/scenario/v1"
SUFFIX = ".scenario.yaml"
REFERENCE_WORKFLOWS = "harness.reference_apps.orders.workflow"
# The reference app's deliberately broken variants, one module each in
# harness/reference_apps/orders/variants/ (a unit test keeps this list equal to that
# package; the library never imports the app, so the names are spelled out here).
REFERENCE_VARIANTS = (
    "correct",
    "dedup-in-memory",
    "loses-orders",
    "no-compensation",
    "notify-before-reserve",
    "payment-not-idempotent",
    "random-gateway",
    "refund-not-idempotent",
    "refund-wrong-amount",
    "replay-unsafe",
    "swallows-store-errors",
    "task-execution-key",
    "wall-clock-timer",
    "worker-quits",
)
_VARIANTS_PACKAGE = "harness.reference_apps.orders.variants"


def reference_workflows(variant: str = "correct") -> str:
    """``MODULE[:ATTR]`` of the workflow code the reference app runs in ``variant``: what
    the replay check replays its histories against (a variant's own code, never the
    correct app's, so a variant is caught for its mistake, not for being different)."""
    if variant not in REFERENCE_VARIANTS:
        raise ConfigError(
            f"unknown reference app variant {variant!r}; use one of {', '.join(REFERENCE_VARIANTS)}"
        )
    if variant == "correct":
        return REFERENCE_WORKFLOWS
    return f"{_VARIANTS_PACKAGE}.{variant.replace('-', '_')}:WORKFLOWS"


@dataclass(frozen=True)
class FaultSpec:
    """One fault as written in the file: kept alongside the built :class:`FaultEvent` so a
    scenario can be written back (``dapr-chaos explore`` does) and shown in reports."""

    action: str
    target: str
    trigger: dict[str, Any]
    duration: float | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def as_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "target": self.target}
        out["trigger"] = dict(self.trigger)
        if self.duration is not None:
            out["duration"] = self.duration
        if self.params:
            out["params"] = dict(self.params)
        return out


@dataclass(frozen=True)
class AppSection:
    """The app under test: ``command`` (any app, in any language), or ``workflows``
    without a command (``MODULE[:ATTR]`` hosted and instrumented by the harness), or
    neither (the built-in order app ``builtin``, one of
    :data:`~harness.stack.builtin_apps.BUILTIN_APPS`, in ``variant``). With a command,
    ``workflows`` is the code the replay check replays against, and ``instrument`` gives a
    Python app the automatic failpoints. ``dependencies``: NAME → ``127.0.0.1:PORT`` or
    ``valkey``, each behind a proxy (link ``app->NAME``). ``cwd``: where the app runs
    (default: where the harness runs). ``order_api``: how the app's order outputs mark
    approved and rejected orders (None: the app's own, see :attr:`shape`)."""

    command: tuple[str, ...] | None = None
    variant: str = "correct"
    env: dict[str, str] = field(default_factory=dict)
    health_path: str | None = None
    workflows: str | None = None
    instrument: bool = False
    dependencies: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    builtin: str = "reference"
    order_api: OrderShape | None = None

    @property
    def own(self) -> bool:
        """Whether this is an app of the user's (a command, or hosted workflows), not a
        built-in order app."""
        return self.command is not None or self.workflows is not None

    @property
    def reference(self) -> bool:
        """Whether this is the reference order app."""
        return not self.own and self.builtin == "reference"

    @property
    def seed_go(self) -> bool:
        """Whether this is the Go port of the seed app."""
        return not self.own and self.builtin == SEED_GO

    @property
    def shape(self) -> OrderShape:
        """The order API shape the workload reads this app's answers with: ``order_api``
        if given, else the original's for seed-go, the reference app's for any other."""
        if self.order_api is not None:
            return self.order_api
        return ORIGINAL if self.seed_go else REFERENCE

    @property
    def hosted(self) -> bool:
        """Whether the harness hosts ``workflows`` as the app."""
        return self.command is None and self.workflows is not None

    @property
    def workflow_code(self) -> str | None:
        """What the ``replay`` check replays against (the reference app's own code)."""
        if self.workflows:
            return self.workflows
        return reference_workflows(self.variant) if self.reference else None

    @property
    def links(self) -> tuple[str, ...]:
        """The dependency links this app adds (the reference app's store is one)."""
        deps = ("store",) if self.reference else tuple(self.dependencies)
        return tuple(f"app->{name}" for name in deps)

    @property
    def key(self) -> tuple[Any, ...]:
        """Scenarios with equal keys can share one stack."""
        return (
            self.command,
            self.variant,
            tuple(sorted(self.env.items())),
            self.health_path,
            self.workflows,
            self.instrument,
            tuple(sorted(self.dependencies.items())),
            self.cwd,
            self.builtin,
            self.order_api,
        )

    def describe(self) -> str:
        if self.reference:
            return f"reference order app ({self.variant})"
        if self.seed_go:
            return f"seed-go order app ({self.variant})"
        if self.hosted:
            return f"{self.workflows} (hosted)"
        return " ".join(self.command or ())


@dataclass(frozen=True)
class LoadSection:
    """A Locust load profile: ``users`` concurrent users started at ``spawn_rate``/s for
    ``duration`` seconds; ``workers`` > 0 runs Locust distributed."""

    users: int
    spawn_rate: float
    duration: float
    workers: int = 0


@dataclass(frozen=True)
class WorkloadSection:
    """``orders`` submitted by ``concurrency`` threads to the order API, or, with
    ``workflow``, that many instances of the workflow started through daprd, each given
    the next of ``inputs`` (cycled); ``outputs`` (as long as ``inputs``) are the outputs
    they must end with. ``pace``: seconds each thread waits after a start before the next
    (0: as fast as answers come), so that the work spans the faults instead of being done
    before the first one triggers. ``load``: a Locust profile instead (of orders, or of
    the workflow)."""

    orders: int = 20
    concurrency: int = 4
    load: LoadSection | None = None
    workflow: str | None = None
    inputs: tuple[Any, ...] = (None,)
    outputs: tuple[Any, ...] | None = None
    pace: float = 0.0

    @property
    def count(self) -> int:
        """How many orders or instances one run starts."""
        return self.orders

    @property
    def kind(self) -> str:
        return "orders" if self.workflow is None else "workflows"


@dataclass(frozen=True)
class SLOSection:
    """Service level objectives of a load run (requires ``workload.load``)."""

    min_throughput: float | None = None
    max_p99_ms: float | None = None
    max_recovery_s: float | None = None


@dataclass(frozen=True)
class Scenario:
    """One validated scenario. ``line`` is where it starts in ``path``."""

    name: str
    path: Path | None
    description: str = ""
    seed: int = 0
    app: AppSection = field(default_factory=AppSection)
    backend: str = "processes"
    workload: WorkloadSection = field(default_factory=WorkloadSection)
    failpoints: tuple[Failpoint, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    schedule: Schedule = field(default_factory=lambda: Schedule(()))
    checks: tuple[str, ...] = DEFAULT_CHECKS
    slo: SLOSection | None = None

    @property
    def stack_key(self) -> tuple[Any, ...]:
        return (self.backend, self.app.key)

    @property
    def runs_reference_app(self) -> bool:
        """Whether it runs a built-in order app (the reference app, or seed-go)."""
        return not self.app.own

    def with_variant(self, variant: str) -> Scenario:
        """This scenario with its built-in app in ``variant`` (one of
        :data:`REFERENCE_VARIANTS`, or for seed-go of
        :data:`~harness.stack.builtin_apps.SEED_GO_VARIANTS`). ConfigError for a scenario
        that runs its own app, or an unknown variant."""
        if not self.runs_reference_app:
            raise ConfigError(
                f"a variant applies to the reference app; {self.name} runs {self.app.describe()}"
            )
        if self.app.seed_go:
            check_seed_go_variant(variant)
        else:
            reference_workflows(variant)  # refuses an unknown name
        return dataclasses.replace(self, app=dataclasses.replace(self.app, variant=variant))

    def with_app(self, builtin: str) -> Scenario:
        """This scenario against built-in app ``builtin`` (one of
        :data:`~harness.stack.builtin_apps.BUILTIN_APPS`) in its correct variant, in the
        order API shape that app speaks. ConfigError for a scenario that runs its own app.
        The Go app has no Python workflow code, so the replay check is dropped for it."""
        if builtin not in BUILTIN_APPS:
            raise ConfigError(f"no built-in app {builtin!r}; use one of {', '.join(BUILTIN_APPS)}")
        if not self.runs_reference_app:
            raise ConfigError(
                f"--app {builtin} replaces the built-in order app; {self.name} runs "
                f"{self.app.describe()}"
            )
        app = dataclasses.replace(self.app, builtin=builtin, variant="correct", order_api=None)
        checks = self.checks
        if app.workflow_code is None:
            checks = tuple(c for c in checks if c != "replay")
        return dataclasses.replace(self, app=app, checks=checks)

    def as_yaml(self) -> str:
        """The scenario as a file this module loads back to an equal scenario."""
        doc: dict[str, Any] = {"name": self.name}
        if self.description:
            doc["description"] = self.description
        doc["seed"] = self.seed
        app: dict[str, Any] = {}
        if self.app.command is not None:
            app["command"] = list(self.app.command)
        elif not self.app.own:
            if self.app.builtin != "reference":
                app["builtin"] = self.app.builtin
            app["variant"] = self.app.variant
        if self.app.order_api is not None:
            shape = self.app.order_api
            builtin = ORDER_SHAPES.get(shape.name)
            app["order_api"] = shape.name if builtin == shape else shape.as_data()
        if self.app.env:
            app["env"] = dict(self.app.env)
        if self.app.health_path:
            app["health_path"] = self.app.health_path
        if self.app.workflows:
            app["workflows"] = self.app.workflows
        if self.app.instrument:
            app["instrument"] = True
        if self.app.dependencies:
            app["dependencies"] = dict(self.app.dependencies)
        if self.app.cwd is not None:
            app["cwd"] = str(self.app.cwd)
        doc["app"] = app
        if self.backend != "processes":
            doc["backend"] = self.backend
        workload = self.workload
        work: dict[str, Any] = {}
        if workload.workflow is not None:
            work = {"workflow": workload.workflow, "inputs": list(workload.inputs)}
            if workload.outputs is not None:
                work["outputs"] = list(workload.outputs)
        if workload.load is not None:
            load = workload.load
            work["load"] = {
                "users": load.users,
                "spawn_rate": load.spawn_rate,
                "duration": load.duration,
                "workers": load.workers,
            }
        else:
            work["instances" if workload.workflow else "orders"] = workload.orders
            work["concurrency"] = workload.concurrency
            if workload.pace:
                work["pace"] = workload.pace
        doc["workload"] = work
        if self.failpoints:
            doc["failpoints"] = [
                {
                    "name": fp.name,
                    "action": fp.action,
                    "nth": fp.nth,
                    "count": fp.count,
                    **({"seconds": fp.seconds} if fp.seconds else {}),
                    **({"probability": fp.probability} if fp.probability < 1 else {}),
                }
                for fp in self.failpoints
            ]
        doc["faults"] = [f.as_yaml() for f in self.faults]
        doc["checks"] = list(self.checks)
        if self.slo is not None:
            doc["slo"] = {k: v for k, v in vars(self.slo).items() if v is not None}
        doc["timeouts"] = {
            "chaos": self.schedule.chaos_timeout,
            "verify": self.schedule.verify_deadline,
        }
        return yaml.safe_dump(doc, sort_keys=False)


# -- what the specs stand for ------------------------------------------------------------


def build_fault(action: str, target: str, params: dict[str, Any]) -> Fault:
    """The fault object for a validated (action, target, params) triple."""
    if action == "deploy":
        return Deploy(
            workflows=params.get("workflows"),
            env=dict(params.get("env") or {}),
            mode=params.get("mode", "gap"),
            seconds=float(params.get("seconds", 1.0)),
        )
    if action == "raise-event":
        return RaiseEvent(
            params["event"],
            params.get("data"),
            instances=params.get("instances", "running"),
            resend_for=float(params.get("resend_for", RESEND_S)),
        )
    if action == "kill":
        return Kill(target, getattr(signal, f"SIG{params.get('signal', 'KILL')}"))
    if action == "pause":
        return Pause(target)
    if action == "restart":
        return Restart(target)
    if action == "soft-restart":
        return SoftRestart(target)
    if action == "down":
        return LinkDown(target)
    common = {"stream": params.get("stream", "downstream"), "toxicity": params.get("toxicity", 1.0)}
    factories: dict[str, Callable[..., Toxic]] = {
        "latency": lambda p: Toxic.latency(p["ms"], p.get("jitter_ms", 0), **common),
        "timeout": lambda p: Toxic.timeout(p.get("ms", 0), **common),
        "reset-peer": lambda p: Toxic.reset_peer(p.get("after_ms", 0), **common),
        "bandwidth": lambda p: Toxic.bandwidth(p["kb_per_s"], **common),
        "slicer": lambda p: Toxic.slicer(
            p["average_bytes"], p.get("size_variation", 0), p.get("delay_us", 0), **common
        ),
        "limit-data": lambda p: Toxic.limit_data(p["bytes"], **common),
    }
    return LinkToxic(target, factories[action](params))


def trigger_of(spec: dict[str, Any], seed: int = 0, index: int = 0) -> Trigger:
    """The trigger a validated ``trigger`` mapping stands for. ``between`` picks its time
    from the scenario's ``seed`` and the fault's ``index``, reproducibly."""
    if "at" in spec:
        return At(float(spec["at"]))
    if "between" in spec:
        lo, hi = spec["between"]
        rng = random.Random(zlib.crc32(f"{seed}:{index}".encode()))
        return At(round(rng.uniform(lo, hi), 3))
    if "failpoint" in spec:
        return OnFailpoint(str(spec["failpoint"]), int(spec.get("nth", 1)))
    if "completed" in spec:
        return OnCompleted(int(spec["completed"]))
    raise ConfigError(f"trigger {spec!r} needs one of: at, between, failpoint, completed")


def spec_event(spec: FaultSpec, seed: int = 0, index: int = 0) -> FaultEvent:
    """The schedule event of a fault spec (ConfigError if its target or params are bad)."""
    return FaultEvent(
        trigger_of(spec.trigger, seed, index),
        build_fault(spec.action, spec.target, spec.params),
        spec.duration,
    )
