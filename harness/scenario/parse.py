"""Scenario files: one chaos experiment described in YAML, validated strictly into a
:class:`~harness.scenario.model.Scenario`.

A scenario names the app, the workload, the failpoints to arm, the faults (each with a
trigger, an action, a target and a duration), the checks, the SLOs and the seed. The
format is documented in ``scenarios/README.md``; ``SCHEMA_VERSION`` names it.

Validation happens before anything starts. Every problem is a :class:`ConfigError` whose
message begins with ``FILE:LINE:`` and lists the allowed keys or values. Unknown keys are
errors: a typo must never run as a scenario that silently does less.

All durations are seconds; latencies in the ``params`` of network faults are milliseconds.
"""

from __future__ import annotations

import json
import re
import shlex
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from harness.app._failpoints import ACTIONS as FAILPOINT_ACTIONS
from harness.checks.verification import CHECKS, default_checks
from harness.errors import ConfigError
from harness.faults.failpoints import Failpoint
from harness.faults.fault import LINK_NAMES, MEMBERS
from harness.faults.raise_event import RECIPIENTS
from harness.faults.schedule import FaultEvent, Schedule
from harness.record.order_shape import ORDER_SHAPES, SHAPE_KEYS, OrderShape, order_shape
from harness.scenario.model import (
    REFERENCE_VARIANTS,
    SUFFIX,
    AppSection,
    FaultSpec,
    LoadSection,
    Scenario,
    SLOSection,
    WorkloadSection,
    spec_event,
)
from harness.scenario.nodes import Node, StrictMapping, choice, positive
from harness.stack.builtin_apps import BUILTIN_APPS, SEED_GO, SEED_GO_VARIANTS
from harness.stack.config import BACKENDS, check_dependencies

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
ACTIONS = (*_MEMBER_ACTIONS, *_TOXIC_PARAMS, "down", "deploy", "raise-event")
_SIGNALS = ("KILL", "TERM", "INT", "QUIT", "ABRT")


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


def _app(node: Node | None, source_dir: Path | None) -> AppSection:
    if node is None:
        return AppSection()
    m = node.mapping(
        "app",
        (
            "command",
            "variant",
            "env",
            "health_path",
            "workflows",
            "instrument",
            "dependencies",
            "cwd",
            "builtin",
            "order_api",
        ),
    )
    command: tuple[str, ...] | None = None
    cmd_node = m.child("command")
    if cmd_node is not None:
        if isinstance(cmd_node.node, yaml.SequenceNode):
            command = tuple(
                n.scalar("app.command item", str) for n in cmd_node.items("app.command")
            )
        else:
            command = tuple(shlex.split(cmd_node.scalar("app.command", str)))
        if not command:
            raise cmd_node.error("app.command is empty; give the program to run")
    own = cmd_node is not None or "workflows" in m
    if own and "variant" in m:
        raise (m.child("variant") or node).error(
            "app.variant applies to the reference app only; drop it, or command/workflows"
        )
    if own and "builtin" in m:
        raise (m.child("builtin") or node).error(
            "app.builtin names a built-in order app to run; drop it, or command/workflows"
        )
    builtin = choice(
        m.child("builtin") or m, "app.builtin", m.get("builtin", str, "reference"), BUILTIN_APPS
    )
    variant = choice(
        m.child("variant") or m,
        "app.variant" + (f" of {builtin}" if builtin != "reference" else ""),
        m.get("variant", str, "correct"),
        SEED_GO_VARIANTS if builtin == SEED_GO else REFERENCE_VARIANTS,
    )
    order_api = _order_api(m.child("order_api"))
    env: dict[str, str] = {}
    env_node = m.child("env")
    if env_node is not None:
        if not isinstance(env_node.node, yaml.MappingNode):
            raise env_node.error("app.env must be a mapping of NAME: value")
        for k, v in env_node.node.value:
            key = Node(k, node.source).scalar("an app.env name", str)
            env[key] = str(Node(v, node.source).node.value)
    health = m.get("health_path", str)
    if health is not None and not health.startswith("/"):
        raise (m.child("health_path") or node).error("app.health_path must start with '/'")
    workflows = m.get("workflows", str)
    if workflows is not None and (not workflows or workflows.startswith(":")):
        raise (m.child("workflows") or node).error(
            f"app.workflows {workflows!r} names no module; use MODULE[:ATTR]"
        )
    instrument = m.get("instrument", bool, False)
    if instrument and command is None:
        raise (m.child("instrument") or node).error(
            "app.instrument is for an app given as a command (a hosted app is instrumented "
            "anyway, the reference app has its own failpoints)"
        )
    deps: dict[str, str] = {}
    deps_node = m.child("dependencies")
    if deps_node is not None:
        dm = deps_node.mapping("app.dependencies", tuple(_dependency_names(deps_node)))
        for name in dm.values:
            deps[name] = dm.get(name, str)
        if command is None and workflows is None:
            raise deps_node.error(
                "app.dependencies are for your own app; the reference app declares its store"
            )
        try:
            check_dependencies(deps)
        except ConfigError as exc:
            raise deps_node.error(str(exc)) from None
    cwd_text = m.get("cwd", str)
    cwd = None
    if cwd_text is not None:
        cwd = (source_dir / cwd_text).resolve() if source_dir else Path(cwd_text).resolve()
        if not cwd.is_dir():
            raise (m.child("cwd") or node).error(f"app.cwd {cwd} is not a directory")
    return AppSection(
        command, variant, env, health, workflows, instrument, deps, cwd, builtin, order_api
    )


