"""Scenario files: one chaos experiment described in YAML, validated strictly.

A scenario names the app, the workload, the failpoints to arm, the faults (each with a
trigger, an action, a target and a duration), the checks, the SLOs and the seed. The
format is documented in ``scenarios/README.md``; :data:`SCHEMA_VERSION` names it.

Validation happens before anything starts. Every problem is a :class:`ConfigError` whose
message begins with ``FILE:LINE:`` and lists the allowed keys or values. Unknown keys are
errors: a typo must never run as a scenario that silently does less.

All durations are seconds; latencies in the ``params`` of network faults are milliseconds.
"""

from __future__ import annotations

import random
import re
import signal
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.app._failpoints import ACTIONS as FAILPOINT_ACTIONS
from harness.checks.verification import CHECKS, DEFAULT_CHECKS
from harness.errors import ConfigError
from harness.faults import toxiproxy as tx
from harness.faults.failpoints import Failpoint
from harness.faults.fault import LINK_NAMES, MEMBERS, Fault
from harness.faults.network import LinkDown, LinkToxic
from harness.faults.process import Kill, Pause, Restart, SoftRestart
from harness.faults.schedule import At, FaultEvent, OnCompleted, OnFailpoint, Schedule, Trigger
from harness.stack.stack import BACKENDS

SCHEMA_VERSION = "dapr-chaos/scenario/v1"
SUFFIX = ".scenario.yaml"
REFERENCE_WORKFLOWS = "scenarios.order_app.workflow"
REFERENCE_VARIANTS = (
    "correct",
    "payment-not-idempotent",
    "loses-orders",
    "task-execution-key",
    "worker-quits",
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")

# action -> (targets, parameter name -> (type, default)); a default of None means required.
_MEMBER_ACTIONS = ("kill", "pause", "restart", "soft-restart")
_TOXIC_PARAMS: dict[str, dict[str, tuple[type, Any]]] = {
    "latency": {"ms": (int, None), "jitter_ms": (int, 0)},
    "timeout": {"ms": (int, 0)},
    "reset-peer": {"after_ms": (int, 0)},
    "bandwidth": {"kb_per_s": (int, None)},
    "slicer": {"average_bytes": (int, None), "size_variation": (int, 0), "delay_us": (int, 0)},
    "limit-data": {"bytes": (int, None)},
}
_LINK_COMMON: dict[str, tuple[type, Any]] = {
    "stream": (str, "downstream"),
    "toxicity": (float, 1.0),
}
ACTIONS = (*_MEMBER_ACTIONS, *_TOXIC_PARAMS, "down")
_SIGNALS = ("KILL", "TERM", "INT", "QUIT", "ABRT")


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
    """``command=None``: the reference order app in ``variant``."""

    command: tuple[str, ...] | None = None
    variant: str = "correct"
    env: dict[str, str] = field(default_factory=dict)
    health_path: str | None = None
    workflows: str | None = None  # "MODULE[:ATTR]" for the replay check

    @property
    def workflow_code(self) -> str | None:
        """What the ``replay`` check replays against (the reference app's own code)."""
        return self.workflows or (REFERENCE_WORKFLOWS if self.command is None else None)

    @property
    def key(self) -> tuple[Any, ...]:
        """Scenarios with equal keys can share one stack."""
        return (self.command, self.variant, tuple(sorted(self.env.items())), self.health_path)

    def describe(self) -> str:
        if self.command is None:
            return f"reference order app ({self.variant})"
        return " ".join(self.command)


@dataclass(frozen=True)
class LoadSection:
    """A Locust load profile: ``users`` concurrent users started at ``spawn_rate``/s for
    ``duration`` seconds; ``workers`` > 0 runs Locust distributed."""

    users: int
    spawn_rate: float
    duration: float
    workers: int = 0


@dataclass(frozen=True)
class Workload:
    """``orders`` submitted by ``concurrency`` threads, or a Locust ``load`` profile."""

    orders: int = 20
    concurrency: int = 4
    load: LoadSection | None = None


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
    workload: Workload = field(default_factory=Workload)
    failpoints: tuple[Failpoint, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    schedule: Schedule = field(default_factory=lambda: Schedule(()))
    checks: tuple[str, ...] = DEFAULT_CHECKS
    slo: SLOSection | None = None

    @property
    def stack_key(self) -> tuple[Any, ...]:
        return (self.backend, self.app.key)

    def as_yaml(self) -> str:
        """The scenario as a file this module loads back to an equal scenario."""
        doc: dict[str, Any] = {"name": self.name}
        if self.description:
            doc["description"] = self.description
        doc["seed"] = self.seed
        app: dict[str, Any] = {}
        if self.app.command is not None:
            app["command"] = list(self.app.command)
        else:
            app["variant"] = self.app.variant
        if self.app.env:
            app["env"] = dict(self.app.env)
        if self.app.health_path:
            app["health_path"] = self.app.health_path
        if self.app.workflows:
            app["workflows"] = self.app.workflows
        doc["app"] = app
        if self.backend != "processes":
            doc["backend"] = self.backend
        work: dict[str, Any] = {"orders": self.workload.orders}
        work["concurrency"] = self.workload.concurrency
        if self.workload.load is not None:
            load = self.workload.load
            work = {
                "load": {
                    "users": load.users,
                    "spawn_rate": load.spawn_rate,
                    "duration": load.duration,
                    "workers": load.workers,
                }
            }
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


# -- the node walker -------------------------------------------------------------------


class _Node:
    """A YAML node with its file position, for errors that say FILE:LINE."""

    def __init__(self, node: yaml.Node, source: str) -> None:
        self.node = node
        self.source = source

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.source}:{self.line}: {message}")

    def scalar(self, what: str, kind: type) -> Any:
        """The node's value as ``kind`` (str, int, float or bool), strictly: "5" is not an
        int and 5 is not a str."""
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"{what} must be {_type_name(kind)}, got a {_node_kind(self.node)}")
        # The composer already resolved the tag: quoted "5" is a str, plain 5 an int.
        value: Any = self.node.value
        if self.node.tag != "tag:yaml.org,2002:str":
            value = yaml.safe_load(self.node.value)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(f"{what} must be {_type_name(kind)}, got {self.node.value!r}")
        return value

    def items(self, what: str) -> list[_Node]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"{what} must be a list, got a {_node_kind(self.node)}")
        return [_Node(n, self.source) for n in self.node.value]

    def mapping(self, what: str, allowed: Sequence[str]) -> _Map:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"{what} must be a mapping, got a {_node_kind(self.node)}")
        return _Map(self, what, allowed)


