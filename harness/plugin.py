"""The dapr-chaos pytest plugin (registered as ``dapr_chaos``; disable with
``-p no:dapr_chaos``).

Fixtures:

``dapr_stack``  (session; one per pytest-xdist worker) a running :class:`~harness.Stack`
                with the reference order app, or ``--dapr-chaos-app`` if given.
``orders``      (function) an :class:`~harness.Orders` bound to that stack, whose order
                ids carry a prefix unique to the test: tests share the stack but never
                see each other's orders.
``chaos``       (function) a :class:`~harness.Chaos` on that stack: inject faults, arm
                failpoints, ``chaos.assert_ok(orders)``; healed and disarmed afterwards.

Scenario files (``*.scenario.yaml``) are collected as tests, one per file, so
``pytest scenarios/`` runs the shipped set; consecutive scenarios with the same app share
a stack, and the report (journal.json, junit.xml, index.html) is written at session end
under ``--dapr-chaos-report`` (default ``reports``).

Options (also settable in ini as ``dapr_chaos_<name>``): ``--dapr-chaos-base-port``,
``--dapr-chaos-log-level``, ``--dapr-chaos-ready-timeout``, ``--dapr-chaos-keep``,
``--dapr-chaos-app``, ``--dapr-chaos-report``, ``--dapr-chaos-backend`` (processes or
containers) and ``--dapr-chaos-images`` (upstream or local, for containers).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shlex
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import options
from harness.campaign import Campaign, ScenarioOutcome
from harness.chaos import Chaos
from harness.errors import ConfigError, HarnessError
from harness.report.journal import new_report_dir
from harness.report.writer import write_report
from harness.runtime.images import IMAGE_SETS
from harness.scenario import SUFFIX, Scenario, load_scenario
from harness.settings import Settings
from harness.stack.registry import reap_orphans
from harness.stack.stack import BACKENDS, LOG_LEVELS, AppSpec, Stack, StackConfig, reference_app
from harness.workload.orders import OrderAPIClient, Orders

log = logging.getLogger("harness")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dapr-chaos", "Dapr workflow chaos harness")
    group.addoption(
        "--dapr-chaos-base-port",
        type=options.base_port,
        default=None,
        help="first port of the stack's 32-port block (default: a free block)",
    )
    group.addoption(
        "--dapr-chaos-log-level",
        choices=LOG_LEVELS,
        default="info",
        help="daprd/placement/scheduler log level (default: info)",
    )
    group.addoption(
        "--dapr-chaos-ready-timeout",
        type=options.seconds,
        default=60.0,
        help="seconds to wait for each stack member (default: 60)",
    )
    group.addoption(
        "--dapr-chaos-keep",
        action="store_true",
        help="keep run directories (logs, data) after the session",
    )
    group.addoption(
        "--dapr-chaos-app",
        default=None,
        help="workflow app command line instead of the reference order app",
    )
    group.addoption(
        "--dapr-chaos-report",
        default="reports",
        help="root directory of the scenario report written at session end (default: reports)",
    )
    group.addoption(
        "--dapr-chaos-backend",
        choices=BACKENDS,
        default="processes",
        help="run the stack as local processes (default) or as containers (Docker)",
    )
    group.addoption(
        "--dapr-chaos-images",
        choices=IMAGE_SETS,
        default=None,
        help="containers: upstream images (pulled) or local ones (`dapr-chaos images "
        "build`); default: DAPR_CHAOS_IMAGES or upstream",
    )


def pytest_configure(config: pytest.Config) -> None:
    for marker, text in (
        ("integration", "starts the real stack (Valkey, placement, scheduler, daprd, app)"),
        ("slow", "takes more than a few seconds"),
        ("chaos", "injects faults into a real stack"),
        ("containers", "runs the stack as containers (needs a Docker engine)"),
    ):
        config.addinivalue_line("markers", f"{marker}: {text}")


def pytest_sessionstart(session: pytest.Session) -> None:
    # Clean up after a previous pytest that was SIGKILLed: its processes, ports, run dirs.
    for line in reap_orphans():
        log.warning("dapr-chaos: %s", line)


def stack_config_from(config: pytest.Config) -> StackConfig:
    """The StackConfig the plugin options describe."""
    app_cmd = config.getoption("--dapr-chaos-app")
    app: AppSpec = AppSpec(tuple(shlex.split(app_cmd))) if app_cmd else reference_app()
    return StackConfig(
        app=app,
        base_port=config.getoption("--dapr-chaos-base-port"),
        log_level=config.getoption("--dapr-chaos-log-level"),
        ready_timeout=config.getoption("--dapr-chaos-ready-timeout"),
        keep_run_dir=True if config.getoption("--dapr-chaos-keep") else None,
        backend=config.getoption("--dapr-chaos-backend"),
        images=config.getoption("--dapr-chaos-images"),
    )


@pytest.fixture(scope="session")
def dapr_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """A started stack shared by the session (per xdist worker); stopped at session end."""
    try:
        stack = Stack(stack_config_from(request.config), settings=Settings.from_env())
        stack.start()
    except HarnessError as exc:
        pytest.fail(f"dapr-chaos could not start the stack: {exc}", pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()


def test_prefix(nodeid: str) -> str:
    """A short, readable, unique-per-test instance-id prefix derived from the node id."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", nodeid.rsplit("::", 1)[-1]).strip("-")[:24] or "t"
    digest = hashlib.sha1(nodeid.encode()).hexdigest()[:6]
    return f"{name}-{digest}-"


