"""The strategies behind :mod:`harness.strategies` (see there for how to use them): what
a stack offers to break (:class:`FaultSpace`) and plans of faults drawn from it
(:class:`FaultPlan`). Durations are seconds; latencies are milliseconds.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.explore.profiles import register_hypothesis_profiles
from harness.faults.failpoints import Failpoint
from harness.faults.fault import FAULT_KINDS, LINK_NAMES, MEMBERS, is_link
from harness.scenario.model import FaultSpec, Scenario
from harness.scenario.parse import parse_scenario

register_hypothesis_profiles()

FAILPOINT_ACTIONS = ("crash", "raise", "delay", "pause")
MEMBER_ACTIONS = ("kill", "restart", "pause", "soft-restart")
LINK_ACTIONS = ("down", "latency", "reset-peer")
DEPLOY_MODES = ("gap", "overlap")
DEPLOY_SECONDS = (0.0, 0.5, 1.0, 2.0)  # a gap's or an overlap's length
TRIGGERS = ("failpoint", "completed", "at")
# Scheduled steps that belong to the workload, not to the faults: a search keeps the base
# scenario's (its instances may wait for them) and never generates or shrinks them.
WORKLOAD_STEPS = ("raise-event",)
# Simplest first: shrinking moves towards the front of each tuple.
DURATIONS = (0.5, 1.0, 2.0, 3.0)
LATENCIES_MS = (100, 500, 2000)

# The reference order app's failpoints (harness/reference_apps/orders/workflow.py): before and after
# the effect of each activity. refund_payment runs only when stock ran out in between.
REFERENCE_ACTIVITIES = ("check_inventory", "charge_payment", "reserve_stock", "notify_customer")


def _subset(what: str, given: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    unknown = [x for x in given if x not in allowed]
    if unknown:
        raise ConfigError(f"unknown {what} {unknown}; choose from {', '.join(allowed)}")
    return tuple(given)


@dataclass(frozen=True)
class FaultSpace:
    """What a stack offers to break, and which of it to use.

    ``failpoints`` maps each failpoint name to the hits a fault-free run makes (>= 1):
    failpoint faults and triggers pick a hit number up to that, so they fire. ``orders``
    bounds "once N orders are terminal" triggers. ``kinds`` picks among failpoint faults,
    member (process) faults and link (network) faults; the ``*_actions`` pick actions.
    ``times`` also allows wall-clock triggers (at 0..``horizon`` seconds), which make a run
    depend on the machine's speed. ``max_seconds`` caps pauses, delays and fault
    durations (seconds). ``versions``: the hosted app's code versions (``MODULE:ATTR``,
    the app's own first) that deploy faults switch between, back and forth, with a gap
    or an overlap; none, no deploy faults.
    """

    failpoints: Mapping[str, int] = field(default_factory=dict)
    members: tuple[str, ...] = MEMBERS
    links: tuple[str, ...] = LINK_NAMES
    orders: int = 6
    kinds: tuple[str, ...] = FAULT_KINDS
    failpoint_actions: tuple[str, ...] = FAILPOINT_ACTIONS
    member_actions: tuple[str, ...] = MEMBER_ACTIONS
    link_actions: tuple[str, ...] = LINK_ACTIONS
    times: bool = False
    horizon: float = 5.0
    max_seconds: float = 3.0
    versions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _subset("fault kind(s)", self.kinds, FAULT_KINDS)
        _subset("failpoint action(s)", self.failpoint_actions, FAILPOINT_ACTIONS)
        _subset("member action(s)", self.member_actions, MEMBER_ACTIONS)
        _subset("link action(s)", self.link_actions, LINK_ACTIONS)
        _subset("member(s)", self.members, MEMBERS)
        bad_links = [link for link in self.links if not is_link(link)]
        if bad_links:
            raise ConfigError(
                f"unknown link(s) {bad_links}; choose from {', '.join(LINK_NAMES)} or "
                "app->NAME for an app dependency"
            )
        bad = {name: n for name, n in self.failpoints.items() if n < 1}
        if bad:
            raise ConfigError(f"failpoint hit counts must be >= 1, got {bad}")
        if self.orders < 1:
            raise ConfigError(f"orders must be >= 1, got {self.orders}")
        if self.max_seconds < DURATIONS[0] or self.horizon <= 0:
            raise ConfigError(
                f"max_seconds must be >= {DURATIONS[0]} and horizon > 0 seconds, got "
                f"{self.max_seconds} and {self.horizon}"
            )
        bad_versions = [v for v in self.versions if ":" not in v or v.startswith(":")]
        if bad_versions:
            raise ConfigError(f"deploy versions must be MODULE:ATTR, got {bad_versions}")
        if not self.generators():
            raise ConfigError(
                "the fault space is empty: no failpoints, members, links or versions to "
                f"deploy left for the kinds {', '.join(self.kinds)}"
            )

    @classmethod
    def reference(cls, orders: int = 6, **kwargs: Any) -> FaultSpace:
        """The reference order app's space without a discovery run: each activity's
        before/after-effect failpoint is hit once per order (out-of-stock orders stop
        earlier, so hit numbers are kept to half the orders)."""
        per_run = max(1, orders // 2)
        points = {
            f"{activity}.{where}": per_run
            for activity in REFERENCE_ACTIVITIES
            for where in ("before_effect", "after_effect")
        }
        return cls(failpoints=points, orders=orders, **kwargs)

    @classmethod
    def for_activities(
        cls, activities: Sequence[str], instances: int = 6, **kwargs: Any
    ) -> FaultSpace:
        """The space of a hosted (instrumented) app without a discovery run: each
        activity's ``.before`` and ``.after`` failpoint, hit once per instance."""
        if not activities:
            raise ConfigError("for_activities needs at least one activity name")
        points = {
            f"{name}.{where}": instances for name in activities for where in ("before", "after")
        }
        return cls(failpoints=points, orders=instances, **kwargs)

    def restricted(self, **changes: Any) -> FaultSpace:
        """A copy with some fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def failpoint_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.failpoints))

    def generators(self) -> list[st.SearchStrategy[Failpoint | FaultSpec]]:
        """One strategy per kind that has something to act on, in ``kinds`` order."""
        out: list[st.SearchStrategy[Failpoint | FaultSpec]] = []
        for kind in self.kinds:
            if kind == "failpoint" and self.failpoints and self.failpoint_actions:
                out.append(failpoint_faults(self))
            elif kind == "member" and self._member_choices():
                out.append(member_faults(self))
            elif kind == "link" and self.links and self.link_actions:
                out.append(link_faults(self))
            elif kind == "deploy" and len(self.versions) >= 2:
                out.append(deploy_faults(self))
        return out

    def _member_choices(self) -> list[tuple[str, str]]:
        """(action, target) pairs: soft-restart exists for daprd only."""
        return [
            (action, target)
            for action in self.member_actions
            for target in (("daprd",) if action == "soft-restart" else self.members)
            if target in self.members
        ]

    def durations(self) -> tuple[float, ...]:
        return tuple(d for d in DURATIONS if d <= self.max_seconds)


@dataclass(frozen=True)
class FaultPlan:
    """Faults for one run: failpoints to arm and scheduled process/network faults.
    ``len(plan)`` counts both; a failpoint appears at most once."""

    failpoints: tuple[Failpoint, ...] = ()
    faults: tuple[FaultSpec, ...] = ()

    def __len__(self) -> int:
        return len(self.failpoints) + len(self.faults)

    @classmethod
    def of(cls, steps: Sequence[Failpoint | FaultSpec]) -> FaultPlan:
        """A plan from mixed steps, keeping the first arming of each failpoint name."""
        armed: dict[str, Failpoint] = {}
        faults: list[FaultSpec] = []
        for step in steps:
            if isinstance(step, Failpoint):
                armed.setdefault(step.name, step)
            else:
                faults.append(step)
        return cls(tuple(armed.values()), tuple(faults))

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> FaultPlan:
        """The plan a scenario's failpoints and faults make (its workload steps are not
        faults: :func:`workload_steps`)."""
        faults = tuple(f for f in scenario.faults if f.action not in WORKLOAD_STEPS)
        return cls(scenario.failpoints, faults)

    def describe(self) -> list[str]:
        """One readable line per fault."""
        lines = [describe_failpoint(fp) for fp in self.failpoints]
        lines += [describe_fault(spec) for spec in self.faults]
        return lines or ["no faults"]

    def key(self) -> str:
        """Equal for plans that run identically (the cache key of a search)."""
        armed = [
            (fp.name, fp.action, fp.nth, fp.count, float(fp.probability), float(fp.seconds))
            for fp in self.failpoints
        ]
        return json.dumps([armed, [s.as_yaml() for s in self.faults]], sort_keys=True)

    def apply(self, base: Scenario, name: str | None = None, description: str = "") -> Scenario:
        """``base`` with its failpoints and faults replaced by this plan's (its workload
        steps kept, first), validated the way a scenario file is (the result is exactly
        what its YAML loads back to)."""
        scenario = dataclasses.replace(
            base,
            name=name or base.name,
            description=description or base.description,
            failpoints=self.failpoints,
            faults=(*workload_steps(base), *self.faults),
        )
        return parse_scenario(scenario.as_yaml(), f"<plan for {scenario.name}>")


def workload_steps(scenario: Scenario) -> tuple[FaultSpec, ...]:
    """The scenario's scheduled workload steps (raise-event): kept in every run."""
    return tuple(f for f in scenario.faults if f.action in WORKLOAD_STEPS)