class _Map:
    """A mapping whose keys must all be in ``allowed``; values are taken one by one."""

    def __init__(self, node: _Node, what: str, allowed: Sequence[str]) -> None:
        self.node = node
        self.what = what
        self.values: dict[str, _Node] = {}
        assert isinstance(node.node, yaml.MappingNode)
        for key_node, value_node in node.node.value:
            key = _Node(key_node, node.source)
            name: str | None = (
                key.scalar(f"a key of {what}", str)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if name is None or name not in allowed:
                raise key.error(
                    f"unknown key {key_node.value!r} in {what}; allowed: " + ", ".join(allowed)
                )
            if name in self.values:
                raise key.error(f"key {name!r} appears twice in {what}")
            self.values[name] = _Node(value_node, node.source)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def get(self, key: str, kind: type, default: Any = None, *, required: bool = False) -> Any:
        if key not in self.values:
            if required:
                raise self.node.error(f"{self.what} needs the key {key!r}")
            return default
        return self.values[key].scalar(self.label(key), kind)

    def label(self, key: str) -> str:
        """How a key is named in errors: ``workload.orders``, or ``seed`` at the top."""
        return key if self.what == "the scenario" else f"{self.what}.{key}"

    def child(self, key: str) -> _Node | None:
        return self.values.get(key)


def _type_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}[kind]


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "list"
    return f"value {node.value!r}"


def _positive(node: _Map, key: str, value: float | None, *, zero_ok: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not zero_ok):
        where = node.child(key) or node.node
        raise where.error(f"{node.label(key)} must be {'>= 0' if zero_ok else '> 0'}, got {value}")


