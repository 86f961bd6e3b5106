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
from harness.faults.fault import LINK_NAMES
from harness.faults.schedule import FaultEvent, Schedule
from harness.record.order_shape import ORDER_SHAPES, SHAPE_KEYS, OrderShape, order_shape
from harness.scenario.fault_section import parse_fault
from harness.scenario.model import (
    REFERENCE_VARIANTS,
    SUFFIX,
    AppSection,
    FaultSpec,
    LoadSection,
    Scenario,
    SLOSection,
    WorkloadSection,
)
from harness.scenario.nodes import Node, choice, positive
from harness.stack.builtin_apps import BUILTIN_APPS, SEED_GO, SEED_GO_VARIANTS
from harness.stack.config import BACKENDS, check_dependencies

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")


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
            spec, event = parse_fault(item, seed, index, (*LINK_NAMES, *app.links), workload)
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
