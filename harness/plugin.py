"""The dapr-chaos pytest plugin (registered as ``dapr_chaos``; disable with
``-p no:dapr_chaos``).

Fixtures:

``dapr_stack``  (session; one per pytest-xdist worker) a running :class:`~harness.Stack`
                with the reference order app, your app's command
                (``--dapr-chaos-app``), or your workflow code hosted and instrumented
                (``--dapr-chaos-workflows MODULE:ATTR``).
``orders``      (function) an :class:`~harness.Orders` bound to that stack, whose order
                ids carry a prefix unique to the test: tests share the stack but never
                see each other's orders.
``workflows``   (function) a :class:`~harness.Workflows` on that stack: start instances
                of any registered workflow by name through daprd's gRPC API
                (``workflows.start(name, input=...)``), ids prefixed per test.
``chaos``       (function) a :class:`~harness.Chaos` on that stack: inject faults, arm
                failpoints, ``chaos.assert_ok(orders)`` or ``chaos.assert_ok(workflows)``;
                healed and disarmed afterwards.

Scenario files (``*.scenario.yaml``) are collected as tests, one per file, so
``pytest scenarios/`` runs the shipped set; consecutive scenarios with the same app share
a stack, and the report (journal.json, junit.xml, index.html) is written at session end
under ``--dapr-chaos-report`` (default ``reports``).

Options: the stack options of the CLI (:data:`harness.cli.options.STACK_OPTIONS`) as
``--dapr-chaos-<name>`` (``--dapr-chaos-app-id``, ``--dapr-chaos-base-port``,
``--dapr-chaos-log-level``, ``--dapr-chaos-ready-timeout``, ``--dapr-chaos-keep``,
``--dapr-chaos-backend`` (processes or containers), ``--dapr-chaos-images`` (upstream or
local, for containers)), plus ``--dapr-chaos-app`` (a command, or a built-in order app:
``reference``, ``seed-go``), ``--dapr-chaos-order-api`` (the app's order API shape:
``reference``, ``original`` or a JSON mapping; the ini value ``dapr_chaos_order_api``
when not given) and ``--dapr-chaos-report``.

``--dapr-chaos-dashboard`` serves a live page of the session stack's workflow instances
and every ``chaos`` fixture's fault windows on 127.0.0.1 (its URL is written to the
terminal; :func:`dashboard_url` gives it to a test), and one of the scenario files'
stacks; each stops with its stack.

Check verdicts in the JUnit file (``pytest --junitxml=FILE``): every verification a test
makes through these fixtures (``chaos.verify``, ``chaos.assert_ok``, schedule and load
runs on the ``chaos`` fixture) and every scenario file adds properties to its
``<testcase>`` (:func:`verdict_properties`): ``dapr-chaos.check.<check>`` = ``pass``,
``fail``, ``unknown`` or ``vacuous``, ``dapr-chaos.check.<check>.summary``, and
``dapr-chaos.verdict`` for the whole verification.

Hooks: :mod:`harness.hooks`. The harness's heavy parts (the stack, the Dapr SDK, the
checks) are imported when a fixture or a scenario file first needs them.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness import hooks
from harness.cli import options
from harness.errors import ConfigError, HarnessError
from harness.stack.config import StackConfig
from harness.stack.registry import reap_orphans

if TYPE_CHECKING:
    from harness.checks.result import CheckResult, Verdict
    from harness.checks.verification import Verification
    from harness.experiment.chaos import Chaos
    from harness.report.dashboard_server import Dashboard
    from harness.scenario.campaign import Campaign
    from harness.scenario.outcome import ScenarioOutcome
    from harness.stack.stack import Stack
    from harness.workload.orders import Orders
    from harness.workload.workflows import Workflows

log = logging.getLogger("harness")

SCENARIO_SUFFIX = ".scenario.yaml"

PLUGIN_OPTIONS = (
    *options.APP_OPTIONS,
    options.Option(
        "strict-upstream",
        "fail a test or scenario whose only failure is a known upstream (Dapr) defect "
        "(default: it passes, reported as KNOWN-UPSTREAM)",
        flag=True,
    ),
    options.DASHBOARD_OPTION,
    options.Option(
        "report",
        "root directory of the scenario report written at session end (default: reports)",
        default="reports",
    ),
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


ORDER_API_INI = "dapr_chaos_order_api"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dapr-chaos", "Dapr workflow chaos harness")
    options.add_to_pytest(group, (*options.STACK_OPTIONS, *PLUGIN_OPTIONS))
    parser.addini(
        ORDER_API_INI,
        "the app's order API shape when --dapr-chaos-order-api is not given: "
        + options.ORDER_API_OPTION.help,
        default=None,
    )


def _option(config: pytest.Config, dest: str) -> Any:
    return config.getoption(options.PYTEST_DEST + dest)


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
    """The StackConfig the plugin options describe (before the configure hook). Public:
    a conftest that overrides ``dapr_stack`` starts from it."""

    def value(dest: str) -> Any:
        given = _option(config, dest)
        if dest == "order_api" and given is None:
            ini = config.getini(ORDER_API_INI)
            return options.order_api(str(ini)) if ini else None
        return given

    try:
        return options.stack_config(value, options.app_spec(value))
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"dapr-chaos: {ORDER_API_INI} in the ini file: {exc}") from None
    except ConfigError as exc:
        raise pytest.UsageError(f"dapr-chaos: {exc}") from None


@pytest.fixture(scope="session")
def dapr_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """A started stack shared by the session (per xdist worker); stopped at session end."""
    from harness.settings import Settings
    from harness.stack.stack import Stack

    config = stack_config_from(request.config)
    chosen = request.config.hook.pytest_dapr_chaos_configure_stack(
        config=request.config, stack_config=config
    )
    try:
        stack = Stack(chosen or config, settings=Settings.from_env())
        stack.start()
    except HarnessError as exc:
        pytest.fail(f"dapr-chaos could not start the stack: {exc}", pytrace=False)
    board = (
        _start_dashboard(request.config, "the session stack") if _dashboard_on(request) else None
    )
    try:
        if board is not None:
            board.watch(stack)
            request.config.stash[_DASHBOARD_KEY] = board
        yield stack
    finally:
        if board is not None:
            del request.config.stash[_DASHBOARD_KEY]
            board.stop()  # before the stack: no survey of a stack going down
        stack.stop()


_DASHBOARD_KEY = pytest.StashKey["Dashboard"]()


def dashboard_url(config: pytest.Config) -> str | None:
    """The URL of the session stack's live dashboard (``--dapr-chaos-dashboard``) while
    ``dapr_stack`` is up; None when the option is off or the stack is not started."""
    board = config.stash.get(_DASHBOARD_KEY, None)
    return board.url if board is not None else None


def _dashboard_on(request: pytest.FixtureRequest) -> bool:
    return bool(_option(request.config, "dashboard"))


def _start_dashboard(config: pytest.Config, what: str) -> Dashboard:
    """A started live dashboard; its URL written to the terminal (and the log)."""
    from harness.report.dashboard_server import Dashboard

    board = Dashboard()
    url = board.start()
    worker = getattr(config, "workerinput", {}).get("workerid")
    line = f"dapr-chaos dashboard of {what}{f' ({worker})' if worker else ''}: {url}"
    log.warning("%s", line)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        # During a fixture's setup the output is captured: write past the capture.
        if capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(line)
        else:
            reporter.write_line(line)
    return board


def test_prefix(nodeid: str) -> str:
    """A short, readable, unique-per-test instance-id prefix derived from the node id."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", nodeid.rsplit("::", 1)[-1]).strip("-")[:24] or "t"
    digest = hashlib.sha1(nodeid.encode()).hexdigest()[:6]
    return f"{name}-{digest}-"


