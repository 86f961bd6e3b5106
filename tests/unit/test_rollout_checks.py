"""The rollout checks over hand-made histories (protobuf events written as the recorder
writes them): each verdict of ``paths``, ``stalled`` and ``stalls-resumed`` is reachable,
FAIL included."""

from __future__ import annotations

from pathlib import Path

from dapr.ext.workflow._durabletask.internal import history_events_pb2 as ev
from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as orch

from harness import Verdict
from harness.checks.rollout import paths, stalled, stalls_resumed
from harness.record.history import Attempt, History, InstanceStatus, Outcome
from harness.record.ledger import Ledger
from harness.record.recorder import write_history
from harness.record.timeline import FaultWindow, Timeline
from harness.record.versions import code_path

DEPLOY_AT = 100.0


def turn(at: float, version: str = "", *patches: str) -> ev.HistoryEvent:
    event = ev.HistoryEvent(eventId=-1)
    event.timestamp.FromSeconds(int(at))
    event.workflowStarted.CopyFrom(
        ev.WorkflowStartedEvent(version=orch.WorkflowVersion(name=version, patches=patches))
    )
    return event


def started(instance_id: str) -> ev.HistoryEvent:
    event = ev.HistoryEvent(eventId=-1)
    event.executionStarted.CopyFrom(ev.ExecutionStartedEvent(name="order_processing"))
    event.executionStarted.workflowInstance.instanceId = instance_id
    return event


def stall(at: float, description: str) -> ev.HistoryEvent:
    event = ev.HistoryEvent(eventId=-1)
    event.timestamp.FromSeconds(int(at))
    event.executionStalled.CopyFrom(ev.ExecutionStalledEvent(reason=1, description=description))
    return event


def history(
    tmp: Path, runs: dict[str, tuple[str, list[ev.HistoryEvent]]], deploy: bool = True
) -> History:
    timeline = Timeline()
    if deploy:
        timeline.windows.append(FaultWindow("deploy", "app", DEPLOY_AT, DEPLOY_AT + 2, "gap 0s"))
    files = [write_history(tmp, i, [started(i), *events]) for i, (_, events) in runs.items()]
    return History(
        attempts={i: Attempt(i, Outcome.OK, None) for i in runs},
        statuses={i: InstanceStatus(i, status) for i, (status, _) in runs.items()},
        ledger=Ledger([], []),
        timeline=timeline,
        histories=files,
        kind="workflows",
    )


def test_a_code_path_keeps_every_version_and_patch_once_in_order() -> None:
    path = code_path([turn(1, "v1"), turn(2, "", "a"), turn(3, "v1", "a", "b")])
    assert (path.version, path.patches, path.versions, path.first_turn) == (
        "v1",
        ("a", "b"),
        ("v1",),
        1.0,
    )


def test_paths_pass_when_old_instances_keep_v1_and_new_ones_take_v2(tmp_path: Path) -> None:
    h = history(
        tmp_path,
        {
            "old": ("COMPLETED", [turn(90, "v1"), turn(110, "v1")]),
            "new": ("COMPLETED", [turn(120, "v2")]),
        },
    )
    result = paths(h)
    assert result.verdict is Verdict.PASS, result
    assert "after: version v2, no patch" in result.summary


def test_paths_fail_on_a_version_change_mid_flight_and_on_mixed_new_paths(tmp_path: Path) -> None:
    h = history(
        tmp_path,
        {
            "old": ("COMPLETED", [turn(90, "v1"), turn(110, "v2")]),
            "new1": ("COMPLETED", [turn(120, "v2")]),
            "new2": ("COMPLETED", [turn(121, "v1")]),
        },
    )
    result = paths(h)
    assert result.verdict is Verdict.FAIL
    text = "\n".join(result.evidence)
    assert "old changed version mid-flight: v1 -> v2" in text
    assert "2 different paths" in text


def test_paths_are_vacuous_without_a_deploy_or_without_any_marking(tmp_path: Path) -> None:
    marked = {"a": ("COMPLETED", [turn(90, "v1")])}
    assert paths(history(tmp_path / "1", marked, deploy=False)).verdict is Verdict.VACUOUS
    plain = {"a": ("COMPLETED", [turn(90)]), "b": ("COMPLETED", [turn(120)])}
    result = paths(history(tmp_path / "2", plain))
    assert result.verdict is Verdict.VACUOUS and "nothing tells" in result.summary


