"""The live dashboard from fake daprd answers: the survey, the snapshot, the HTML (escaped),
and the server's lifetime (127.0.0.1 only, nothing left behind by stop)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from typing import Any

import pytest
from dapr.ext.workflow._durabletask.internal import history_events_pb2 as events_pb
from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as orchestration
from google.protobuf import timestamp_pb2, wrappers_pb2

from harness.errors import WorkloadError
from harness.record.instances import InstanceState, ListingUnsupported, instance_state
from harness.record.survey import KNOWN, LISTED, InstanceSurvey, in_flight
from harness.record.timeline import FaultWindow
from harness.report.dashboard import FaultRun, render_page, render_view, snapshot, to_json
from harness.report.dashboard_server import Dashboard

EVIL = "<script>alert(1)</script>"


def ts(seconds: float) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromNanoseconds(int(seconds * 1e9))
    return out


def started(name: str, payload: str, at: float) -> Any:
    return events_pb.HistoryEvent(
        eventId=-1,
        timestamp=ts(at),
        executionStarted=events_pb.ExecutionStartedEvent(
            name=name, input=wrappers_pb2.StringValue(value=payload)
        ),
    )


def scheduled(name: str, at: float, event_id: int = 0) -> Any:
    return events_pb.HistoryEvent(
        eventId=event_id, timestamp=ts(at), taskScheduled=events_pb.TaskScheduledEvent(name=name)
    )


def state(
    instance_id: str,
    status: str = "COMPLETED",
    *,
    created: float = 100.0,
    updated: float = 105.0,
    name: str = "order_processing",
    payload: str | None = '{"orderId": "o-1"}',
    output: str | None = '"Approved"',
) -> InstanceState:
    return InstanceState(instance_id, name, status, created, updated, payload, output)


class FakeDaprd:
    """Answers as daprd's TaskHubSidecarService would, counting the calls."""

    def __init__(self, states: list[InstanceState], *, listing: bool = True) -> None:
        self.states = {s.instance_id: s for s in states}
        self.listing = listing
        self.state_calls: dict[str, int] = {}
        self.event_calls: dict[str, int] = {}
        self.broken: set[str] = set()

    def instance_ids(self) -> list[str]:
        if not self.listing:
            raise ListingUnsupported("daprd does not list instances (ListInstanceIDs: nope)")
        return list(self.states)

    def state(self, instance_id: str) -> InstanceState | None:
        self.state_calls[instance_id] = self.state_calls.get(instance_id, 0) + 1
        if instance_id in self.broken:
            raise WorkloadError(f"GetInstance({instance_id}) failed: UNAVAILABLE: down")
        return self.states.get(instance_id)

    def events(self, instance_id: str) -> list[Any]:
        self.event_calls[instance_id] = self.event_calls.get(instance_id, 0) + 1
        s = self.states[instance_id]
        return [started(s.name, s.input or "", s.created or 0), scheduled("charge", 101.0)]


def test_a_survey_lists_newest_first_with_histories_and_reads_terminal_ones_once() -> None:
    daprd = FakeDaprd(
        [state("old", created=50.0), state("new", "RUNNING", created=200.0, updated=201.0)]
    )
    survey = InstanceSurvey(daprd)
    first = survey.poll()
    assert first.source == LISTED and first.errors == [] and first.total == 2
    assert [v.state.instance_id for v in first.instances] == ["new", "old"]
    assert [r["event"] for r in first.instances[0].history] == [
        "executionStarted",
        "taskScheduled",
    ]
    assert first.instances[1].history[1]["name"] == "charge"
    survey.poll()
    survey.poll()
    assert daprd.state_calls == {"old": 1, "new": 3}  # a terminal instance is read once
    assert daprd.event_calls == {"old": 1, "new": 1}  # unchanged state: history cached
    daprd.states["new"] = state("new", "COMPLETED", created=200.0, updated=209.0)
    assert survey.poll().instances[0].state.status == "COMPLETED"
    assert daprd.event_calls["new"] == 2


