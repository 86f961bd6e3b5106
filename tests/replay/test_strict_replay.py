"""The strict replayer catches every change that breaks in-flight instances, on histories
recorded from real runs of the original workflows; changes made with the SDK's
versioning support, and the unmodified code, replay clean."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from harness import Mismatch, assert_replays, read_history, replay_histories
from tests.replay.apps import changed, shop
from tests.replay.conftest import Recorded

CLEAN = (
    "shop-1",
    "shop-2",
    "clocked-safe-1",
    "versioned-1",
    "patched-1",
    "fanout-1",
    "approval-1",
)


def only(mismatches: list[Mismatch]) -> Mismatch:
    assert len(mismatches) == 1, "\n".join(map(str, mismatches))
    return mismatches[0]


def test_the_unmodified_workflows_replay_clean(recorded: Recorded) -> None:
    report = replay_histories(shop.wfr, [recorded.path(s) for s in CLEAN])
    assert report.clean, report.report()
    assert report.histories == len(CLEAN)


@pytest.mark.parametrize(
    ("runtime", "index", "what", "history", "now"),
    [
        # event #2 is the first taskScheduled (reserve, id 1); #5 charge; #8 ship; #11 notify;
        # #14 the completion.
        (changed.swapped_rt, 2, "activity name", "activity 'reserve'", "activity 'charge'"),
        (changed.renamed_rt, 2, "activity name", "activity 'reserve'", "activity 'reserve_stock'"),
        (changed.timer_inserted_rt, 5, "step", "activity 'charge'", "timer firing at"),
        (changed.last_dropped_rt, 11, "step", "activity 'notify'", "completion COMPLETED"),
        (changed.appended_rt, 14, "step", "completion COMPLETED", "activity 'audit'"),
        (
            changed.input_changed_rt,
            5,
            "input of activity 'charge'",
            '"amount": 12.5',
            '"amount": 15.0',
        ),
    ],
    ids=["swapped", "renamed", "timer-inserted", "last-dropped", "appended", "input-changed"],
)
def test_a_changed_workflow_is_caught_at_the_event_it_breaks(
    recorded: Recorded, runtime: Any, index: int, what: str, history: str, now: str
) -> None:
    path = recorded.path("shop-1")
    report = replay_histories(runtime, [path])
    mismatch = only(report.mismatches)
    assert (mismatch.instance_id, mismatch.index, mismatch.what) == ("golden-shop-1", index, what)
    assert history in mismatch.history
    assert now in mismatch.now
    assert mismatch.source == str(path)
    # The event the mismatch points at is the one the history recorded there.
    event = read_history(path).events[index]
    assert event.eventId >= 1 and event.WhichOneof("eventType") in (
        "taskScheduled",
        "executionCompleted",
    )


def test_a_step_dropped_from_or_added_to_a_fan_out_is_missing_or_extra(
    recorded: Recorded,
) -> None:
    path = recorded.path("fanout-1")
    missing = only(replay_histories(changed.fanout_fewer_rt, path).mismatches)
    assert (missing.what, missing.index, missing.turn) == ("missing step", 3, 0)
    assert missing.history.startswith("activity 'ship'")
    assert "missing step; history: activity 'ship'" in str(missing)
    extra = only(replay_histories(changed.fanout_more_rt, path).mismatches)
    assert (extra.what, extra.index, extra.turn) == ("extra step", 4, 0)
    assert extra.now.startswith("activity 'notify'") and extra.history == "nothing recorded here"


def test_the_inserted_timer_is_reported_with_its_deadline(recorded: Recorded) -> None:
    mismatch = only(replay_histories(changed.timer_inserted_rt, recorded.path("shop-1")).mismatches)
    started = read_history(recorded.path("shop-1")).events[3].timestamp.ToDatetime()
    # The timer fires 1 s after the turn's (replay-safe) start time.
    deadline = mismatch.now.split("firing at ")[1].split(" ")[0]
    fired = datetime.fromisoformat(deadline.replace("Z", "+00:00")).replace(tzinfo=None)
    assert (fired - started).total_seconds() == pytest.approx(1.0, abs=1e-3)


def test_a_patched_change_replays_clean_and_the_same_change_unpatched_does_not(
    recorded: Recorded,
) -> None:
    histories = [recorded.path("shop-1"), recorded.path("shop-2")]
    assert replay_histories(changed.patched_rt, histories).clean
    assert not replay_histories(changed.appended_rt, histories).clean


def test_a_new_workflow_version_replays_clean_while_the_old_one_stays_registered(
    recorded: Recorded,
) -> None:
    path = recorded.path("versioned-1")
    assert replay_histories(changed.versioned_rt, path).clean
    mismatch = only(replay_histories(changed.v1_deleted_rt, path).mismatches)
    assert "no registered version" in mismatch.now


def _first_activity(recorded: Recorded, suffix: str) -> str:
    events = read_history(recorded.path(suffix)).events
    return next(e.taskScheduled.name for e in events if e.HasField("taskScheduled"))


def test_a_workflow_branching_on_random_numbers_is_caught(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    took_reserve = _first_activity(recorded, "lucky-1") == "reserve"  # random() < 0.5
    # Replay as if this process drew the other number (deterministically).
    monkeypatch.setattr(shop.random, "random", lambda: 0.9 if took_reserve else 0.1)
    mismatch = only(replay_histories(shop.wfr, recorded.path("lucky-1")).mismatches)
    assert mismatch.index == 2
    assert "not deterministic" in mismatch.now or mismatch.what == "activity name"
    # Drawing the same number as the recording did replays clean: the finding is the branch.
    monkeypatch.setattr(shop.random, "random", lambda: 0.1 if took_reserve else 0.9)
    assert replay_histories(shop.wfr, recorded.path("lucky-1")).clean


class _Clock:
    """Stands in for ``datetime`` in the workflow module: ``now()`` has the given parity."""

    microsecond = 0

    @classmethod
    def now(cls, tz: Any = None) -> datetime:
        return datetime(2030, 1, 1, tzinfo=UTC).replace(microsecond=cls.microsecond)


def test_a_workflow_branching_on_the_wall_clock_is_caught(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    took_reserve = _first_activity(recorded, "clocked-1") == "reserve"  # even microsecond
    monkeypatch.setattr(shop, "datetime", _Clock)
    _Clock.microsecond = 1 if took_reserve else 2
    mismatch = only(replay_histories(shop.wfr, recorded.path("clocked-1")).mismatches)
    assert mismatch.index == 2
    _Clock.microsecond = 2 if took_reserve else 1
    assert replay_histories(shop.wfr, recorded.path("clocked-1")).clean


def test_the_replay_safe_clock_replays_clean_whatever_the_wall_clock_says(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shop, "datetime", _Clock)
    for parity in (1, 2):
        _Clock.microsecond = parity
        assert replay_histories(shop.wfr, recorded.path("clocked-safe-1")).clean


def test_assert_replays_lists_every_mismatch(recorded: Recorded) -> None:
    histories = [recorded.path("shop-1"), recorded.path("shop-2")]
    assert assert_replays(shop.wfr, histories).histories == 2
    with pytest.raises(AssertionError) as failure:
        assert_replays(changed.swapped_rt, histories)
    text = str(failure.value)
    assert "2 of 2 histories do not replay" in text
    assert "golden-shop-1, event #2" in text and "golden-shop-2, event #2" in text


def test_histories_are_recorded_as_protobuf_and_readable_json(recorded: Recorded) -> None:
    path = recorded.path("shop-1")
    history = read_history(path)
    assert history.instance_id == "golden-shop-1" and history.workflow_name == "shop"
    rendering = json.loads(path.with_suffix(".json").read_text())
    assert rendering["instanceId"] == "golden-shop-1"
    assert len(rendering["events"]) == len(history.events) == 15
    assert rendering["events"][14]["executionCompleted"]["workflowStatus"] == (
        "ORCHESTRATION_STATUS_COMPLETED"
    )