def test_stalled_fails_with_the_reason_and_stalls_resumed_judges_the_resumption(
    tmp_path: Path,
) -> None:
    gone = "Version not available: v1"
    resumed = history(
        tmp_path / "r", {"a": ("COMPLETED", [turn(90, "v1"), stall(101, gone), turn(130, "v1")])}
    )
    result = stalled(resumed)
    assert result.verdict is Verdict.FAIL
    assert f"version not available: {gone}" in result.evidence[0]
    assert "after the deploy at" in result.evidence[0]
    assert stalls_resumed(resumed).verdict is Verdict.PASS
    still = history(tmp_path / "s", {"a": ("STALLED", [turn(90, "v1"), stall(101, gone)])})
    assert stalls_resumed(still).verdict is Verdict.FAIL
    clean = history(tmp_path / "c", {"a": ("COMPLETED", [turn(90, "v1"), turn(110, "v1")])})
    result = stalled(clean)
    assert result.verdict is Verdict.PASS, result
    assert "crossed each of 1 deploy(s) (1)" in result.summary
    assert stalls_resumed(clean).verdict is Verdict.VACUOUS


def test_no_stall_proves_nothing_about_a_deploy_no_instance_was_in_flight_across(
    tmp_path: Path,
) -> None:
    """Finished before the deploy, started after it, or a turn only while the deploy was
    still going (its new worker not yet alone): none of them crossed it. So did the run
    the CI saw, where an upstream recovery left the unsafe version 0.3 s to serve."""
    runs = {
        "done-before": ("COMPLETED", [turn(90, "v1"), turn(95, "v1")]),
        "started-after": ("COMPLETED", [turn(103, "v2"), turn(110, "v2")]),
        "during": ("COMPLETED", [turn(90, "v1"), turn(101, "v1")]),
    }
    result = stalled(history(tmp_path / "n", runs))
    assert result.verdict is Verdict.VACUOUS, result
    assert "1 of 1 deploy(s) had no instance in flight across it" in result.summary
    assert len(result.evidence) == 1 and "0 instance(s) crossed" in result.evidence[0]
    second = history(tmp_path / "t", {**runs, "across": ("COMPLETED", [turn(90), turn(120)])})
    second.timeline.windows.append(FaultWindow("deploy", "app", 110, 111, "gap 0s to v1"))
    result = stalled(second)
    assert result.verdict is Verdict.VACUOUS, result  # it crossed the second deploy, not the first
    assert [line.rsplit(":", 1)[1] for line in result.evidence] == [
        " 0 instance(s) crossed it",
        " 1 instance(s) crossed it",
    ]
    overlap = overlap_history(tmp_path / "o", {"a": ("COMPLETED", [turn(90), turn(102)])})
    assert stalled(overlap).verdict is Verdict.PASS  # a turn while both workers were up
    no_deploy = history(tmp_path / "d", {"a": ("COMPLETED", [turn(90), turn(95)])}, deploy=False)
    result = stalled(no_deploy)
    assert result.verdict is Verdict.VACUOUS and "deployed no new code" in result.summary


def overlap_history(tmp: Path, runs: dict[str, tuple[str, list[ev.HistoryEvent]]]) -> History:
    """A run whose deploy (100-104) overlapped the old and new workers from 101 to 103."""
    h = history(tmp, runs, deploy=False)
    h.timeline.windows.append(FaultWindow("deploy", "app", 100, 104, "overlap 2s to v2_named"))
    h.timeline.windows.append(FaultWindow("overlap", "app", 101, 103, "old and new"))
    return h


def test_a_stall_during_an_overlap_for_code_the_new_worker_serves_is_known_upstream(
    tmp_path: Path,
) -> None:
    runs = {
        # Started on the new worker (v2), replayed on the old one: stranded.
        "mid": ("STALLED", [turn(101, "v2"), stall(102, "Version not available: v2")]),
        "new": ("COMPLETED", [turn(110, "v2")]),  # the new code ran v2 after the overlap
    }
    result = stalled(overlap_history(tmp_path / "k", runs))
    assert result.verdict is Verdict.KNOWN_UPSTREAM, result
    text = "\n".join(result.evidence)
    assert "mid: version not available: Version not available: v2, during the overlap" in text
    assert "instance new ran it after the overlap" in text and "known upstream" in text
    assert stalls_resumed(overlap_history(tmp_path / "r", runs)).verdict is Verdict.KNOWN_UPSTREAM


