"""daprd's instance times become epoch seconds, and its zero time is no time."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2 as pb

from harness.record.instances import instance_state
from harness.workload.workflow_api import status_of

GO_ZERO_TIME = -62135596800  # 0001-01-01T00:00:00Z, what Go sends for time.Time{}


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    # The machine's zone must not matter: a naive datetime's timestamp() used it.
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"  # UTC+14
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def blank() -> Any:
    """daprd's WorkflowState message, as GetInstance's response carries it."""
    return pb.GetInstanceResponse().workflowState.__class__(instanceId="i-1", name="parcel")


def state(created: int, updated: int) -> Any:
    s = blank()
    s.createdTimestamp.seconds = created
    s.lastUpdatedTimestamp.seconds, s.lastUpdatedTimestamp.nanos = updated, 250_000_000
    return s


def test_go_zero_time_is_unset_not_a_crash(far_from_utc: None) -> None:
    # A user's run died here: "ValueError: year 0 is out of range" in status_of.
    status = status_of(state(GO_ZERO_TIME, 1_765_000_000))
    assert status.created_at is None and status.updated_at == 1_765_000_000.25


def test_times_are_epoch_seconds_whatever_the_machines_zone(far_from_utc: None) -> None:
    status = status_of(state(1_765_000_000, 1_765_000_001))
    assert (status.created_at, status.updated_at) == (1_765_000_000.0, 1_765_000_001.25)


def test_a_state_without_times_has_none() -> None:
    status = status_of(blank())
    assert status.created_at is None and status.updated_at is None


def test_the_history_readers_state_reads_times_the_same_way(far_from_utc: None) -> None:
    # InstanceReader (history export, recorder) and the workload read one WorkflowState.
    read = instance_state(state(GO_ZERO_TIME, 1_765_000_000))
    assert read.created is None and read.last_updated == 1_765_000_000.25