def test_a_survey_falls_back_to_the_ids_the_harness_knows_and_says_so() -> None:
    daprd = FakeDaprd([state("a"), state("b")], listing=False)
    survey = InstanceSurvey(daprd, known=lambda: ["a", "gone"])
    result = survey.poll()
    assert result.source.startswith(KNOWN) and "ListInstanceIDs: nope" in result.source
    assert [v.state.instance_id for v in result.instances] == ["a"]  # "gone": unknown


def test_a_failed_read_is_an_error_line_and_the_last_state_stays() -> None:
    daprd = FakeDaprd([state("a", "RUNNING")])
    survey = InstanceSurvey(daprd)
    survey.poll()
    daprd.broken.add("a")
    result = survey.poll()
    assert result.errors == ["GetInstance(a) failed: UNAVAILABLE: down"]
    assert [v.state.status for v in result.instances] == ["RUNNING"]


def test_a_survey_draws_at_most_limit_instances_and_counts_all() -> None:
    daprd = FakeDaprd([state(f"i{n}", created=float(n)) for n in range(10)])
    result = InstanceSurvey(daprd, limit=3).poll()
    assert [v.state.instance_id for v in result.instances] == ["i9", "i8", "i7"]
    assert result.total == 10 and sum(daprd.event_calls.values()) == 3


@pytest.mark.parametrize(
    ("status", "created", "updated", "expected"),
    [
        ("COMPLETED", 10.0, 15.0, True),  # ran across the window's start
        ("COMPLETED", 10.0, 11.0, False),  # done before the fault
        ("COMPLETED", 25.0, 26.0, False),  # started after the fault ended
        ("RUNNING", 5.0, 6.0, True),  # still running: in flight throughout
        ("FAILED", 14.0, 30.0, True),  # started during the window
    ],
)
def test_in_flight_during_a_window(
    status: str, created: float, updated: float, expected: bool
) -> None:
    s = state("x", status, created=created, updated=updated)
    assert in_flight(s, 12.0, 20.0, now=100.0) is expected


def test_an_active_window_lasts_until_now() -> None:
    s = state("x", "COMPLETED", created=50.0, updated=60.0)
    assert in_flight(s, 12.0, None, now=100.0) and not in_flight(s, 12.0, None, now=40.0)


def test_instance_state_from_daprds_message() -> None:
    message = orchestration.WorkflowState(
        instanceId="o-1",
        name="order_processing",
        workflowStatus=orchestration.ORCHESTRATION_STATUS_FAILED,
        createdTimestamp=ts(1000.5),
        lastUpdatedTimestamp=ts(1002.25),
        input=wrappers_pb2.StringValue(value='{"a": 1}'),
        failureDetails=orchestration.TaskFailureDetails(errorType="ValueError", errorMessage="no"),
    )
    got = instance_state(message)
    assert got == InstanceState(
        "o-1", "order_processing", "FAILED", 1000.5, 1002.25, '{"a": 1}', None, None,
        "ValueError: no",
    )  # fmt: skip
    assert got.terminal


def board_of(windows: list[FaultWindow], now: float = 300.0) -> dict[str, Any]:
    daprd = FakeDaprd(
        [
            state("during", created=100.0, updated=140.0),
            state("after", created=200.0, updated=210.0),
            state(EVIL, "RUNNING", created=250.0, updated=251.0, name=EVIL, payload=EVIL),
        ]
    )
    return snapshot(
        InstanceSurvey(daprd).poll(),
        [FaultRun("test_x", windows)],
        app_id="orders",
        daprd="127.0.0.1:50001",
        now=now,
    )


