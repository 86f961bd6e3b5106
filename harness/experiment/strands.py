"""Release instances stranded by the known overlap defect, so the checks judge the app.

During an overlap deploy daprd hands turns to either worker; an instance that recorded
the new code can be replayed on the old worker and stall, and daprd retries the stall
only when the instance's workflow actor deactivates, which never happens while the new
worker stays connected (:data:`~harness.record.versions.OVERLAP_STRAND`). Left alone,
such an instance would count as lost against the app.

When every instance a run still waits for stalled inside an overlap deploy for a version
or patches (read from its recorded history, never guessed), the app is cycled once the
way a gap deploy does it: stopped until daprd counts no worker (its workflow actors are
unregistered, which releases every stall) and started again. That is an ``upstream``
window on the timeline. What the instances do next decides: one that finishes ran on
code the new worker serves (the strand, a known finding); one that stalls again needs
code nothing serves, and the checks fail it as the deploy's fault.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from harness.errors import HarnessError, WorkloadError
from harness.experiment.load_result import UPSTREAM
from harness.faults.deploy import Deploy, roll_out
from harness.record.history import InstanceStatus
from harness.record.instances import InstanceReader
from harness.record.timeline import Timeline
from harness.record.versions import OVERLAP_STRAND, Stall, overlap_stalls
from harness.stack.stack import Stack
from harness.stack.supervisor import Supervisor

log = logging.getLogger("harness.experiment")


def stranded(
    stack: Stack,
    timeline: Timeline,
    waiting: Sequence[str],
    statuses: Mapping[str, InstanceStatus | None],
) -> dict[str, Stall]:
    """The overlap stalls of ``waiting`` (instance id → its stall) when every one of
    them is STALLED after stalling inside an overlap deploy; empty otherwise, or when a
    history cannot be read."""
    if not waiting or not all(_stalled(statuses.get(i)) for i in waiting):
        return {}
    if not any(w.kind == "overlap" for w in timeline.windows):
        return {}
    reader = InstanceReader(stack.ports["daprd_grpc"], stack.api_token)
    try:
        histories = {i: reader.events(i) for i in waiting}
    except WorkloadError as exc:
        log.warning("cannot read the histories to tell the overlap strand apart: %s", exc)
        return {}
    finally:
        reader.close()
    candidates = overlap_stalls(histories, timeline.windows)
    return candidates if set(waiting) <= candidates.keys() else {}


def release(
    stack: Stack, timeline: Timeline, stalls: Mapping[str, Stall], supervisor: Supervisor
) -> bool:
    """Cycle the app's worker once to release ``stalls``; True when it was cycled. A
    cycle that fails is a finding on the timeline, not an error: the instances stay
    STALLED and the checks say so."""
    window = timeline.open(
        UPSTREAM,
        "app",
        f"releasing {len(stalls)} instance(s) STALLED during an overlap: worker cycled",
    )
    try:
        # A deploy of the running version with no gap, on a timeline of its own: it is
        # not one of the run's faults.
        roll_out(Deploy(stack.config.app, seconds=0), stack, supervisor, Timeline())
    except HarnessError as exc:
        timeline.mark("finding", f"could not cycle the worker to release {_ids(stalls)}: {exc}")
        return False
    finally:
        timeline.close(window)
    return True


def note_released(
    supervisor: Supervisor,
    stalls: Mapping[str, Stall],
    statuses: Mapping[str, InstanceStatus | None],
) -> None:
    """Record what the released instances did: those that finished are the known strand
    (a finding); those stalled again are marked on the timeline (the checks fail them)."""
    finished = [i for i in stalls if _terminal(statuses.get(i))]
    again = [i for i in stalls if _stalled(statuses.get(i))]
    if finished:
        supervisor.note_known(
            f"{OVERLAP_STRAND}: {len(finished)} instance(s) STALLED during the overlap "
            f"({_ids(finished)}) finished after the worker was cycled (the app stopped until "
            "daprd counted no worker, then started again)"
        )
    if again:
        supervisor.timeline.mark(
            "finding",
            f"{len(again)} instance(s) stalled again after the worker was cycled "
            f"({_ids(again)}): the deployed code lacks what their history needs",
        )


def _ids(ids: Mapping[str, object] | Sequence[str]) -> str:
    names = sorted(ids)
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


def _stalled(status: InstanceStatus | None) -> bool:
    return status is not None and status.stalled


def _terminal(status: InstanceStatus | None) -> bool:
    return status is not None and status.terminal
