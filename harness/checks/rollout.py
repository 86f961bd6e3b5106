"""Checks for a run that deployed new workflow code with instances in flight, read from
the recorded workflow histories (the code path each turn reported, and daprd's stalls).

``stalled``: no instance stalled at any time: an instance whose history stopped matching
the deployed code (a patch mismatch, a version that is not available) waits, STALLED,
until the right code comes back. Each one is listed with daprd's reason, its last history
events and the deploy before it. A stall that matches the known upstream overlap strand
(:data:`~harness.record.versions.OVERLAP_STRAND`: it came during an overlap deploy, for a
version or patches the new worker ran afterwards) is reported apart, KNOWN_UPSTREAM, with
that evidence; any other stall still fails. No stall proves something only about a deploy
that instances were in flight across (:func:`~harness.record.versions.crossings`): a run
without a deploy, or with one that took over no work the old code had begun (an upstream
recovery can eat its time), is VACUOUS, each deploy listed with its crossings.

``stalls-resumed``: for a scenario that deploys an unsafe version on purpose and then the
right one again: stalls are expected, but every stalled instance must have resumed and
finished.

``paths``: instances started before the first deploy kept the path their first turn took
(their version name never changes; a patch recorded after the deploy is the patch doing
its job and is listed), and every instance started after the last deploy took one and the
same path. VACUOUS without a deploy, or when no history records a version or a patch
(nothing tells the paths apart).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History
from harness.record.instances import describe_event
from harness.record.recorder import read_histories
from harness.record.timeline import FaultWindow
from harness.record.versions import (
    OVERLAP_STRAND,
    CodePath,
    Crossing,
    Stall,
    Strand,
    code_path,
    crossings,
    deploy_windows,
    overlap_strands,
    stalls,
)

LAST_EVENTS = 3  # history events shown for a stalled instance


@dataclass(frozen=True)
class _Instance:
    instance_id: str
    path: CodePath
    stalls: list[Stall]
    last_events: list[str]
    status: str


def _loaded(history: History) -> dict[str, list[Any]] | str:
    """Each recorded history's events by instance id, or why none can be judged."""
    if not history.histories:
        return "no workflow history was recorded"
    loaded, unreadable = read_histories(history.histories)
    if unreadable:
        return f"a recorded history cannot be read: {unreadable[0]}"
    return {i: list(r.events) for i, r in loaded.items()}


def _instances(history: History, loaded: dict[str, list[Any]]) -> list[_Instance]:
    """This run's recorded instances, from their events (:func:`_loaded`)."""
    out = []
    for instance_id, events in loaded.items():
        status = history.statuses.get(instance_id)
        start = max(0, len(events) - LAST_EVENTS)
        out.append(
            _Instance(
                instance_id,
                code_path(events),
                stalls(events),
                [describe_event(e, start + i) for i, e in enumerate(events[start:])],
                status.runtime_status if status is not None else "unknown",
            )
        )
    return out


def _deploys(history: History) -> list[FaultWindow]:
    return deploy_windows(history.timeline.windows)


def _describe_deploy(deploy: FaultWindow) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(deploy.start))
    return f"the deploy at {when} ({deploy.detail})"


def _deploy_before(deploys: Sequence[FaultWindow], at: float) -> str:
    before = [w for w in deploys if w.start <= at]
    if not before:
        return "before any deploy"
    return f"after {_describe_deploy(before[-1])}"


def _stall_lines(instance: _Instance, deploys: Sequence[FaultWindow]) -> list[str]:
    first = instance.stalls[0]
    lines = [
        f"instance {instance.instance_id} ({instance.status} now) stalled "
        f"{len(instance.stalls)} time(s), first {_deploy_before(deploys, first.at)}: "
        f"{first.describe()}"
    ]
    lines += [f"    {line}" for line in instance.last_events]
    return lines


def _known(name: str, strands: Sequence[Strand], instances: Sequence[_Instance]) -> CheckResult:
    """Every stall to judge matched the overlap signature: reported apart, with evidence."""
    still = sum(i.status == "STALLED" for i in instances)
    lines = [OVERLAP_STRAND]
    lines += [s.describe() for s in strands]
    return CheckResult(
        name,
        Verdict.KNOWN_UPSTREAM,
        f"{len(strands)} instance(s) stalled during an overlap deploy for code the new "
        f"worker serves ({still} still STALLED): the known upstream overlap strand, not the "
        "app's code",
        lines,
    )


def _none_stalled(name: str, found: int, crossed: Sequence[Crossing]) -> CheckResult:
    """No instance stalled: PASS only if every deploy had instances in flight across it
    (work the old code began and the new code took over); a deploy nothing crossed proved
    nothing, and neither does a run without a deploy."""
    if not crossed:
        return CheckResult(
            name,
            Verdict.VACUOUS,
            f"no instance of {found} stalled, but this run deployed no new code: nothing "
            "could stall",
        )
    lines = [f"{_describe_deploy(c.deploy)}: {c.instances} instance(s) crossed it" for c in crossed]
    idle = [c for c in crossed if not c.instances]
    if idle:
        return CheckResult(
            name,
            Verdict.VACUOUS,
            f"no instance of {found} stalled, but {len(idle)} of {len(crossed)} deploy(s) had "
            f"no instance in flight across it, first {_describe_deploy(idle[0].deploy)}: the "
            "new code took over no work the old code had begun, so nothing could stall on it",
            lines,
        )
    return CheckResult(
        name,
        Verdict.PASS,
        f"no instance of {found} stalled; instances in flight crossed each of "
        f"{len(crossed)} deploy(s) ({', '.join(str(c.instances) for c in crossed)})",
        lines,
    )