def _order_api(node: Node | None) -> OrderShape | None:
    """``app.order_api``: a built-in shape's name, or a mapping {field, approved,
    rejected?, rejected_prefix?} (values: a string or a list of strings)."""
    if node is None:
        return None
    try:
        if isinstance(node.node, yaml.ScalarNode):
            return order_shape(node.scalar("app.order_api", str))
        if not isinstance(node.node, yaml.MappingNode):
            raise ConfigError(
                f"must be one of {', '.join(ORDER_SHAPES)} or a mapping "
                f"{{{', '.join(SHAPE_KEYS)}}}, got a list"
            )
        data = SafeConstructor().construct_mapping(node.node, deep=True)
        return order_shape({str(k): v for k, v in data.items()})
    except ConfigError as exc:
        message = str(exc)
        if message.startswith(node.source):
            raise  # already FILE:LINE (a scalar of the wrong type)
        if message.startswith("order_api"):
            message = message.removeprefix("order_api")
        else:
            message = ": " + message
        raise node.error("app.order_api" + message) from None


def _dependency_names(node: Node) -> list[str]:
    """The keys of a mapping node (any name: check_dependencies judges them)."""
    if not isinstance(node.node, yaml.MappingNode):
        raise node.error("app.dependencies must be a mapping of NAME: 127.0.0.1:PORT")
    return [str(k.value) for k, _v in node.node.value]


