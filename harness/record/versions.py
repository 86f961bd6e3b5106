"""What a workflow history says about the code that ran it: the version name and patches
each turn reported (daprd copies the worker's answer onto the turn's ``workflowStarted``
event), and the stalls daprd recorded (``executionStalled``: the history no longer
matched the code that took it).

Pure reading of protobuf ``HistoryEvent``s; times are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.record.timeline import FaultWindow

# StalledReason in the pinned protos.
STALL_REASONS = {0: "patch mismatch", 1: "version not available", 2: "payload size exceeded"}


@dataclass(frozen=True)
class Stall:
    """One ``executionStalled`` event: why, daprd's own words, and when."""

    reason: str
    description: str
    at: float

    def describe(self) -> str:
        return f"{self.reason}: {self.description.strip()}"


@dataclass(frozen=True)
class CodePath:
    """The code an instance ran: ``version`` (the name of its first versioned turn, ""
    when the workflow is not versioned) and ``patches`` (every patch its turns reported,
    in order, each once). ``first_turn``: when its first turn started (None: no turn)."""

    version: str
    patches: tuple[str, ...]
    first_turn: float | None
    versions: tuple[str, ...] = ()  # every version name its turns reported, in order

    @property
    def marked(self) -> bool:
        """Whether the history tells this path apart at all (a version or a patch)."""
        return bool(self.version or self.patches)

    def describe(self) -> str:
        parts = [f"version {self.version}" if self.version else "unversioned"]
        parts.append(f"patches {', '.join(self.patches)}" if self.patches else "no patch")
        return ", ".join(parts)


def _seconds(event: Any) -> float:
    return float(event.timestamp.seconds) + float(event.timestamp.nanos) / 1e9


def code_path(events: Sequence[Any]) -> CodePath:
    """The :class:`CodePath` of a history."""
    names: list[str] = []
    patches: list[str] = []
    first: float | None = None
    for event in events:
        if event.WhichOneof("eventType") != "workflowStarted":
            continue
        if first is None:
            first = _seconds(event)
        started = event.workflowStarted
        if started.HasField("version"):
            if started.version.name and str(started.version.name) not in names:
                names.append(str(started.version.name))
            for patch in started.version.patches:
                if patch not in patches:
                    patches.append(str(patch))
    return CodePath(names[0] if names else "", tuple(patches), first, tuple(names))


def stalls(events: Sequence[Any]) -> list[Stall]:
    """Every ``executionStalled`` event of a history, oldest first."""
    found = []
    for event in events:
        if event.WhichOneof("eventType") == "executionStalled":
            stalled = event.executionStalled
            reason = STALL_REASONS.get(int(stalled.reason), f"reason {stalled.reason}")
            found.append(Stall(reason, str(stalled.description), _seconds(event)))
    return found


# The known upstream defect (dapr 1.18.3) a stall during an overlap deploy matches: daprd
# hands each work item to any connected worker (a worker cannot say which versions it
# has), so an instance that recorded the new code can be replayed on the old worker and
# stall; and daprd releases a stall only when the instance's workflow actor deactivates
# (no worker left, a placement change, a daprd restart), which the old worker leaving
# while the new one stays never causes. The instance waits for good, STALLED, for code
# that is deployed and serving.
OVERLAP_STRAND = (
    "known upstream (dapr 1.18.3): stalled during an overlap of two workers on one daprd, "
    "for code the new worker serves; daprd dispatches to any worker and never retries the "
    "stall while a worker stays connected"
)


@dataclass(frozen=True)
class Strand:
    """A stall that matches :data:`OVERLAP_STRAND`: ``stall`` came while the old and the
    new worker were both connected (``overlap``: its deploy window, epoch seconds), and
    what it needs (``needs``: "version v2", "patches a, b") was reported by a turn that ran
    after the overlap, in instance ``witness``."""

    instance_id: str
    stall: Stall
    overlap: tuple[float, float]
    needs: str
    witness: str

    def describe(self) -> str:
        return (
            f"{self.instance_id}: {self.stall.describe()}, during the overlap; the new code "
            f"serves {self.needs} (instance {self.witness} ran it after the overlap)"
        )


def needed_code(stall: Stall) -> tuple[str, tuple[str, ...]] | None:
    """What a stall needs: ("version", (name,)) or ("patches", names), read from daprd's
    description; None for any other stall (payload size) or an unreadable description."""
    text = stall.description.strip()
    if text.startswith("Version not available:"):
        name = text.split(":", 1)[1].strip()
        return ("version", (name,)) if name else None
    marker = "History patches: ["
    if text.startswith("Patch mismatch.") and marker in text:
        listed = text.split(marker, 1)[1].split("]", 1)[0]
        return "patches", tuple(p.strip() for p in listed.split(",") if p.strip())
    return None


def _served(
    histories: Mapping[str, Sequence[Any]], after: float, until: float
) -> dict[tuple[str, str], str]:
    """("version"|"patch", name) → the first instance a turn started in (after, until)
    reported it in. A stalled turn's events are dropped by daprd, so every
    ``workflowStarted`` kept is a turn the code ran to the end."""
    served: dict[tuple[str, str], str] = {}
    for instance_id, events in histories.items():
        for event in events:
            if event.WhichOneof("eventType") != "workflowStarted":
                continue
            if not after < _seconds(event) < until or not event.workflowStarted.HasField("version"):
                continue
            version = event.workflowStarted.version
            if version.name:
                served.setdefault(("version", str(version.name)), instance_id)
            for patch in version.patches:
                served.setdefault(("patch", str(patch)), instance_id)
    return served