def describe_failpoint(fp: Failpoint) -> str:
    extra = f" for {fp.seconds:g}s" if fp.action in ("pause", "delay") else ""
    return f"failpoint {fp.name}: {fp.action}{extra} on hit {fp.nth}"


def describe_fault(spec: FaultSpec) -> str:
    trigger = spec.trigger
    if "failpoint" in trigger:
        when = f"on hit {trigger.get('nth', 1)} of {trigger['failpoint']}"
    elif "completed" in trigger:
        when = f"once {trigger['completed']} orders are terminal"
    elif "at" in trigger:
        when = f"at {trigger['at']:g}s"
    else:
        when = f"between {trigger['between']} s"
    params = "".join(f" {k}={v}" for k, v in spec.params.items())
    span = f" for {spec.duration:g}s" if spec.duration is not None else ""
    return f"{spec.action} {spec.target}{params} {when}{span}"


# -- strategies ------------------------------------------------------------------------


@st.composite
def _hit(draw: st.DrawFn, space: FaultSpace) -> tuple[str, int]:
    name = draw(st.sampled_from(space.failpoint_names))
    return name, draw(st.integers(1, space.failpoints[name]))


def failpoint_faults(space: FaultSpace) -> st.SearchStrategy[Failpoint]:
    """A failpoint armed with one of ``space.failpoint_actions``, firing once on a hit
    that a fault-free run reaches."""

    @st.composite
    def build(draw: st.DrawFn) -> Failpoint:
        name, nth = draw(_hit(space))
        action = draw(st.sampled_from(space.failpoint_actions))
        timed = action in ("pause", "delay")
        seconds = draw(st.sampled_from(space.durations())) if timed else 0.0
        return Failpoint(name, action, nth=nth, count=1, seconds=seconds)

    return build()


