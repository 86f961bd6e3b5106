"""The strict diff: replay a history turn by turn and compare every step.

A history is a sequence of turns, each opened by a ``workflowStarted`` event: first the
inputs the sidecar handed the code (the start, activity results, timers fired, events
raised), then the decisions the code made (steps scheduled, the completion). For each
turn the current code replays everything before it plus the turn's inputs, and the steps
it produces are compared, position by position, with the decisions the history recorded:
kind, name, position (sequence id), input, timer deadline, completion status, output and
failure; a step only one side has is extra or missing.

The first turn that differs ends the replay of that instance: once the code has diverged,
later turns would only repeat the same finding. Every difference within that turn is
reported.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.replay.adapter import (
    DECISIONS,
    TURN_START,
    Workflows,
    event_step,
    event_type,
    nondeterminism_at,
)
from harness.replay.steps import COMPLETE, TIMER, Step

MISSING = "missing step"
EXTRA = "extra step"


@dataclass(frozen=True)
class Mismatch:
    """One difference between a recorded history and what the code does now.

    ``index`` is the position of the history event concerned (for an extra step: where
    it would have been recorded); ``turn`` counts from 0; ``history`` says what the
    history recorded, ``now`` what the current code did instead.
    """

    instance_id: str
    index: int
    turn: int
    what: str
    history: str
    now: str
    source: str = ""

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        verb = "" if self.what in (MISSING, EXTRA) else " differs"
        return (
            f"{where}instance {self.instance_id}, event #{self.index} (turn {self.turn}): "
            f"{self.what}{verb}; history: {self.history}; now: {self.now}"
        )


@dataclass(frozen=True)
class Turn:
    """Events ``[start, decisions_at)`` are inputs, ``[decisions_at, end)`` decisions."""

    start: int
    decisions_at: int
    end: int


def split_turns(events: Sequence[Any]) -> list[Turn]:
    """Cut a history at each ``workflowStarted``. Decisions are the trailing events of
    a turn whose type is in :data:`DECISIONS` (daprd appends them after the inputs)."""
    starts = [i for i, e in enumerate(events) if event_type(e) == TURN_START]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    bounds = [*starts, len(events)]
    turns = []
    for start, end in itertools.pairwise(bounds):
        cut = end
        while cut > start and event_type(events[cut - 1]) in DECISIONS:
            cut -= 1
        turns.append(Turn(start, cut, end))
    return turns


def _same_json(a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    if a is None or b is None:
        return False
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


def compare_step(recorded: Step, produced: Step) -> list[tuple[str, str, str]]:
    """(what, history, now) for each way ``produced`` differs from ``recorded``."""
    if recorded.kind != produced.kind:
        return [("step", recorded.describe(), produced.describe())]
    diffs: list[tuple[str, str, str]] = []
    if recorded.kind == COMPLETE:
        if recorded.status != produced.status:
            diffs.append(("completion status", str(recorded.status), str(produced.status)))
        if not _same_json(recorded.output, produced.output):
            diffs.append(("output", str(recorded.output), str(produced.output)))
        if recorded.failure != produced.failure:
            diffs.append(("failure", str(recorded.failure), str(produced.failure)))
        return diffs
    if recorded.name != produced.name:
        # A different step altogether: its input and position say nothing more.
        return [(f"{recorded.kind} name", recorded.describe(), produced.describe())]
    if recorded.id != produced.id:
        diffs.append(("position", recorded.describe(), produced.describe()))
    if not _same_json(recorded.input, produced.input):
        diffs.append(
            (
                f"input of {recorded.kind} {recorded.name!r}",
                str(recorded.input),
                str(produced.input),
            )
        )
    if recorded.kind == TIMER and (
        recorded.fire_at != produced.fire_at or recorded.origin != produced.origin
    ):
        diffs.append(("timer deadline", recorded.describe(), produced.describe()))
    if recorded.target != produced.target:
        diffs.append((f"target of {recorded.kind}", str(recorded.target), str(produced.target)))
    return diffs


def _diverged_earlier(
    instance_id: str,
    events: Sequence[Any],
    number: int,
    turn: Turn,
    recorded: list[Step],
    produced: list[Step],
    source: str,
) -> Mismatch | None:
    """The code took another path while replaying earlier turns (which the SDK's own
    check reports as a NonDeterminismError failure): that is the finding, not the
    failed completion it turns into."""
    failure = next((s.failure for s in produced if s.kind == COMPLETE), None)
    at = nondeterminism_at(failure)
    if at is None or any(s.failure == failure for s in recorded):
        return None
    index = next(
        (
            i
            for i in range(turn.start)
            if events[i].eventId == at and event_type(events[i]) in DECISIONS
        ),
        turn.start,
    )
    return Mismatch(
        instance_id,
        index,
        number,
        "replay of earlier steps",
        f"event #{index}: {event_step(events[index], index).describe()}"
        if index < turn.start
        else "the steps recorded before this turn",
        f"re-running the code took another path (the code is not deterministic): {failure}",
        source,
    )


def replay_strictly(
    workflows: Workflows, instance_id: str, events: Sequence[Any], source: str = ""
) -> list[Mismatch]:
    """Replay one history against ``workflows``; the mismatches of the first turn that
    differs (empty: the code reproduces the history exactly). One executor pass serves
    every turn: what the code schedules in a turn is what it has pending when the
    executor reaches the turn's first recorded decision."""
    turns = split_turns(events)
    replayable = [e for e in events if event_type(e) != "executionCompleted"]
    # Indices into ``replayable``: executionCompleted ends a history, so the indices of
    # every other event are the same in both lists.
    cuts = [min(turn.decisions_at, len(replayable)) for turn in turns]
    pending = workflows.pending_at(instance_id, replayable, cuts)
    final = pending[len(replayable)]
    for number, turn in enumerate(turns):
        if turn.decisions_at == turn.start:
            produced: list[Step] = []  # no inputs: nothing made the code run
        else:
            # A cut the executor never reached: it failed the workflow before, and the
            # failed completion it ended with is what this turn produced.
            produced = pending.get(cuts[number], final)
        recorded = [event_step(events[i], i) for i in range(turn.decisions_at, turn.end)]
        diverged = _diverged_earlier(instance_id, events, number, turn, recorded, produced, source)
        if diverged:
            return [diverged]
        found = _differences(instance_id, number, turn, recorded, produced, source)
        if found:
            return found
    return []


def _differences(
    instance_id: str,
    number: int,
    turn: Turn,
    recorded: list[Step],
    produced: list[Step],
    source: str,
) -> list[Mismatch]:
    """Position by position: what one turn recorded against what the code produced."""
    found: list[Mismatch] = []
    for position in range(max(len(recorded), len(produced))):
        if position >= len(produced):
            step = recorded[position]
            found.append(
                Mismatch(
                    instance_id,
                    step.index if step.index is not None else turn.end,
                    number,
                    MISSING,
                    step.describe(),
                    "the code no longer schedules it",
                    source,
                )
            )
        elif position >= len(recorded):
            found.append(
                Mismatch(
                    instance_id,
                    turn.end,
                    number,
                    EXTRA,
                    "nothing recorded here",
                    produced[position].describe(),
                    source,
                )
            )
        else:
            step = recorded[position]
            for what, was, now in compare_step(step, produced[position]):
                index = step.index if step.index is not None else turn.end
                found.append(Mismatch(instance_id, index, number, what, was, now, source))
    return found