def extra_checks(config: pytest.Config) -> Any:
    """The ``pytest_dapr_chaos_add_checks`` hook as a Chaos's ``extra_checks``."""

    def run(history: Any) -> list[Any]:
        results = config.hook.pytest_dapr_chaos_add_checks(history=history)
        return [check for found in results if found for check in found]

    return run


PROPERTY_PREFIX = "dapr-chaos"
_VERDICT_NAME = re.compile(re.escape(PROPERTY_PREFIX) + r"(\.\d+)?\.verdict")


def verdict_properties(
    checks: Iterable[CheckResult], verdict: Verdict, *, number: int = 1
) -> list[tuple[str, str]]:
    """The JUnit properties of one verification: per check ``dapr-chaos.check.<name>`` =
    its verdict (``pass``, ``fail``, ``unknown``, ``vacuous``) and
    ``dapr-chaos.check.<name>.summary``, then ``dapr-chaos.verdict`` = the verification's.
    The ``number``-th verification of one test (from 2) says ``dapr-chaos.<number>.``
    instead of ``dapr-chaos.``, so no name repeats within a test case."""
    prefix = PROPERTY_PREFIX + (f".{number}" if number > 1 else "")
    props: list[tuple[str, str]] = []
    for check in checks:
        props.append((f"{prefix}.check.{check.name}", check.verdict.value))
        props.append((f"{prefix}.check.{check.name}.summary", check.summary))
    props.append((f"{prefix}.verdict", verdict.value))
    return props


def record_verdicts(item: pytest.Item, checks: Iterable[CheckResult], verdict: Verdict) -> None:
    """Add one verification's :func:`verdict_properties` to ``item``'s JUnit test case
    (``user_properties``, as ``record_property`` does)."""
    done = sum(1 for name, _ in item.user_properties if _VERDICT_NAME.fullmatch(name))
    item.user_properties.extend(verdict_properties(checks, verdict, number=done + 1))


