"""The supervisor's recovery from the registration race, on a fake stack: a recovery
never waits out its grace for a worker of an app that has died."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from harness.errors import StackError
from harness.record.ledger import FailpointHit
from harness.record.timeline import Timeline
from harness.stack.supervisor import Supervisor


class FakeProcess:
    """A member process that exits ``dies_after`` seconds after the test starts."""

    def __init__(self, dies_after: float | None = None) -> None:
        self.died_at = None if dies_after is None else time.monotonic() + dies_after
        self.returncode: int | None = None
        self.log_path = "app.log"

    def running(self) -> bool:
        if self.died_at is not None and time.monotonic() >= self.died_at:
            self.returncode = -9
            return False
        return True

    def log_tail(self, lines: int = 40) -> str:
        return ""


class FakeHits:
    def __init__(self) -> None:
        self.recorded: list[FailpointHit] = []

    def hits(self, prefix: str = "") -> list[FailpointHit]:
        return list(self.recorded)


def supervisor(app: FakeProcess, hits: FakeHits) -> Supervisor:
    daprd_process = FakeProcess()
    daprd = SimpleNamespace(
        process=daprd_process,
        metadata=lambda: {"workflows": {"connectedWorkers": 0}},  # the race: none counted
    )
    stack: Any = SimpleNamespace(
        daprd=daprd,
        members={"app": SimpleNamespace(process=app)},
        restart_member=lambda name, **_: 0.0,
    )
    return Supervisor(stack, Timeline(), hits, since=time.time(), worker_grace=30.0)  # type: ignore[arg-type]


def test_a_recovery_ends_when_the_app_crashes_at_a_failpoint() -> None:
    # The worker came back and ran redelivered work into the next armed crash: the
    # recovery worked, and waiting 30 s for a worker of the dead process would not.
    app, hits = FakeProcess(dies_after=0.2), FakeHits()
    sup = supervisor(app, hits)
    hits.recorded.append(
        FailpointHit("step.after", 3, True, "crash", time.time() + 0.1, 1, "wf-1", "step")
    )
    started = time.monotonic()
    assert sup.recover_registration() == "a daprd restart"
    assert time.monotonic() - started < 5


def test_an_app_that_dies_otherwise_during_a_recovery_is_an_error_at_once() -> None:
    app = FakeProcess(dies_after=0.2)
    sup = supervisor(app, FakeHits())
    started = time.monotonic()
    with pytest.raises(StackError, match=r"the app exited .* registration race"):
        sup.recover_registration()
    assert time.monotonic() - started < 5


STREAM_UP = 'time="T" level=info msg="work item stream established by user-agent: [grpc-python]"\n'
DISSEMINATED = 'time="T" level=info msg="Dissemination complete for version 3 (types [..])"\n'
UNREGISTERED = (
    'time="T" level=error msg="failed to invoke scheduled actor reminder named: run-activity '
    "due to: failed to create actor: actor type dapr.internal.default.orders.activity not "
    'registered"\n'
)


class FakeDaprdProcess(FakeProcess):
    """daprd's process with a log that grows as the test says."""

    def __init__(self, log: str) -> None:
        super().__init__()
        self.log = log

    def log_size(self) -> int:
        return 0

    def log_since(self, offset: int, limit: int = 0) -> str:
        return self.log[offset:]


def restarting(log: str) -> tuple[Supervisor, Any]:
    """A supervisor whose app starts (always), on a daprd whose log is ``log``; daprd
    counts no worker until daprd restarts."""
    state = {"workers": 0}
    process = FakeDaprdProcess(log)

    def restart_member(name: str, **_: Any) -> float:
        assert name == "daprd"
        state["workers"] = 1
        return 0.0

    daprd = SimpleNamespace(
        process=process,
        metadata=lambda: {"workflows": {"connectedWorkers": state["workers"]}},
    )
    app = SimpleNamespace(process=FakeProcess())
    app.process.running = lambda: state.get("started", 0) == 1  # down until started

    def start_member(name: str, **_: Any) -> float:
        state["started"] = 1
        return 0.0

    stack: Any = SimpleNamespace(
        daprd=daprd,
        members={"app": app},
        start_member=start_member,
        restart_member=restart_member,
        process=lambda name: app.process,
        member=lambda name: SimpleNamespace(wait_ready=lambda timeout: 0.0),
    )
    sup = Supervisor(
        stack, Timeline(), FakeHits(), since=time.time(), app_restart_delay=0.0, race_settle=0.3
    )  # type: ignore[arg-type]
    return sup, state


def test_the_race_is_recognised_once_the_stream_is_up_and_never_disseminated() -> None:
    # The worker's stream came up; placement never disseminated its actor types: the
    # race, recognised within race_settle, not after the whole 8 s probe.
    sup, _ = restarting(STREAM_UP + UNREGISTERED)
    started = time.monotonic()
    sup.start_app()
    assert time.monotonic() - started < 3
    assert len(sup.findings.known) == 1
    assert "its work item stream was up" in sup.findings.known[0]
    assert "recovered by a daprd restart" in sup.findings.known[0]


def test_a_disseminated_stream_is_not_the_race() -> None:
    sup, state = restarting(STREAM_UP + DISSEMINATED)
    sup.worker_probe = 0.6  # then the slow-worker path: the grace, and a worker comes
    state["workers"] = 0

    def worker_arrives() -> None:
        time.sleep(0.8)
        state["workers"] = 1

    threading.Thread(target=worker_arrives, daemon=True).start()
    sup.start_app()
    assert sup.findings.known == []


def test_an_app_that_dies_while_starting_is_started_again_a_few_times() -> None:
    # No failpoint fired: the app died on its own while starting (grpc-python aborted on
    # an epoll EBADF once here). A supervisor tries again, and gives up the third time.
    app = FakeProcess(dies_after=0.0)
    sup = supervisor(app, FakeHits())

    def dies_while_starting() -> None:
        raise StackError("app exited with status -6 while waiting for a connected worker")

    sup.start_app = dies_while_starting  # type: ignore[method-assign]
    assert sup.restart_crashed_app(held=False)
    assert sup.restart_crashed_app(held=False)
    with pytest.raises(StackError, match="status -6"):
        sup.restart_crashed_app(held=False)


def test_one_app_start_at_a_time() -> None:
    # A timed heal starting a killed app (its restart delay under way) and the chaos
    # loop seeing the app down must not both start it ("app is already running").
    sup, state = restarting(STREAM_UP + DISSEMINATED)
    sup.app_restart_delay = 0.5
    state["workers"] = 1
    heal = threading.Thread(target=sup.start_app)
    heal.start()
    time.sleep(0.1)
    assert sup.restart_crashed_app(held=False) is False  # the heal has it
    heal.join()
    assert state["started"] == 1
    sup.start_app()  # started meanwhile: nothing to do