def _workload(node: Node | None) -> WorkloadSection:
    if node is None:
        return WorkloadSection()
    m = node.mapping(
        "workload",
        ("orders", "concurrency", "pace", "load", "instances", "workflow", "inputs", "outputs"),
    )
    workflow = m.get("workflow", str)
    count_key = "orders" if workflow is None else "instances"
    wrong = "instances" if workflow is None else "orders"
    if wrong in m:
        raise (m.child(wrong) or node).error(
            f"workload.{wrong} goes with "
            + ("a workflow (workload.workflow)" if workflow is None else "the order API")
            + f"; use workload.{count_key}"
        )
    for key in ("inputs", "outputs"):
        if key in m and workflow is None:
            raise (m.child(key) or node).error(f"workload.{key} needs workload.workflow")
    inputs = _data_list(m.child("inputs"), "workload.inputs") if "inputs" in m else [None]
    outputs = _data_list(m.child("outputs"), "workload.outputs") if "outputs" in m else None
    if outputs is not None and len(outputs) != len(inputs):
        raise (m.child("outputs") or node).error(
            f"workload.outputs has {len(outputs)} item(s) but workload.inputs {len(inputs)}; "
            "give one expected output per input"
        )
    load_node = m.child("load")
    load: LoadSection | None = None
    if load_node is not None:
        if count_key in m or "concurrency" in m or "pace" in m:
            raise load_node.error(
                f"workload has both load and {count_key}/concurrency/pace; a load profile sets "
                "its own pace"
            )
        lm = load_node.mapping("workload.load", ("users", "spawn_rate", "duration", "workers"))
        users = lm.get("users", int, required=True)
        spawn = lm.get("spawn_rate", float, float(users))
        duration = lm.get("duration", float, required=True)
        workers = lm.get("workers", int, 0)
        positive(lm, "users", users)
        positive(lm, "spawn_rate", spawn)
        positive(lm, "duration", duration)
        positive(lm, "workers", workers, zero_ok=True)
        load = LoadSection(users, spawn, duration, workers)
    count = m.get(count_key, int, 20)
    concurrency = m.get("concurrency", int, 4)
    positive(m, count_key, count)
    positive(m, "concurrency", concurrency)
    pace = m.get("pace", float, 0.0)
    positive(m, "pace", pace, zero_ok=True)
    return WorkloadSection(
        count,
        concurrency,
        load,
        workflow,
        tuple(inputs),
        tuple(outputs) if outputs is not None else None,
        pace,
    )


def _data_list(node: Node | None, what: str) -> list[Any]:
    """A YAML list as plain data (each item must serialize to JSON: a workflow input)."""
    assert node is not None
    items = node.items(what)
    if not items:
        raise node.error(f"{what} is empty; give at least one")
    values = []
    for item in items:
        value = SafeConstructor().construct_object(item.node, deep=True)
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise item.error(f"{what} item {value!r} is not JSON data: {exc}") from None
        values.append(value)
    return values


