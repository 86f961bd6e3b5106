"""How verify waits for a run's instances: every one terminal, the deadline, or (early)
only instances Dapr does not know left, with nothing changing for a while.

The workload is a fake (pure logic): statuses come from a script per instance id.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.errors import WorkloadError
from harness.experiment.observe import _wait_terminal
from harness.record.history import InstanceStatus

Script = Callable[[float], InstanceStatus | None]


class ScriptedWorkload:
    """Answers ``status(id)`` from ``scripts[id](seconds since start)``; a script may
    raise WorkloadError (an unreadable instance)."""

    def __init__(self, scripts: dict[str, Script]) -> None:
        self.scripts = scripts
        self.started = time.monotonic()

    def status(self, instance_id: str) -> InstanceStatus | None:
        return self.scripts[instance_id](time.monotonic() - self.started)


def done(instance_id: str) -> Script:
    return lambda _t: InstanceStatus(instance_id, "COMPLETED")


def absent(_t: float) -> None:
    return None


def appears_at(instance_id: str, at: float, finishes: float) -> Script:
    def script(t: float) -> InstanceStatus | None:
        if t < at:
            return None
        return InstanceStatus(instance_id, "COMPLETED" if t >= finishes else "RUNNING")

    return script


def unreadable(_t: float) -> Any:
    raise WorkloadError("connection refused")


def wait(scripts: dict[str, Script], **kwargs: Any) -> tuple[list[str], dict[str, str], float]:
    started = time.monotonic()
    _statuses, pending, why = _wait_terminal(
        ScriptedWorkload(scripts), list(scripts), set(), **kwargs
    )  # type: ignore[arg-type]
    return pending, why, time.monotonic() - started


def test_every_instance_terminal_ends_the_wait_at_once() -> None:
    pending, why, took = wait({"a": done("a"), "b": done("b")}, deadline=5.0, lost_after=1.0)
    assert pending == [] and why == {}
    assert took < 1.0


def test_an_instance_dapr_never_knew_is_given_up_once_nothing_changes() -> None:
    pending, why, took = wait({"a": done("a"), "lost": absent}, deadline=10.0, lost_after=0.4)
    assert pending == ["lost"] and why == {}
    assert 0.4 <= took < 5.0  # long before the deadline


def test_an_instance_that_appears_late_is_waited_for_while_others_progress() -> None:
    # "late" is unknown for 0.8 s, longer than lost_after, but "busy" moves meanwhile.
    scripts = {
        "busy": appears_at("busy", 0.0, finishes=0.5),
        "late": appears_at("late", 0.45, finishes=0.6),
    }
    pending, _why, _took = wait(scripts, deadline=10.0, lost_after=0.3)
    assert pending == []


def test_an_unreadable_instance_is_waited_for_until_the_deadline() -> None:
    pending, why, took = wait({"a": done("a"), "u": unreadable}, deadline=0.8, lost_after=0.2)
    assert pending == ["u"] and "connection refused" in why["u"]
    assert took >= 0.8


def test_a_running_instance_is_never_given_up_early() -> None:
    scripts = {"r": lambda _t: InstanceStatus("r", "RUNNING"), "lost": absent}
    pending, _why, took = wait(scripts, deadline=0.8, lost_after=0.2)
    assert sorted(pending) == ["lost", "r"]
    assert took >= 0.8


@pytest.mark.parametrize("lost_after", [0.2])
def test_giving_up_needs_the_quiet_period_after_the_last_change(lost_after: float) -> None:
    # "b" finishes at 0.5 s: the wait for "lost" runs lost_after from then, not from 0.
    scripts = {"b": appears_at("b", 0.0, finishes=0.5), "lost": absent}
    pending, _why, took = wait(scripts, deadline=10.0, lost_after=lost_after)
    assert pending == ["lost"]
    assert took >= 0.5 + lost_after


def running(instance_id: str) -> Script:
    return lambda _t: InstanceStatus(instance_id, "RUNNING")


def test_no_worker_ends_the_wait_for_instances_that_cannot_move() -> None:
    pending, _why, took = wait(
        {"r": running("r")}, deadline=10.0, worker_lost=lambda: True, stalled_for=0.3
    )
    assert pending == ["r"]
    assert 0.3 <= took < 5.0


def test_a_worker_that_comes_back_restarts_the_stall_clock() -> None:
    # The worker is missing at every other look, never for stalled_for in a row: the wait
    # goes on to the deadline (the instance stays RUNNING).
    looks = itertools.count()

    def flashes() -> bool:
        return next(looks) % 2 == 0

    pending, _why, took = wait(
        {"r": running("r")}, deadline=1.0, worker_lost=flashes, stalled_for=0.5
    )
    assert pending == ["r"]
    assert took >= 1.0


UNLOADABLE = (
    "reading u on daprd 127.0.0.1:1 failed: UNKNOWN: workflow 'u': inbox key 'inbox-000000' "
    "declared in metadata (inboxLength=1) but missing from state store (transient store read "
    "failure or partial save?)"
)


def unloadable_state(_t: float) -> Any:
    raise WorkloadError(UNLOADABLE)


def test_an_instance_daprd_cannot_load_ends_the_wait_like_a_stalled_one() -> None:
    scripts = {
        "u": unloadable_state,
        "s": lambda _t: InstanceStatus("s", "STALLED"),
        "a": done("a"),
    }
    pending, why, took = wait(scripts, deadline=10.0, stalled_for=0.3)
    assert sorted(pending) == ["s", "u"] and "declared in metadata" in why["u"]
    assert took < 5.0  # the known defect waits for nothing: no need to wait out the deadline