def _stall_check(history: History, *, allowed: bool) -> CheckResult:
    name = "stalls-resumed" if allowed else "stalled"
    loaded = _loaded(history)
    if isinstance(loaded, str):
        return CheckResult(name, Verdict.VACUOUS, loaded)
    found = _instances(history, loaded)
    deploys = _deploys(history)
    stalled = [i for i in found if i.stalls or i.status == "STALLED"]
    strands = overlap_strands(loaded, history.timeline.windows) if stalled else {}
    # A stall that matches the upstream signature is not the app's: judged apart, and
    # only when it is the only failing evidence (any other stall still fails the check).
    judged = stalled if allowed else [i for i in stalled if i.instance_id not in strands]
    if not allowed and stalled and not judged:
        return _known(name, [strands[i.instance_id] for i in stalled], stalled)
    still = [i for i in judged if i.status == "STALLED"]
    unfinished = [i for i in stalled if i.status not in ("COMPLETED", "FAILED", "TERMINATED")]
    lines = [line for i in judged for line in _stall_lines(i, deploys)]
    if not stalled:
        if allowed:
            return CheckResult(
                name,
                Verdict.VACUOUS,
                f"no instance of {len(found)} stalled: nothing resumed, so nothing to judge",
            )
        return _none_stalled(name, len(found), crossings(loaded, history.timeline.windows))
    if not allowed:
        known = [strands[i.instance_id].describe() for i in stalled if i.instance_id in strands]
        return CheckResult(
            name,
            Verdict.FAIL,
            f"{len(judged)} of {len(found)} instance(s) stalled ({len(still)} still STALLED)"
            + (f"; {len(known)} more match the known upstream overlap strand" if known else ""),
            lines + [f"known upstream, apart: {k}" for k in known],
        )
    stranded = [i for i in unfinished if i.instance_id in strands]
    if unfinished and len(stranded) == len(unfinished):
        return _known(name, [strands[i.instance_id] for i in stranded], stranded)
    if unfinished:
        return CheckResult(
            name,
            Verdict.FAIL,
            f"{len(unfinished)} of {len(stalled)} stalled instance(s) did not resume and "
            f"finish ({len(still)} still STALLED)",
            lines,
        )
    return CheckResult(
        name,
        Verdict.PASS,
        f"{len(stalled)} instance(s) stalled and every one resumed and finished",
        lines,
    )


def stalled(history: History) -> CheckResult:
    """FAIL when any instance stalled (see the module docstring)."""
    return _stall_check(history, allowed=False)


def stalls_resumed(history: History) -> CheckResult:
    """FAIL when a stalled instance did not resume and finish; VACUOUS when none stalled."""
    return _stall_check(history, allowed=True)


def paths(history: History) -> CheckResult:
    """FAIL when an instance's version changed mid-flight, or instances started after the
    last deploy took different paths (see the module docstring)."""
    name = "paths"
    deploys = _deploys(history)
    if not deploys:
        return CheckResult(name, Verdict.VACUOUS, "no deploy in this run: no paths to tell apart")
    loaded = _loaded(history)
    if isinstance(loaded, str):
        return CheckResult(name, Verdict.VACUOUS, loaded)
    found = _instances(history, loaded)
    if not any(i.path.marked for i in found):
        return CheckResult(
            name,
            Verdict.VACUOUS,
            f"none of {len(found)} histories records a version or a patch: nothing tells "
            "the old path from the new one",
        )
    first_start = deploys[0].start
    last_end = max((w.end or w.start) for w in deploys)
    before = [i for i in found if i.path.first_turn is not None and i.path.first_turn < first_start]
    after = [i for i in found if i.path.first_turn is not None and i.path.first_turn > last_end]
    problems: list[str] = []
    notes: list[str] = []
    for instance in found:
        if len(instance.path.versions) > 1:
            problems.append(
                f"instance {instance.instance_id} changed version mid-flight: "
                + " -> ".join(instance.path.versions)
            )
    for instance in before:
        # The first turn ran before the deploy: its version name is the old code's. A
        # patch seen later is the new code reaching a patch point the instance had not
        # passed yet: allowed (that is what patches are for).
        if instance.path.patches:
            notes.append(
                f"instance {instance.instance_id} started before the deploy and took the "
                f"patched path after it ({instance.path.describe()})"
            )
    versions = {
        i.instance_id: i.path.version for i in found if i.path.version and i.path.first_turn
    }
    after_paths = Counter(i.path.describe() for i in after)
    if len(after_paths) > 1:
        problems.append(
            "instances started after the deploy took "
            f"{len(after_paths)} different paths: "
            + "; ".join(f"{n} on {p}" for p, n in after_paths.most_common())
        )
    old_versions = {versions[i.instance_id] for i in before if i.instance_id in versions}
    new_versions = {versions[i.instance_id] for i in after if i.instance_id in versions}
    if old_versions and new_versions and old_versions == new_versions and len(deploys) == 1:
        notes.append(
            f"the deploy kept the version name {', '.join(sorted(new_versions))}: old and new "
            "instances are told apart by patches only"
        )
    summary = f"{len(before)} instance(s) started before the deploy, {len(after)} after; " + (
        f"after: {after_paths.most_common(1)[0][0]}" if after else "none started after"
    )
    if problems:
        return CheckResult(name, Verdict.FAIL, f"{len(problems)} problem(s); {summary}", problems)
    if not before or not after:
        return CheckResult(
            name,
            Verdict.VACUOUS,
            f"{summary}: both sides of the deploy are needed to compare paths",
            notes,
        )
    return CheckResult(name, Verdict.PASS, summary, notes)