@st.composite
def _trigger(draw: st.DrawFn, space: FaultSpace) -> dict[str, Any]:
    kinds = [
        k
        for k in TRIGGERS
        if (k == "failpoint" and space.failpoints)
        or k == "completed"
        or (k == "at" and space.times)
    ]
    kind = draw(st.sampled_from(kinds))
    if kind == "failpoint":
        name, nth = draw(_hit(space))
        return {"failpoint": name, "nth": nth}
    if kind == "completed":
        return {"completed": draw(st.integers(1, space.orders))}
    tenths = draw(st.integers(0, int(space.horizon * 10)))
    return {"at": tenths / 10}


def member_faults(space: FaultSpace) -> st.SearchStrategy[FaultSpec]:
    """Kill (SIGKILL, down for a while), restart, pause (for a while) or soft-restart
    (daprd) a member, on an event trigger."""

    @st.composite
    def build(draw: st.DrawFn) -> FaultSpec:
        action, target = draw(st.sampled_from(space._member_choices()))
        trigger = draw(_trigger(space))
        # Restarts are instantaneous; kills and pauses last, then heal on their own, so
        # the chaos phase ends when the workload does instead of at its timeout.
        timed = action in ("kill", "pause")
        duration = draw(st.sampled_from(space.durations())) if timed else None
        return FaultSpec(action, target, trigger, duration)

    return build()


