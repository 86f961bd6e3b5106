"""History files: a missing, truncated, foreign or tampered file is a clear ConfigError
(exit 2), never a shorter history that replays "clean"; and the step comparison rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dapr.ext.workflow._durabletask.internal import history_events_pb2 as events
from google.protobuf import timestamp_pb2

from harness.errors import ConfigError
from harness.record.recorder import encode_history, read_history, write_history
from harness.replay import replay_histories
from harness.replay.steps import ACTIVITY, COMPLETE, TIMER, Step
from harness.replay.strict import compare_step, split_turns

ROOT = Path(__file__).resolve().parents[2]


def _event(**body: Any) -> Any:
    event = events.HistoryEvent(eventId=body.pop("eventId", -1), **body)
    event.timestamp.CopyFrom(timestamp_pb2.Timestamp(seconds=1_800_000_000))
    return event


HISTORY = [
    _event(workflowStarted=events.WorkflowStartedEvent()),
    _event(executionStarted=events.ExecutionStartedEvent(name="greet")),
    _event(eventId=1, taskScheduled=events.TaskScheduledEvent(name="greet")),
    _event(workflowStarted=events.WorkflowStartedEvent()),
    _event(taskCompleted=events.TaskCompletedEvent(taskScheduledId=1)),
    _event(eventId=2, executionCompleted=events.ExecutionCompletedEvent()),
]


def test_a_written_history_reads_back_identically(tmp_path: Path) -> None:
    path = write_history(tmp_path, "order/1", HISTORY)
    assert path.name == "order_1.pb" and path.with_suffix(".json").exists()
    history = read_history(path)
    assert history.instance_id == "order/1" and history.events == HISTORY
    assert history.workflow_name == "greet"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:-3], "truncated or corrupt"),
        (lambda b: b[: b.index(b"}\n") + 2], "truncated or corrupt"),
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "checksum wrong"),
        (lambda b: b"\x0a\x02hi" + b, "not a dapr-chaos history file"),
        (lambda b: b.replace(b'"events": 6', b'"events": 7'), "6 events, the header says 7"),
        (lambda b: b.replace(b'{"instance_id"', b'{"instance"'), "header is corrupt"),
        (lambda b: b"", "not a dapr-chaos history file"),
    ],
    ids=["truncated", "payload-cut", "bit-flip", "foreign", "count", "header", "empty"],
)
def test_a_damaged_history_file_is_a_config_error(
    tmp_path: Path, damage: Any, message: str
) -> None:
    path = tmp_path / "h.pb"
    path.write_bytes(damage(encode_history("i-1", HISTORY)))
    with pytest.raises(ConfigError, match=message):
        read_history(path)


def test_a_history_without_a_start_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.pb"
    path.write_bytes(encode_history("i-1", HISTORY[2:]))
    with pytest.raises(ConfigError, match="no executionStarted"):
        read_history(path)


def test_missing_files_and_empty_directories_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        replay_histories([], [tmp_path / "nope.pb"])
    with pytest.raises(ConfigError, match="holds no history files"):
        replay_histories([], [tmp_path])


def test_the_cli_exits_2_on_bad_input_before_replaying(tmp_path: Path) -> None:
    good = write_history(tmp_path, "i-1", HISTORY)
    (tmp_path / "bad.pb").write_bytes(b"junk")
    cases = [
        (["--workflows", "no_such_module", str(good)], "cannot import workflow module"),
        (["--workflows", "tests.replay.apps.shop:nope", str(good)], "has no attribute 'nope'"),
        (["--workflows", "tests.replay.apps.shop", str(good)], "'greet' is not registered"),
        (["--workflows", "tests.replay.apps.shop", str(tmp_path / "bad.pb")], "bad.pb is not"),
    ]
    for args, message in cases:
        result = subprocess.run(
            [sys.executable, "-m", "harness.cli", "replay", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, result.stderr


def test_turns_split_at_each_workflow_start_with_decisions_last() -> None:
    turns = split_turns(HISTORY)
    assert [(t.start, t.decisions_at, t.end) for t in turns] == [(0, 2, 3), (3, 5, 6)]


def test_step_comparison_rules() -> None:
    charge = Step(ACTIVITY, 2, "charge", '{"amount": 1, "id": "a"}')
    assert compare_step(charge, Step(ACTIVITY, 2, "charge", '{"id":"a","amount":1}')) == []
    assert [d[0] for d in compare_step(charge, Step(ACTIVITY, 2, "charge", '{"amount": 2}'))] == [
        "input of activity 'charge'"
    ]
    assert [d[0] for d in compare_step(charge, Step(ACTIVITY, 2, "refund", "{}"))] == [
        "activity name"
    ]
    assert [d[0] for d in compare_step(charge, Step(ACTIVITY, 3, "charge", charge.input))] == [
        "position"
    ]
    timer = Step(TIMER, 2, fire_at="2030-01-01T00:00:01Z", origin="createTimer")
    assert [
        d[0]
        for d in compare_step(
            timer, Step(TIMER, 2, fire_at="2030-01-01T00:00:02Z", origin="createTimer")
        )
    ] == ["timer deadline"]
    assert [d[0] for d in compare_step(charge, timer)] == ["step"]
    done = Step(COMPLETE, 5, status="COMPLETED", output='{"a": 1}')
    assert compare_step(done, Step(COMPLETE, 5, status="COMPLETED", output='{"a":1}')) == []
    assert [
        d[0] for d in compare_step(done, Step(COMPLETE, 5, status="FAILED", failure="E: boom"))
    ] == [
        "completion status",
        "output",
        "failure",
    ]