@pytest.fixture
def chaos(dapr_stack: Stack) -> Iterator[Chaos]:
    """Faults, failpoints and checks for this test; the stack is healed and every
    failpoint disarmed afterwards, so the next test starts from a healthy stack."""
    if dapr_stack.failpoints is not None:  # a fresh start: no arming, no hit counts
        dapr_stack.failpoints.clear()
    session = Chaos(dapr_stack)
    try:
        yield session
    finally:
        session.reset()


@pytest.fixture
def orders(dapr_stack: Stack, request: pytest.FixtureRequest) -> Orders:
    """Orders for this test only (ids prefixed per test), on the shared stack."""
    return Orders(OrderAPIClient(dapr_stack.ports["app"]), prefix=test_prefix(request.node.nodeid))


# -- scenario files as tests ----------------------------------------------------------


class _ScenarioRun:
    """The session's campaign: created on the first scenario item, reported at the end."""

    def __init__(self, config: pytest.Config) -> None:
        worker = getattr(config, "workerinput", {}).get("workerid")
        self.name = "pytest" + (f"-{worker}" if worker else "")
        self.report = new_report_dir(Path(config.getoption("--dapr-chaos-report")), self.name)
        self.campaign = Campaign(self.report, settings=Settings.from_env(), progress=log.info)
        self.outcomes: list[ScenarioOutcome] = []
        self.started = time.time()

    def finish(self, argv: list[str]) -> Path:
        self.campaign.close()
        return write_report(
            self.report,
            self.outcomes,
            name=self.name,
            started=self.started,
            ended=time.time(),
            command=argv,
        )


_RUN_KEY = pytest.StashKey[_ScenarioRun]()


class ScenarioFailed(Exception):
    """A scenario's check or SLO failed, or the harness could not carry it out."""


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name.endswith(SUFFIX):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenario = load_scenario(self.path)
        except ConfigError as exc:
            raise self.CollectError(str(exc)) from None
        item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
        item.add_marker("chaos")
        item.add_marker("integration")
        yield item


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.scenario = scenario

    def runtest(self) -> None:
        run = self.config.stash.get(_RUN_KEY, None)
        if run is None:
            run = _ScenarioRun(self.config)
            self.config.stash[_RUN_KEY] = run
        outcome = run.campaign.run(self.scenario)
        run.outcomes.append(outcome)
        if outcome.verdict != "pass":
            lines = [f"scenario {outcome.label}: {outcome.verdict.upper()}"]
            if outcome.error:
                lines.append(outcome.error)
            lines += [str(c) for c in outcome.failed_checks]
            lines.append(f"report: {run.report}/index.html#{outcome.label}")
            raise ScenarioFailed("\n".join(lines))

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: object = None,
    ) -> str:
        if isinstance(excinfo.value, (ScenarioFailed, HarnessError)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario: {self.name}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(_RUN_KEY, None)
    if run is not None:
        page = run.finish(["pytest", *session.config.invocation_params.args])
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"dapr-chaos scenario report: {page}")