def link_faults(space: FaultSpace) -> st.SearchStrategy[FaultSpec]:
    """Take a proxied link down, add latency, or reset its connections, for a while."""

    @st.composite
    def build(draw: st.DrawFn) -> FaultSpec:
        action = draw(st.sampled_from(space.link_actions))
        target = draw(st.sampled_from(space.links))
        trigger = draw(_trigger(space))
        duration = draw(st.sampled_from(space.durations()))
        params: dict[str, Any] = {}
        if action == "latency":
            params = {"ms": draw(st.sampled_from(LATENCIES_MS))}
        return FaultSpec(action, target, trigger, duration, params)

    return build()


def deploy_faults(space: FaultSpace) -> st.SearchStrategy[FaultSpec]:
    """Deploy one of ``space.versions`` over the running app, with a gap (no worker) or
    an overlap (both workers) of up to ``max_seconds``, on an event trigger. Plans of
    several deploy back and forth; shrinking moves towards the first version other than
    the app's own, gaps and shorter spans."""
    seconds = tuple(s for s in DEPLOY_SECONDS if s <= space.max_seconds)

    @st.composite
    def build(draw: st.DrawFn) -> FaultSpec:
        # Another version first: a minimal plan deploys new code, not the running code.
        version = draw(st.sampled_from(space.versions[1:] + space.versions[:1]))
        params = {
            "workflows": version,
            "mode": draw(st.sampled_from(DEPLOY_MODES)),
            "seconds": draw(st.sampled_from(seconds)),
        }
        return FaultSpec("deploy", "app", draw(_trigger(space)), None, params)

    return build()


def fault_schedules(
    space: FaultSpace, *, min_faults: int = 1, max_faults: int = 4
) -> st.SearchStrategy[FaultPlan]:
    """Plans of ``min_faults``..``max_faults`` faults drawn from ``space`` (a failpoint
    drawn twice keeps its first arming, so a plan may hold fewer)."""
    if not 0 <= min_faults <= max_faults or max_faults < 1:
        raise ConfigError(
            f"need 0 <= min_faults <= max_faults and max_faults >= 1, got "
            f"{min_faults} and {max_faults}"
        )
    step = st.one_of(space.generators())
    return st.lists(step, min_size=min_faults, max_size=max_faults).map(FaultPlan.of)


def single_fault_sweep(space: FaultSpace) -> list[FaultPlan]:
    """A crash at the first hit of each failpoint, alone: the one-fault plans that catch
    most non-idempotent effects. ``dapr-chaos explore`` tries them before generating."""
    if "failpoint" not in space.kinds or "crash" not in space.failpoint_actions:
        return []
    return [
        FaultPlan((Failpoint(name, "crash", nth=1, count=1),)) for name in space.failpoint_names
    ]