def test_an_overlap_stall_for_code_nothing_serves_afterwards_or_outside_it_still_fails(
    tmp_path: Path,
) -> None:
    # The new code dropped v1: the stall is the deploy's fault, overlap or not.
    dropped = {
        "old": ("STALLED", [turn(90, "v1"), stall(102, "Version not available: v1")]),
        "new": ("COMPLETED", [turn(110, "v2")]),
    }
    assert stalled(overlap_history(tmp_path / "d", dropped)).verdict is Verdict.FAIL
    # A stall after the overlap (only the new worker left) is not the strand either.
    late = {
        "mid": ("STALLED", [turn(101, "v2"), stall(108, "Version not available: v2")]),
        "new": ("COMPLETED", [turn(110, "v2")]),
    }
    assert stalled(overlap_history(tmp_path / "l", late)).verdict is Verdict.FAIL
    # One known strand beside one real stall: FAIL, the strand listed apart.
    both = {
        "mid": ("STALLED", [turn(101, "v2"), stall(102, "Version not available: v2")]),
        "old": ("STALLED", [turn(90, "v1"), stall(102, "Version not available: v9")]),
        "new": ("COMPLETED", [turn(110, "v2")]),
    }
    result = stalled(overlap_history(tmp_path / "b", both))
    assert result.verdict is Verdict.FAIL and "1 more match the known upstream" in result.summary
    assert any(line.startswith("known upstream, apart: mid") for line in result.evidence)


def test_a_patch_mismatch_during_an_overlap_needs_every_history_patch_served() -> None:
    from harness.record.versions import Stall, needed_code

    text = "Patch mismatch. History patches: [patch2, patch1], current patches: []. "
    assert needed_code(Stall("patch mismatch", text, 1.0)) == ("patches", ("patch2", "patch1"))
    assert needed_code(Stall("version not available", "Version not available: v2", 1.0)) == (
        "version",
        ("v2",),
    )
    assert needed_code(Stall("payload size exceeded", "too big", 1.0)) is None


def test_rollout_boundaries_follow_the_order_the_activities_ran_in() -> None:
    from harness.experiment.rollout import order_boundaries

    names = ["charge.after", "charge.before", "check.after", "check.before", "zz.before"]
    ordered, never = order_boundaries(names, ["check", "charge"])
    assert ordered == ("check.before", "check.after", "charge.before", "charge.after", "zz.before")
    assert never == ["zz"]


def test_the_release_candidates_are_the_stalls_inside_an_overlap_for_named_code() -> None:
    from harness.record.versions import overlap_stalls

    windows = [
        FaultWindow("deploy", "app", 100, 104, "overlap 2s to v2_named"),
        FaultWindow("overlap", "app", 101, 103, "old and new"),
    ]
    histories = {
        # No witness yet (nothing ran v2 after the overlap): still a candidate to release.
        "mid": [turn(101, "v2"), stall(102, "Version not available: v2")],
        "late": [turn(101, "v2"), stall(108, "Version not available: v2")],  # after it
        "big": [turn(101, "v2"), stall(102, "payload too large")],  # needs no code
        "fine": [turn(101, "v1")],
    }
    found = overlap_stalls(histories, windows)
    assert list(found) == ["mid"] and found["mid"].description == "Version not available: v2"
    assert overlap_stalls(histories, windows[:1]) == {}  # a gap deploy has no overlap


def test_released_instances_are_a_known_finding_only_when_they_finish() -> None:
    from harness.experiment.strands import note_released
    from harness.record.versions import Stall

    class Noted:
        def __init__(self) -> None:
            self.known: list[str] = []
            self.timeline = Timeline()

        def note_known(self, text: str) -> None:
            self.known.append(text)

    supervisor = Noted()
    stalls = {i: Stall("version not available", "Version not available: v2", 1.0) for i in "ab"}
    statuses = {"a": InstanceStatus("a", "COMPLETED"), "b": InstanceStatus("b", "STALLED")}
    note_released(supervisor, stalls, statuses)  # type: ignore[arg-type]
    (known,) = supervisor.known
    assert "1 instance(s) STALLED during the overlap (a) finished" in known
    (again,) = [m.text for m in supervisor.timeline.marks if m.kind == "finding"]
    assert again.startswith("1 instance(s) stalled again after the worker was cycled (b)")