@pytest.fixture
def chaos(dapr_stack: Stack, request: pytest.FixtureRequest) -> Iterator[Chaos]:
    """Faults, failpoints and checks for this test; the stack is healed and every
    failpoint disarmed afterwards, so the next test starts from a healthy stack.
    Failpoints it arms act only in this test's instances (ids under the test's prefix,
    as the ``workflows`` and ``orders`` fixtures start them); an app that names its
    instances itself sets ``chaos.scope = ""`` (or arms with ``instances=""``). Every
    verification's verdicts become properties of the test's JUnit test case."""
    from harness.experiment.chaos import Chaos

    item = request.node

    def record(verification: Verification) -> None:
        record_verdicts(item, verification.results, verification.verdict)

    session = Chaos(
        dapr_stack,
        extra_checks=extra_checks(request.config),
        strict_upstream=bool(_option(request.config, "strict_upstream")),
        on_verification=record,
        scope=test_prefix(item.nodeid),
    )
    board = request.config.stash.get(_DASHBOARD_KEY, None)
    if board is not None:
        board.follow(session.timeline, item.nodeid)
    try:
        yield session
    finally:
        session.reset()


@pytest.fixture
def orders(dapr_stack: Stack, request: pytest.FixtureRequest) -> Orders:
    """Orders for this test only (ids prefixed per test), on the shared stack."""
    from harness.workload.order_api import OrderAPIClient
    from harness.workload.orders import Orders

    return Orders(OrderAPIClient.on(dapr_stack), prefix=test_prefix(request.node.nodeid))


@pytest.fixture
def workflows(dapr_stack: Stack, request: pytest.FixtureRequest) -> Iterator[Workflows]:
    """Workflow instances for this test only (ids prefixed per test), started by name
    through daprd's workflow API on the shared stack (the API token handled). With a
    hosted app (``--dapr-chaos-workflows``) an unknown workflow name is an error listing
    the registered ones."""
    from harness.workload.workflow_api import WorkflowAPI
    from harness.workload.workflows import Workflows

    registry = dapr_stack.app_registry()
    workload = Workflows(
        WorkflowAPI(dapr_stack.ports["daprd_grpc"], dapr_stack.api_token),
        prefix=test_prefix(request.node.nodeid),
        registered=registry["workflows"] if registry else None,
    )
    try:
        yield workload
    finally:
        workload.close()


# -- scenario files as tests ----------------------------------------------------------


class _ScenarioRun:
    """The session's campaign: created on the first scenario item, reported at the end."""

    def __init__(self, config: pytest.Config) -> None:
        from harness.report.journal import new_report_dir
        from harness.scenario.campaign import Campaign
        from harness.settings import Settings

        worker = getattr(config, "workerinput", {}).get("workerid")
        self.name = "pytest" + (f"-{worker}" if worker else "")
        self.report = new_report_dir(Path(_option(config, "report")), self.name)
        self.campaign: Campaign = Campaign(
            self.report,
            settings=Settings.from_env(),
            progress=log.info,
            extra_checks=extra_checks(config),
        )
        self.outcomes: list[ScenarioOutcome] = []
        self.started = time.time()
        self.dashboard: Dashboard | None = None
        if _option(config, "dashboard"):
            board = self.dashboard = _start_dashboard(config, "the scenario files' stacks")

            def follow(stack: Any, timeline: Any, label: str) -> None:
                board.watch(stack)
                board.follow(timeline, label)

            self.campaign.on_scenario = follow

    def finish(self, argv: list[str]) -> Path:
        from harness.report.writer import write_report

        if self.dashboard is not None:
            self.dashboard.stop()
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
    if file_path.name.endswith(SCENARIO_SUFFIX):  # as harness.scenario.model.SUFFIX
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.scenario.parse import load_scenario

        try:
            scenario = load_scenario(self.path)
        except ConfigError as exc:
            raise self.CollectError(str(exc)) from None
        item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
        item.add_marker("chaos")
        item.add_marker("integration")
        yield item


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.scenario = scenario

    def runtest(self) -> None:
        run = self.config.stash.get(_RUN_KEY, None)
        if run is None:
            run = _ScenarioRun(self.config)
            self.config.stash[_RUN_KEY] = run
        from harness.scenario.campaign import exit_status

        outcome = run.campaign.run(self.scenario)
        run.outcomes.append(outcome)
        record_verdicts(self, outcome.checks, outcome.verdict)
        self.config.hook.pytest_dapr_chaos_scenario_outcome(outcome=outcome, report_dir=run.report)
        strict = bool(_option(self.config, "strict_upstream"))
        if exit_status(outcome.verdict, strict_upstream=strict) != 0:
            lines = [f"scenario {outcome.label}: {outcome.verdict.value.upper()}"]
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