def test_the_snapshot_numbers_windows_and_marks_instances_in_flight() -> None:
    windows = [
        FaultWindow("kill", "app", 120.0, 125.0, "SIGKILL"),
        FaultWindow("pause", "daprd", 260.0, None),
    ]
    data = board_of(windows)
    assert data["schema"] == "dapr-chaos/dashboard/v1" and data["listed"]
    assert [(w["number"], w["active"]) for w in data["windows"]] == [(1, False), (2, True)]
    assert data["windows"][0]["in_flight"] == ["during"]
    assert data["windows"][1]["in_flight"] == [EVIL]
    by_id = {i["instance_id"]: i for i in data["instances"]}
    assert by_id["during"]["faults"] == [1] and by_id["after"]["faults"] == []
    assert by_id["during"]["app_id"] == "orders" and by_id["during"]["output"] == '"Approved"'
    assert by_id["during"]["history"][0]["event"] == "executionStarted"
    assert data["counts"] == {"COMPLETED": 2, "RUNNING": 1}
    assert json.loads(to_json(data))["instances"][0]["instance_id"] == EVIL


def test_the_view_draws_instances_histories_and_windows_with_app_data_escaped() -> None:
    windows = [FaultWindow("latency", "app->daprd", 120.0, 125.0, EVIL)]
    view = render_view(board_of(windows))
    assert "<script>" not in view and "&lt;script&gt;alert(1)&lt;/script&gt;" in view
    assert view.count('class="instance"') == 3
    assert 'data-id="during"' in view and 'data-status="COMPLETED"' in view
    assert view.count('<table class="history">') == 3
    assert '<table id="fault-windows"' in view and ">PAST<" in view
    assert 'title="in flight during fault F1">F1</span>' in view
    assert "00:02:00.000" in view  # the window's start, UTC
    assert 'code class="output">&quot;Approved&quot;' in view


def test_the_view_says_when_the_instances_come_from_the_harness_not_daprd() -> None:
    daprd = FakeDaprd([state("a")], listing=False)
    data = snapshot(
        InstanceSurvey(daprd, known=lambda: ["a"]).poll(),
        [],
        app_id="orders",
        daprd=None,
        now=0.0,
        problem="daprd does not answer",
    )
    view = render_view(data)
    assert 'id="source"' in view and "daprd does not list instances" in view
    assert 'id="problem"' in view and "No fault injected" in view


def test_the_page_refreshes_the_view_on_an_interval() -> None:
    page = render_page(title="t <b>", interval_ms=1500)
    assert "setInterval(refresh, 1500)" in page and "fetch('view'" in page
    assert "<title>t &lt;b&gt;</title>" in page and 'id="view"' in page


def get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read().decode()


def test_the_server_binds_loopback_serves_three_paths_and_stop_leaves_nothing() -> None:
    before = {t.name for t in threading.enumerate()}
    board = Dashboard(interval=0.05)
    url = board.start()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    port = int(url.rsplit(":", 1)[1].rstrip("/"))
    status, kind, page = get(url)
    assert status == 200 and kind.startswith("text/html") and "setInterval" in page
    status, kind, body = get(url + "state.json")
    data = json.loads(body)
    assert kind == "application/json" and data["problem"] == "no stack yet"
    assert data["instances"] == [] and data["windows"] == []
    status, _, view = get(url + "view")
    assert 'id="problem"' in view
    with pytest.raises(urllib.error.HTTPError) as err:
        get(url + "nope")
    assert err.value.code == 404
    board.stop()
    board.stop()  # idempotent
    assert board.url is None
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert {t.name for t in threading.enumerate()} - before == set()


def test_the_server_marks_the_windows_of_followed_timelines() -> None:
    from harness.record.timeline import Timeline

    timeline = Timeline()
    window = timeline.open("pause", "app", detail=EVIL)
    with Dashboard(interval=0.05) as board:
        board.follow(timeline, "test_one")
        board.follow(timeline, "test_one")  # the same timeline twice: once
        assert board.url is not None
        data = json.loads(get(board.url + "state.json")[2])
        assert [(w["run"], w["kind"], w["active"]) for w in data["windows"]] == [
            ("test_one", "pause", True)
        ]
        timeline.close(window)
        data = json.loads(get(board.url + "state.json")[2])
        assert data["windows"][0]["active"] is False
        assert "&lt;script&gt;" in get(board.url + "view")[2]
