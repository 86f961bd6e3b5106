"""The supervisor's recovery from the known registration race, against a fake daprd.

The race itself shows only by chance on a real stack (the slow tests loop for it), so
here a fake daprd serves ``/v1.0/metadata`` over HTTP on 127.0.0.1 (API token checked, as
daprd does) and writes daprd's log, behaving as daprd 1.18.3 does in each case: the
worker stream up but ``connectedWorkers`` 0 with "actor type ... not registered" in the
log until daprd restarts (the race), a worker that is only slow, and a worker that
really quit (the app's fault, never the upstream defect). The supervisor under test is
the real one; only the stack around it is fake. Recovery is a full daprd restart, never
SIGHUP (a soft restart can corrupt workflow state: README, upstream findings).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest

from harness.errors import StackError
from harness.record.timeline import Timeline
from harness.stack import process as procfile
from harness.stack import readiness
from harness.stack.supervisor import (
    KNOWN_REGISTRATION_RACE,
    RACE_HEAL,
    MemberDied,
    Supervisor,
)

TOKEN = "test-token"
STREAM_UP = 'time="2026-12-02T10:00:00Z" level=info msg="work item stream established"'
DISSEMINATED = 'time="2026-12-02T10:00:00Z" level=info msg="Dissemination complete"'
RACE_LINE = (
    'time="2026-12-02T10:00:00Z" level=error msg="error from worker: actor type '
    'dapr.internal.default.orders.activity is not registered" app_id=orders scope=dapr.wfengine'
)


class FakeProcess:
    """A member process that only keeps a running flag and a log file."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.pid = 4242 if name == "app" else 4243
        self.returncode: int | None = None
        self.alive = False
        self.started_at: float | None = None
        log_path.touch()

    def running(self) -> bool:
        return self.alive

    def paused(self) -> bool:
        return False

    def start(self) -> None:
        self.alive = True
        self.started_at = time.time()

    def stop(self, grace: float = 3.0) -> None:
        self.alive = False

    def signal(self, sig: int) -> None:
        pass

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def write(self, line: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(line + "\n")

    def log_tail(self, lines: int = 40) -> str:
        return procfile.tail(self.log_path, lines)

    def log_size(self) -> int:
        return procfile.log_size(self.log_path)

    def log_since(self, offset: int, limit: int = 4 * 1024 * 1024) -> str:
        return procfile.log_since(self.log_path, offset, limit)


@dataclass
class DaprdBehaviour:
    """How the fake daprd counts the app's worker.

    ``race``: after an app start the stream is up but no worker is counted, with the
    race's log lines, until daprd restarts; ``restarts_to_heal``: how many daprd
    restarts that takes; ``worker_after``: seconds after an app start that an unraced
    worker is counted (None: it never is: the worker quit).
    """

    race: bool = False
    restarts_to_heal: int = 1
    worker_after: float | None = 0.0
    workers: int = 0
    app_started: float = 0.0
    soft_restarts: int = 0
    full_restarts: int = 0
    metadata_reads: int = field(default=0)

    def connected(self) -> int:
        if self.race:
            return 0
        if self.worker_after is None or not self.app_started:
            return self.workers
        return 1 if time.time() - self.app_started >= self.worker_after else 0


class FakeDaprd:
    """daprd as the supervisor sees it: metadata over HTTP, a log, SIGHUP."""

    def __init__(self, behaviour: DaprdBehaviour, log_path: Path) -> None:
        self.behaviour = behaviour
        self.process = FakeProcess("daprd", log_path)
        self.process.alive = True
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.http_port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        behaviour = self.behaviour

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("dapr-api-token") != TOKEN:
                    self.send_response(401)
                    self.end_headers()
                    return
                behaviour.metadata_reads += 1
                body = json.dumps(
                    {
                        "id": "orders",
                        "actorRuntime": {
                            "runtimeStatus": "RUNNING",
                            "placement": "placement: connected",
                        },
                        "workflows": {"connectedWorkers": behaviour.connected()},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def metadata(self) -> dict[str, Any] | None:
        return readiness.daprd_metadata(self.http_port, TOKEN)

    def soft_restart(self) -> None:
        self.behaviour.soft_restarts += 1  # the supervisor must never use it

    def full_restart(self) -> None:
        self.behaviour.full_restarts += 1
        if self.behaviour.race and self.behaviour.full_restarts >= self.behaviour.restarts_to_heal:
            self.behaviour.race = False
            self.behaviour.workers = 1
            self.process.write(STREAM_UP)
            self.process.write(DISSEMINATED)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class FakeMember:
    process: FakeProcess
    stack: FakeStack | None = None

    def wait_ready(self, timeout: float) -> float:
        assert self.stack is not None
        return self.stack.wait_app(timeout)


@dataclass
class FakeConfig:
    ready_timeout: float = 1.0


class FakeStack:
    """What the supervisor uses of a Stack: its members, daprd, start and restart."""

    def __init__(self, daprd: FakeDaprd, app: FakeProcess) -> None:
        self.daprd = daprd
        self.members: dict[str, FakeMember] = {
            "daprd": FakeMember(daprd.process),
            "app": FakeMember(app, self),
        }
        self.config = FakeConfig()
        self.app_starts = 0

    def process(self, name: str) -> FakeProcess:
        return self.members[name].process

    def member(self, name: str) -> FakeMember:
        return self.members[name]

    def start_member(self, name: str, *, timeout: float | None = None, wait: bool = True) -> float:
        process = self.members[name].process
        process.start()
        if name != "app":
            return 0.0
        self.app_starts += 1
        behaviour = self.daprd.behaviour
        behaviour.app_started = time.time()
        if behaviour.race:
            # The worker's stream comes up, its actor types are never disseminated.
            self.daprd.process.write(STREAM_UP)
            self.daprd.process.write(RACE_LINE)
        return self.wait_app(timeout or self.config.ready_timeout) if wait else 0.0

    def wait_app(self, timeout: float) -> float:
        """The real App.wait_ready: the worker counted in daprd's metadata."""
        return readiness.wait_for(
            "workflows.connectedWorkers >= 1 in daprd metadata",
            lambda: readiness.workflow_workers(self.daprd.metadata()) >= 1,
            process=self.process("app"),  # type: ignore[arg-type]
            timeout=timeout,
        )

    def restart_member(self, name: str, *, timeout: float | None = None) -> float:
        if name == "daprd":
            self.daprd.full_restart()
            return 0.0
        self.members[name].process.stop()
        return self.start_member(name, timeout=timeout)


class NoHits:
    def hits(self, prefix: str = "") -> list[Any]:
        return []


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Any]:
    made: list[FakeDaprd] = []

    def build(behaviour: DaprdBehaviour, **options: Any) -> tuple[Supervisor, FakeStack]:
        daprd = FakeDaprd(behaviour, tmp_path / "daprd.log")
        made.append(daprd)
        stack = FakeStack(daprd, FakeProcess("app", tmp_path / "app.log"))
        options = {
            "worker_grace": 1.5,
            "app_restart_delay": 0.0,
            "worker_probe": 1.0,
            "race_settle": 0.3,
        } | options
        supervisor = Supervisor(
            cast(Any, stack), Timeline(), cast(Any, NoHits()), since=time.time(), **options
        )
        return supervisor, stack

    yield build
    for daprd in made:
        daprd.close()


def windows(supervisor: Supervisor, kind: str) -> list[Any]:
    return [w for w in supervisor.timeline.windows if w.kind == kind]


def test_an_app_start_into_the_race_is_recognised_and_healed_by_a_daprd_restart(
    make: Any,
) -> None:
    supervisor, stack = make(DaprdBehaviour(race=True))
    supervisor.start_app()
    behaviour = stack.daprd.behaviour
    assert behaviour.full_restarts == 1 and behaviour.soft_restarts == 0
    assert supervisor.findings.worker == []
    [known] = supervisor.findings.known
    assert known.startswith(KNOWN_REGISTRATION_RACE)
    assert "not registered" in known and "recovered by a daprd restart" in known
    # The evidence is daprd's own log line, quoted.
    assert "dapr.internal.default.orders.activity" in known
    [heal] = windows(supervisor, "restart")
    assert heal.detail == RACE_HEAL and heal.end is not None
    # The time the runtime was unavailable because of the race, for the SLO apart.
    [upstream] = windows(supervisor, "upstream")
    assert upstream.end is not None and upstream.end - upstream.start >= 0.3
    assert readiness.workflow_workers(stack.daprd.metadata()) == 1


def test_when_one_restart_does_not_clear_the_race_a_second_does(make: Any) -> None:
    supervisor, stack = make(DaprdBehaviour(race=True, restarts_to_heal=2))
    supervisor.start_app()
    behaviour = stack.daprd.behaviour
    assert (behaviour.soft_restarts, behaviour.full_restarts) == (0, 2)
    [known] = supervisor.findings.known
    assert "a second daprd restart" in known
    assert [w.kind for w in supervisor.timeline.windows if w.detail == RACE_HEAL] == [
        "restart",
        "restart",
    ]


def test_a_slow_worker_without_the_signature_is_waited_for_not_called_a_race(make: Any) -> None:
    supervisor, stack = make(DaprdBehaviour(worker_after=1.5))
    supervisor.start_app()
    assert stack.daprd.behaviour.full_restarts == 0
    assert supervisor.findings.known == [] and supervisor.findings.worker == []
    assert windows(supervisor, "upstream") == []


def test_a_worker_that_quit_is_the_apps_finding_never_the_upstream_race(make: Any) -> None:
    supervisor, stack = make(DaprdBehaviour(worker_after=None))
    stack.process("app").start()
    supervisor.wait_workers(timeout=2)
    assert supervisor.worker_probed
    assert supervisor.findings.known == []
    [lost] = supervisor.findings.worker
    assert "no workflow worker connected" in lost and "pid 4242" in lost
    assert stack.daprd.behaviour.full_restarts == 0  # no recovery without the signature
    assert windows(supervisor, "upstream") == []


def test_a_lost_worker_is_restarted_when_asked(make: Any) -> None:
    supervisor, stack = make(DaprdBehaviour(worker_after=None), restart_app_on_lost_worker=True)
    stack.process("app").start()
    with pytest.raises(StackError):  # the restarted app's worker stays away too
        supervisor.wait_workers(timeout=2)
    assert stack.app_starts == 1
    assert len(supervisor.findings.worker) == 1


def test_a_reconnect_into_the_race_found_after_the_grace_is_recovered(make: Any) -> None:
    # The race without an app restart: the worker's stream reset, the app still runs.
    behaviour = DaprdBehaviour(race=True)
    supervisor, stack = make(behaviour)
    stack.process("app").start()
    stack.daprd.process.write(STREAM_UP)
    stack.daprd.process.write(RACE_LINE)
    supervisor.wait_workers(timeout=2)
    assert supervisor.findings.worker == []
    [known] = supervisor.findings.known
    assert known.startswith(KNOWN_REGISTRATION_RACE) and "pid 4242" in known
    assert behaviour.full_restarts == 1 and behaviour.soft_restarts == 0
    assert len(windows(supervisor, "upstream")) == 1


def test_a_race_that_no_restart_clears_is_an_error_not_a_pass(make: Any) -> None:
    supervisor, _stack = make(DaprdBehaviour(race=True, restarts_to_heal=3))
    with pytest.raises(StackError, match="stayed unregistered"):
        supervisor.start_app()
    assert supervisor.findings.known == []


def test_an_app_that_dies_while_the_worker_is_awaited_is_reported_as_dead(make: Any) -> None:
    supervisor, stack = make(DaprdBehaviour(worker_after=None))
    app = stack.process("app")
    app.start()
    threading.Timer(0.3, app.stop).start()
    with pytest.raises(MemberDied) as died:
        supervisor.wait_workers(timeout=2)
    assert died.value.name == "app"
    assert supervisor.findings.known == [] and supervisor.findings.worker == []


def test_a_worker_missing_since_long_before_the_heal_is_not_waited_for_again(make: Any) -> None:
    # The app and daprd started long ago and no fault has changed anything since: the
    # grace ran out before this heal, which probes once (1 s) and reports.
    supervisor, stack = make(DaprdBehaviour(worker_after=None), worker_grace=3.0)
    app = stack.process("app")
    app.start()
    app.started_at = time.time() - 10
    started = time.monotonic()
    supervisor.wait_workers(timeout=2)
    assert time.monotonic() - started < 2.5
    [lost] = supervisor.findings.worker
    assert "no workflow worker connected" in lost


def test_the_worker_grace_runs_from_the_last_fault(make: Any) -> None:
    # The same app, but a fault just ended (its stream may have broken then): the whole
    # grace is waited.
    supervisor, stack = make(DaprdBehaviour(worker_after=None), worker_grace=3.0)
    app = stack.process("app")
    app.start()
    app.started_at = time.time() - 10
    window = supervisor.timeline.open("pause", "daprd", start=time.time() - 5)
    supervisor.timeline.close(window)
    started = time.monotonic()
    supervisor.wait_workers(timeout=2)
    assert time.monotonic() - started >= 2.5
    assert len(supervisor.findings.worker) == 1


def test_a_worker_that_connects_late_within_the_grace_is_waited_for(make: Any) -> None:
    # Started just now, connecting after 1.2 s: inside the grace, no finding.
    behaviour = DaprdBehaviour(worker_after=1.2)
    supervisor, stack = make(behaviour, worker_grace=3.0)
    stack.process("app").start()
    behaviour.app_started = time.time()
    supervisor.wait_workers(timeout=2)
    assert supervisor.findings.worker == [] and supervisor.findings.known == []


def test_workflows_cannot_move_once_the_heal_found_no_worker_and_daprd_counts_none(
    make: Any,
) -> None:
    supervisor, stack = make(DaprdBehaviour(worker_after=None), worker_grace=1.0)
    stack.process("app").start()
    assert not supervisor.worker_lost()  # nothing found yet: verify keeps waiting
    supervisor.wait_workers(timeout=2)
    assert supervisor.findings.worker
    assert supervisor.worker_lost()
    stack.process("app").stop()
    assert not supervisor.worker_lost()  # a dead app is the supervisor's to restart


def test_a_worker_that_came_back_lets_the_instances_move_again(make: Any) -> None:
    behaviour = DaprdBehaviour(worker_after=None)
    supervisor, stack = make(behaviour, worker_grace=1.0)
    stack.process("app").start()
    supervisor.wait_workers(timeout=2)
    behaviour.workers = 1  # it reconnected after all
    assert not supervisor.worker_lost()