def _choice(node: _Node | _Map, what: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        where = node if isinstance(node, _Node) else node.node
        raise where.error(f"{what} {value!r} is unknown; allowed: " + ", ".join(allowed))
    return value


# -- sections --------------------------------------------------------------------------

_TOP_KEYS = (
    "name",
    "description",
    "seed",
    "app",
    "backend",
    "workload",
    "failpoints",
    "faults",
    "checks",
    "slo",
    "timeouts",
)


def _app(node: _Node | None) -> AppSection:
    if node is None:
        return AppSection()
    m = node.mapping("app", ("command", "variant", "env", "health_path", "workflows"))
    command: tuple[str, ...] | None = None
    cmd_node = m.child("command")
    if cmd_node is not None:
        if isinstance(cmd_node.node, yaml.SequenceNode):
            command = tuple(
                n.scalar("app.command item", str) for n in cmd_node.items("app.command")
            )
        else:
            import shlex

            command = tuple(shlex.split(cmd_node.scalar("app.command", str)))
        if not command:
            raise cmd_node.error("app.command is empty; give the program to run")
        if "variant" in m:
            raise cmd_node.error(
                "app.variant applies to the reference app only; drop it or command"
            )
    variant = _choice(
        m.child("variant") or m, "app.variant", m.get("variant", str, "correct"), REFERENCE_VARIANTS
    )
    env: dict[str, str] = {}
    env_node = m.child("env")
    if env_node is not None:
        if not isinstance(env_node.node, yaml.MappingNode):
            raise env_node.error("app.env must be a mapping of NAME: value")
        for k, v in env_node.node.value:
            key = _Node(k, node.source).scalar("an app.env name", str)
            env[key] = str(_Node(v, node.source).node.value)
    health = m.get("health_path", str)
    if health is not None and not health.startswith("/"):
        raise (m.child("health_path") or node).error("app.health_path must start with '/'")
    return AppSection(command, variant, env, health, m.get("workflows", str))


def _workload(node: _Node | None) -> Workload:
    if node is None:
        return Workload()
    m = node.mapping("workload", ("orders", "concurrency", "load"))
    load_node = m.child("load")
    load: LoadSection | None = None
    if load_node is not None:
        if "orders" in m or "concurrency" in m:
            raise load_node.error(
                "workload has both load and orders/concurrency; a load profile sets its own pace"
            )
        lm = load_node.mapping("workload.load", ("users", "spawn_rate", "duration", "workers"))
        users = lm.get("users", int, required=True)
        spawn = lm.get("spawn_rate", float, float(users))
        duration = lm.get("duration", float, required=True)
        workers = lm.get("workers", int, 0)
        _positive(lm, "users", users)
        _positive(lm, "spawn_rate", spawn)
        _positive(lm, "duration", duration)
        _positive(lm, "workers", workers, zero_ok=True)
        load = LoadSection(users, spawn, duration, workers)
    orders = m.get("orders", int, 20)
    concurrency = m.get("concurrency", int, 4)
    _positive(m, "orders", orders)
    _positive(m, "concurrency", concurrency)
    return Workload(orders, concurrency, load)


def _failpoints(node: _Node | None, seed: int) -> tuple[Failpoint, ...]:
    if node is None:
        return ()
    out = []
    for item in node.items("failpoints"):
        m = item.mapping(
            "a failpoint", ("name", "action", "nth", "count", "probability", "seconds")
        )
        name = m.get("name", str, required=True)
        action = _choice(
            m.child("action") or m,
            "failpoint action",
            m.get("action", str, "crash"),
            FAILPOINT_ACTIONS,
        )
        count_node = m.child("count")
        count: int | None = 1
        if count_node is not None:
            if isinstance(count_node.node, yaml.ScalarNode) and count_node.node.value in (
                "every",
                "null",
                "~",
            ):
                count = None
            else:
                count = count_node.scalar("failpoint count (an integer or 'every')", int)
        try:
            out.append(
                Failpoint(
                    name,
                    action,
                    nth=m.get("nth", int, 1),
                    count=count,
                    probability=m.get("probability", float, 1.0),
                    seconds=m.get("seconds", float, 0.0),
                    seed=seed,
                )
            )
        except ConfigError as exc:
            raise item.error(str(exc)) from None
    names = [fp.name for fp in out]
    for name in names:
        if names.count(name) > 1:
            raise node.error(f"failpoint {name!r} is armed twice; one entry per name")
    return tuple(out)


def _trigger(node: _Node) -> dict[str, Any]:
    """The validated ``trigger`` mapping (see :func:`trigger_of` for what it means)."""
    m = node.mapping("fault.trigger", ("at", "between", "failpoint", "nth", "completed"))
    given = [k for k in ("at", "between", "failpoint", "completed") if k in m]
    if len(given) != 1:
        raise node.error(
            "fault.trigger needs exactly one of: at (seconds), between ([lo, hi] seconds, "
            "picked by the seed), failpoint (name, with optional nth), completed (orders)"
        )
    kind = given[0]
    if "nth" in m and kind != "failpoint":
        raise (m.child("nth") or node).error("fault.trigger.nth goes with failpoint only")
    if kind == "at":
        seconds = m.get("at", float)
        _positive(m, "at", seconds, zero_ok=True)
        return {"at": seconds}
    if kind == "between":
        span_node = m.child("between")
        assert span_node is not None
        bounds = [
            n.scalar("fault.trigger.between item", float)
            for n in span_node.items("fault.trigger.between")
        ]
        if len(bounds) != 2 or not 0 <= bounds[0] <= bounds[1]:
            raise span_node.error(
                "fault.trigger.between must be [lo, hi] with 0 <= lo <= hi seconds"
            )
        return {"between": bounds}
    if kind == "failpoint":
        name = m.get("failpoint", str)
        nth = m.get("nth", int, 1)
        _positive(m, "nth", nth)
        return {"failpoint": name, "nth": nth}
    count = m.get("completed", int)
    _positive(m, "completed", count)
    return {"completed": count}


def build_fault(action: str, target: str, params: dict[str, Any]) -> Fault:
    """The fault object for a validated (action, target, params) triple."""
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
    factories: dict[str, Callable[..., tx.Toxic]] = {
        "latency": lambda p: tx.latency(p["ms"], p.get("jitter_ms", 0), **common),
        "timeout": lambda p: tx.timeout(p.get("ms", 0), **common),
        "reset-peer": lambda p: tx.reset_peer(p.get("after_ms", 0), **common),
        "bandwidth": lambda p: tx.bandwidth(p["kb_per_s"], **common),
        "slicer": lambda p: tx.slicer(
            p["average_bytes"], p.get("size_variation", 0), p.get("delay_us", 0), **common
        ),
        "limit-data": lambda p: tx.limit_data(p["bytes"], **common),
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


def _fault(node: _Node, seed: int, index: int) -> tuple[FaultSpec, FaultEvent]:
    m = node.mapping("a fault", ("action", "target", "trigger", "duration", "params"))
    action = _choice(
        m.child("action") or m, "fault action", m.get("action", str, required=True), ACTIONS
    )
    target_node = m.child("target")
    if action in _MEMBER_ACTIONS:
        targets: tuple[str, ...] = ("daprd",) if action == "soft-restart" else MEMBERS
    else:
        targets = LINK_NAMES
    target = _choice(
        target_node or m, f"{action} target", m.get("target", str, required=True), targets
    )
    trigger_node = m.child("trigger")
    if trigger_node is None:
        raise node.error(
            "a fault needs a trigger: {at: S}, {between: [LO, HI]}, {failpoint: NAME}, "
            "or {completed: N}"
        )
    trigger_spec = _trigger(trigger_node)
    duration = m.get("duration", float)
    _positive(m, "duration", duration)
    allowed: dict[str, tuple[type, Any]] = {}
    if action == "kill":
        allowed = {"signal": (str, "KILL")}
    elif action in _TOXIC_PARAMS:
        allowed = {**_TOXIC_PARAMS[action], **_LINK_COMMON}
    params: dict[str, Any] = {}
    params_node = m.child("params")
    if params_node is not None:
        if not allowed:
            raise params_node.error(f"{action} takes no params")
        pm = params_node.mapping(f"{action} params", tuple(allowed))
        for key, (kind, _default) in allowed.items():
            if key in pm:
                params[key] = pm.get(key, kind)
                if kind in (int, float):
                    _positive(pm, key, params[key], zero_ok=key != "ms" or action != "latency")
    missing = [k for k, (_, default) in allowed.items() if default is None and k not in params]
    if missing:
        raise (params_node or node).error(f"{action} needs params: " + ", ".join(missing))
    where = params_node or node
    if "signal" in params:
        _choice(where, "kill signal", params["signal"], _SIGNALS)
    if "stream" in params:
        _choice(where, "toxic stream", params["stream"], ("downstream", "upstream"))
    if "toxicity" in params and not 0 < params["toxicity"] <= 1:
        raise where.error(f"toxicity must be in (0, 1], got {params['toxicity']}")
    spec = FaultSpec(action, target, trigger_spec, duration, params)
    try:
        event = spec_event(spec, seed, index)
    except ConfigError as exc:
        raise node.error(str(exc)) from None
    return spec, event


def _checks(node: _Node | None) -> tuple[str, ...]:
    if node is None:
        return DEFAULT_CHECKS
    names = []
    for item in node.items("checks"):
        names.append(_choice(item, "check", item.scalar("a check name", str), CHECKS))
    if not names:
        raise node.error("checks is empty; a scenario that checks nothing proves nothing")
    return tuple(names)


def _slo(node: _Node | None, workload: Workload) -> SLOSection | None:
    if node is None:
        return None
    m = node.mapping("slo", ("min_throughput", "max_p99_ms", "max_recovery_s"))
    slo = SLOSection(
        m.get("min_throughput", float), m.get("max_p99_ms", float), m.get("max_recovery_s", float)
    )
    for key in ("min_throughput", "max_p99_ms", "max_recovery_s"):
        _positive(m, key, getattr(slo, key))
    if workload.load is None:
        raise node.error("slo needs a load profile (workload.load): SLOs are measured under load")
    return slo


def parse_scenario(text: str, source: str = "<scenario>", path: Path | None = None) -> Scenario:
    """Validate one scenario document; ConfigError ``SOURCE:LINE: ...`` on any problem."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark is not None else "1"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}:{line}: not valid YAML: {problem}") from None
    if root is None:
        raise ConfigError(f"{source}:1: the file is empty; a scenario needs at least a name")
    top = _Node(root, source).mapping("the scenario", _TOP_KEYS)
    name = top.get("name", str, required=True)
    if not _NAME.match(name):
        raise (top.child("name") or top.node).error(
            f"name {name!r} is invalid; use 1-48 lowercase letters, digits and dashes"
        )
    seed = top.get("seed", int, zlib.crc32(name.encode()) % 100_000)
    app = _app(top.child("app"))
    backend = _choice(
        top.child("backend") or top, "backend", top.get("backend", str, "processes"), BACKENDS
    )
    workload = _workload(top.child("workload"))
    failpoints = _failpoints(top.child("failpoints"), seed)
    specs: list[FaultSpec] = []
    events: list[FaultEvent] = []
    faults_node = top.child("faults")
    if faults_node is not None:
        for index, item in enumerate(faults_node.items("faults")):
            spec, event = _fault(item, seed, index)
            specs.append(spec)
            events.append(event)
    timeouts = top.child("timeouts")
    chaos_timeout, verify = 60.0, 60.0
    if timeouts is not None:
        tm = timeouts.mapping("timeouts", ("chaos", "verify"))
        chaos_timeout = tm.get("chaos", float, chaos_timeout)
        verify = tm.get("verify", float, verify)
        _positive(tm, "chaos", chaos_timeout)
        _positive(tm, "verify", verify)
    return Scenario(
        name=name,
        path=path,
        description=top.get("description", str, ""),
        seed=seed,
        app=app,
        backend=backend,
        workload=workload,
        failpoints=failpoints,
        faults=tuple(specs),
        schedule=Schedule(tuple(events), chaos_timeout=chaos_timeout, verify_deadline=verify),
        checks=_checks(top.child("checks")),
        slo=_slo(top.child("slo"), workload),
    )


def load_scenario(path: Path) -> Scenario:
    """Read and validate ``path`` (ConfigError naming the file if it cannot be read)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the scenario file: {exc.strerror}") from None
    return parse_scenario(text, str(path), path)


def discover(paths: Sequence[Path]) -> list[Path]:
    """Scenario files under ``paths``: a file is taken as given; a directory contributes
    every ``*.scenario.yaml`` directly in it (not in subdirectories), sorted. A path
    that does not exist, or a set with no scenario at all, is an error."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.glob(f"*{SUFFIX}")))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path}: no such scenario file or directory")
    if not found:
        raise ConfigError(
            "no scenario files found under "
            + ", ".join(map(str, paths))
            + f" (names end in {SUFFIX})"
        )
    return found


def load_all(paths: Sequence[Path]) -> list[Scenario]:
    """Every scenario under ``paths``, all validated before any runs; names must be
    unique (reports and instance ids are keyed by name)."""
    scenarios = [load_scenario(p) for p in discover(paths)]
    seen: dict[str, Path | None] = {}
    for sc in scenarios:
        if sc.name in seen:
            raise ConfigError(
                f"{sc.path}:1: scenario name {sc.name!r} is also used by {seen[sc.name]}; "
                "names must be unique"
            )
        seen[sc.name] = sc.path
    return scenarios