OLD_WORKER_SLACK_S = 0.5  # the old worker may answer a turn this long after its overlap closed


def deploy_windows(windows: Sequence[FaultWindow]) -> list[FaultWindow]:
    """The ``deploy`` windows of ``windows``, oldest first."""
    return sorted((w for w in windows if w.kind == "deploy"), key=lambda w: w.start)


def _overlap_spans(windows: Sequence[FaultWindow]) -> list[tuple[float, float, float]]:
    """Each closed overlap of ``windows``: (its deploy's start, the overlap's end, the
    next deploy's start or infinity), epoch seconds, oldest first."""
    overlaps = sorted(
        (w for w in windows if w.kind == "overlap" and w.end is not None), key=lambda w: w.start
    )
    deploys = deploy_windows(windows)
    spans = []
    for overlap in overlaps:
        assert overlap.end is not None
        containing = [d for d in deploys if d.start <= overlap.start]
        begin = containing[-1].start if containing else overlap.start
        later = [d.start for d in deploys if d.start > overlap.end]
        spans.append((begin, overlap.end, min(later) if later else float("inf")))
    return spans


def overlap_stalls(
    histories: Mapping[str, Sequence[Any]], windows: Sequence[FaultWindow]
) -> dict[str, Stall]:
    """The first stall of each instance that came inside an overlap deploy (from the
    deploy's start to the end of its ``overlap`` window, plus :data:`OLD_WORKER_SLACK_S`)
    and needs a version or patches: the candidates for :data:`OVERLAP_STRAND`, before any
    witness that the new code serves what they need."""
    spans = _overlap_spans(windows)
    found: dict[str, Stall] = {}
    for instance_id, events in histories.items():
        for stall in stalls(events):
            inside = any(b <= stall.at <= e + OLD_WORKER_SLACK_S for b, e, _ in spans)
            if inside and needed_code(stall) is not None:
                found[instance_id] = stall
                break
    return found


def overlap_strands(
    histories: Mapping[str, Sequence[Any]], windows: Sequence[FaultWindow]
) -> dict[str, Strand]:
    """The stalls of ``histories`` (instance id → events) that match
    :data:`OVERLAP_STRAND`, by instance (its first such stall), given the run's timeline
    ``windows``: a stall inside an overlap deploy (:func:`overlap_stalls`), needing a
    version or patches that a turn between the end of that overlap and the next deploy
    reported. A stall for code nothing ran afterwards is the deploy's own fault and is
    not returned."""
    found: dict[str, Strand] = {}
    for begin, end, next_deploy in _overlap_spans(windows):
        served = _served(histories, end, next_deploy)
        for instance_id, events in histories.items():
            if instance_id in found:
                continue
            for stall in stalls(events):
                needed = (
                    needed_code(stall) if begin <= stall.at <= end + OLD_WORKER_SLACK_S else None
                )
                if needed is None:
                    continue
                kind, names = needed
                key = "version" if kind == "version" else "patch"
                witnesses = [served.get((key, n)) for n in names]
                if not names or any(w is None for w in witnesses):
                    continue
                needs = f"{'version' if kind == 'version' else 'patches'} {', '.join(names)}"
                found[instance_id] = Strand(
                    instance_id, stall, (begin, end), needs, str(witnesses[0])
                )
                break
    return found


@dataclass(frozen=True)
class Crossing:
    """One deploy (``deploy``: its window) and the instances that were in flight across it
    (``instances``: a turn of theirs started before the deploy did, and a turn or a stall
    came once the new code was up and before the next deploy started). The new code is up
    from the end of a gap deploy, and from the start of an overlap deploy's ``overlap``
    window (daprd then hands a turn to either worker: a turn in it is exposure to the new
    code, not proof that the new code ran it). None crossing it: the new code never took
    work the old code had begun, so nothing could stall on it."""

    deploy: FaultWindow
    instances: int


def crossings(
    histories: Mapping[str, Sequence[Any]], windows: Sequence[FaultWindow]
) -> list[Crossing]:
    """Each deploy of ``windows``, oldest first, with the instances of ``histories``
    (instance id → events) that crossed it. A gap deploy still open when the run ended was
    crossed by none: its new code never came up."""
    deploys = deploy_windows(windows)
    overlaps = [w.start for w in windows if w.kind == "overlap"]
    turns: dict[str, list[float]] = {}
    for instance_id, events in histories.items():
        turns[instance_id] = sorted(
            _seconds(e)
            for e in events
            if e.WhichOneof("eventType") in ("workflowStarted", "executionStalled")
        )
    found = []
    for n, deploy in enumerate(deploys):
        finished = deploy.end if deploy.end is not None else float("inf")
        served_from = min([t for t in overlaps if deploy.start <= t <= finished] + [finished])
        until = deploys[n + 1].start if n + 1 < len(deploys) else float("inf")
        crossed = sum(
            1
            for times in turns.values()
            if times
            and times[0] < deploy.start
            and any(served_from <= t < until for t in times)
        )
        found.append(Crossing(deploy, crossed))
    return found