def _failpoints(node: Node | None, seed: int) -> tuple[Failpoint, ...]:
    if node is None:
        return ()
    out = []
    for item in node.items("failpoints"):
        m = item.mapping(
            "a failpoint", ("name", "action", "nth", "count", "probability", "seconds")
        )
        name = m.get("name", str, required=True)
        action = choice(
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


def _trigger(node: Node) -> dict[str, Any]:
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
        positive(m, "at", seconds, zero_ok=True)
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
        positive(m, "nth", nth)
        return {"failpoint": name, "nth": nth}
    count = m.get("completed", int)
    positive(m, "completed", count)
    return {"completed": count}


def _fault_trigger(node: Node, m: StrictMapping) -> dict[str, Any]:
    """A fault's required ``trigger``, validated."""
    trigger_node = m.child("trigger")
    if trigger_node is None:
        raise node.error(
            "a fault needs a trigger: {at: S}, {between: [LO, HI]}, {failpoint: NAME}, "
            "or {completed: N}"
        )
    return _trigger(trigger_node)


def _fault(
    node: Node, seed: int, index: int, links: tuple[str, ...], workload: WorkloadSection
) -> tuple[FaultSpec, FaultEvent]:
    m = node.mapping("a fault", ("action", "target", "trigger", "duration", "params"))
    action = choice(
        m.child("action") or m, "fault action", m.get("action", str, required=True), ACTIONS
    )
    target_node = m.child("target")
    if action == "deploy":
        return _deploy(node, m, seed, index)
    if action == "raise-event":
        return _raise_event(node, m, seed, index, workload)
    if action in _MEMBER_ACTIONS:
        targets: tuple[str, ...] = ("daprd",) if action == "soft-restart" else MEMBERS
    else:
        targets = links
    target = choice(
        target_node or m, f"{action} target", m.get("target", str, required=True), targets
    )
    trigger_spec = _fault_trigger(node, m)
    duration = m.get("duration", float)
    positive(m, "duration", duration)
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
                    positive(pm, key, params[key], zero_ok=key != "ms" or action != "latency")
    missing = [k for k, (_, default) in allowed.items() if default is None and k not in params]
    if missing:
        raise (params_node or node).error(f"{action} needs params: " + ", ".join(missing))
    where = params_node or node
    if "signal" in params:
        choice(where, "kill signal", params["signal"], _SIGNALS)
    if "stream" in params:
        choice(where, "toxic stream", params["stream"], ("downstream", "upstream"))
    if "toxicity" in params and not 0 < params["toxicity"] <= 1:
        raise where.error(f"toxicity must be in (0, 1], got {params['toxicity']}")
    spec = FaultSpec(action, target, trigger_spec, duration, params)
    try:
        event = spec_event(spec, seed, index)
    except ConfigError as exc:
        raise node.error(str(exc)) from None
    return spec, event


def _deploy(node: Node, m: StrictMapping, seed: int, index: int) -> tuple[FaultSpec, FaultEvent]:
    """``action: deploy``: target app (the default), params ``workflows`` (MODULE:ATTR)
    and/or ``env`` (added to the app's), ``mode`` gap or overlap, ``seconds``."""
    if m.get("target", str, "app") != "app":
        raise (m.child("target") or node).error("a deploy replaces the app: target app")
    if m.get("duration", float) is not None:
        raise (m.child("duration") or node).error(
            "a deploy has no duration: it is not undone (deploy the old version again)"
        )
    trigger_spec = _fault_trigger(node, m)
    params_node = m.child("params")
    if params_node is None:
        raise node.error("deploy needs params: workflows (MODULE:ATTR) and/or env, the new version")
    pm = params_node.mapping("deploy params", ("workflows", "env", "mode", "seconds"))
    params: dict[str, Any] = {}
    if "workflows" in pm:
        params["workflows"] = pm.get("workflows", str)
    env_node = pm.child("env")
    if env_node is not None:
        if not isinstance(env_node.node, yaml.MappingNode):
            raise env_node.error("deploy env must be a mapping of NAME: value")
        params["env"] = {
            Node(k, node.source).scalar("a deploy env name", str): str(v.value)
            for k, v in env_node.node.value
        }
    if "workflows" not in params and "env" not in params:
        raise params_node.error("deploy needs the new version: workflows (MODULE:ATTR) or env")
    params["mode"] = choice(
        pm.child("mode") or params_node,
        "deploy mode",
        pm.get("mode", str, "gap"),
        ("gap", "overlap"),
    )
    params["seconds"] = pm.get("seconds", float, 1.0)
    positive(pm, "seconds", params["seconds"], zero_ok=True)
    spec = FaultSpec("deploy", "app", trigger_spec, None, params)
    try:
        event = spec_event(spec, seed, index)
    except ConfigError as exc:
        raise node.error(str(exc)) from None
    return spec, event


def _raise_event(
    node: Node, m: StrictMapping, seed: int, index: int, workload: WorkloadSection
) -> tuple[FaultSpec, FaultEvent]:
    """``action: raise-event``: target workload (the default), params ``event`` (the
    name, required), ``data`` (JSON), ``instances`` running (default) or all,
    ``resend_for`` (seconds a raise daprd does not take is sent again)."""
    if workload.workflow is None:
        raise node.error(
            "raise-event sends an external event to workflow instances: it needs "
            "workload.workflow (the order API has no events)"
        )
    if m.get("target", str, "workload") != "workload":
        raise (m.child("target") or node).error(
            "raise-event is sent by the workload to its instances: target workload"
        )
    if m.get("duration", float) is not None:
        raise (m.child("duration") or node).error(
            "raise-event has no duration: an event, once raised, is not taken back"
        )
    trigger_spec = _fault_trigger(node, m)
    params_node = m.child("params")
    if params_node is None:
        raise node.error("raise-event needs params: event (the event's name)")
    pm = params_node.mapping("raise-event params", ("event", "data", "instances", "resend_for"))
    params: dict[str, Any] = {"event": pm.get("event", str, required=True)}
    data_node = pm.child("data")
    if data_node is not None:
        params["data"] = SafeConstructor().construct_object(data_node.node, deep=True)
        try:
            json.dumps(params["data"])
        except (TypeError, ValueError) as exc:
            raise data_node.error(f"raise-event data is not JSON data: {exc}") from None
    params["instances"] = choice(
        pm.child("instances") or params_node,
        "raise-event instances",
        pm.get("instances", str, "running"),
        RECIPIENTS,
    )
    if "resend_for" in pm:
        params["resend_for"] = pm.get("resend_for", float)
        positive(pm, "resend_for", params["resend_for"], zero_ok=True)
    spec = FaultSpec("raise-event", "workload", trigger_spec, None, params)
    try:
        event = spec_event(spec, seed, index)
    except ConfigError as exc:
        raise node.error(str(exc)) from None
    return spec, event


def _checks(node: Node | None, kind: str, app: AppSection) -> tuple[str, ...]:
    if node is None:
        return default_checks(kind)
    names = []
    for item in node.items("checks"):
        names.append(choice(item, "check", item.scalar("a check name", str), CHECKS))
        if names[-1] == "replay" and app.seed_go:
            raise item.error(
                "the replay check replays Python workflow code; the seed-go app is Go "
                "(drop replay from checks)"
            )
    if not names:
        raise node.error("checks is empty; a scenario that checks nothing proves nothing")
    # What the run exercised is always reported: the other checks' verdicts mean little
    # about a path no order took or a fault that hit no work.
    if "coverage" not in names:
        names.append("coverage")
    return tuple(names)


def _slo(node: Node | None, workload: WorkloadSection) -> SLOSection | None:
    if node is None:
        return None
    m = node.mapping("slo", ("min_throughput", "max_p99_ms", "max_recovery_s"))
    slo = SLOSection(
        m.get("min_throughput", float), m.get("max_p99_ms", float), m.get("max_recovery_s", float)
    )
    for key in ("min_throughput", "max_p99_ms", "max_recovery_s"):
        positive(m, key, getattr(slo, key))
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
    top = Node(root, source).mapping("the scenario", _TOP_KEYS)
    name = top.get("name", str, required=True)
    if not _NAME.match(name):
        raise (top.child("name") or top.node).error(
            f"name {name!r} is invalid; use 1-48 lowercase letters, digits and dashes"
        )
    seed = top.get("seed", int, zlib.crc32(name.encode()) % 100_000)
    app = _app(top.child("app"), path.parent if path is not None else None)
    backend = choice(
        top.child("backend") or top, "backend", top.get("backend", str, "processes"), BACKENDS
    )
    workload = _workload(top.child("workload"))
    failpoints = _failpoints(top.child("failpoints"), seed)
    specs: list[FaultSpec] = []
    events: list[FaultEvent] = []
    faults_node = top.child("faults")
    if faults_node is not None:
        for index, item in enumerate(faults_node.items("faults")):
            spec, event = _fault(item, seed, index, (*LINK_NAMES, *app.links), workload)
            specs.append(spec)
            events.append(event)
    timeouts = top.child("timeouts")
    chaos_timeout, verify = 60.0, 60.0
    if timeouts is not None:
        tm = timeouts.mapping("timeouts", ("chaos", "verify"))
        chaos_timeout = tm.get("chaos", float, chaos_timeout)
        verify = tm.get("verify", float, verify)
        positive(tm, "chaos", chaos_timeout)
        positive(tm, "verify", verify)
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
        checks=_checks(top.child("checks"), workload.kind, app),
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
