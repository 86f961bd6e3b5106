"""The ``faults`` section of a scenario file: each entry's action, target, trigger,
duration and params, validated into the :class:`~harness.scenario.model.FaultSpec` kept for
writing the file back and the :class:`~harness.faults.schedule.FaultEvent` that runs.

Process and network faults, ``deploy`` (another version of the app) and ``raise-event``
(a client step the workload sends) share the triggers. Every problem is a
:class:`ConfigError` beginning ``FILE:LINE:``. Durations are seconds; latencies in the
``params`` of network faults are milliseconds.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from harness.errors import ConfigError
from harness.faults.fault import MEMBERS
from harness.faults.raise_event import RECIPIENTS
from harness.faults.schedule import FaultEvent
from harness.scenario.model import FaultSpec, WorkloadSection, spec_event
from harness.scenario.nodes import Node, StrictMapping, choice, positive

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


def parse_fault(
    node: Node, seed: int, index: int, links: tuple[str, ...], workload: WorkloadSection
) -> tuple[FaultSpec, FaultEvent]:
    """One entry of ``faults`` (the ``index``-th; ``seed`` draws its ``between`` time):
    its spec and its event. ``links``: the link names this scenario's app has;
    ``workload``: what a raise-event needs (a workflow)."""
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
    return _built(node, FaultSpec(action, target, trigger_spec, duration, params), seed, index)


def _built(node: Node, spec: FaultSpec, seed: int, index: int) -> tuple[FaultSpec, FaultEvent]:
    """``spec`` with the event it stands for (a ConfigError in building it gets the
    entry's file and line)."""
    try:
        return spec, spec_event(spec, seed, index)
    except ConfigError as exc:
        raise node.error(str(exc)) from None


def _one_shot(
    node: Node, m: StrictMapping, target: tuple[str, str], no_duration: str, needs: str
) -> tuple[dict[str, Any], Node]:
    """The common part of an action that acts once on a fixed target: ``target`` (the
    only one allowed, and the error otherwise), no duration (``no_duration`` says why),
    a trigger, and params (``needs`` says which). Returns the trigger and the params."""
    only, wrong_target = target
    if m.get("target", str, only) != only:
        raise (m.child("target") or node).error(wrong_target)
    if m.get("duration", float) is not None:
        raise (m.child("duration") or node).error(no_duration)
    trigger_spec = _fault_trigger(node, m)
    params_node = m.child("params")
    if params_node is None:
        raise node.error(needs)
    return trigger_spec, params_node


def _deploy(node: Node, m: StrictMapping, seed: int, index: int) -> tuple[FaultSpec, FaultEvent]:
    """``action: deploy``: target app (the default), params ``workflows`` (MODULE:ATTR)
    and/or ``env`` (added to the app's), ``mode`` gap or overlap, ``seconds``."""
    trigger_spec, params_node = _one_shot(
        node,
        m,
        ("app", "a deploy replaces the app: target app"),
        "a deploy has no duration: it is not undone (deploy the old version again)",
        "deploy needs params: workflows (MODULE:ATTR) and/or env, the new version",
    )
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
    return _built(node, FaultSpec("deploy", "app", trigger_spec, None, params), seed, index)


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
    trigger_spec, params_node = _one_shot(
        node,
        m,
        ("workload", "raise-event is sent by the workload to its instances: target workload"),
        "raise-event has no duration: an event, once raised, is not taken back",
        "raise-event needs params: event (the event's name)",
    )
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
    return _built(
        node, FaultSpec("raise-event", "workload", trigger_spec, None, params), seed, index
    )
