"""The supervisor's recovery from the registration race, on a fake stack: a recovery
never waits out its grace for a worker of an app that has died."""

from __future__ import annotations

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
        self.soft_restarts = 0

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
        soft_restart=lambda: None,
    )
    stack: Any = SimpleNamespace(daprd=daprd, members={"app": SimpleNamespace(process=app)})
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
    assert sup.recover_registration() == "a daprd soft restart (SIGHUP)"
    assert time.monotonic() - started < 5


def test_an_app_that_dies_otherwise_during_a_recovery_is_an_error_at_once() -> None:
    app = FakeProcess(dies_after=0.2)
    sup = supervisor(app, FakeHits())
    started = time.monotonic()
    with pytest.raises(StackError, match=r"the app exited .* registration race"):
        sup.recover_registration()
    assert time.monotonic() - started < 5
