"""``dapr-chaos run``: validate scenario files, run them, write the report, print verdicts;
and ``dapr-chaos demo`` (what ``make demo`` runs): ``run`` on the shipped scenario set
against the reference order app, the report in ``reports/<timestamp>-demo/`` with
``reports/latest`` pointing at it.

Exit status: 0 every scenario passed; 1 a check or SLO failed, or the harness could not
carry a scenario out; 2 bad input (a scenario file, an option), before anything starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from harness.checks.result import Verdict
from harness.cli import options
from harness.errors import ConfigError
from harness.record.order_shape import OrderShape
from harness.report.journal import new_report_dir
from harness.report.writer import write_report
from harness.runtime.images import IMAGE_SETS
from harness.scenario.campaign import exit_status, run_scenarios, verdict_of
from harness.scenario.model import REFERENCE_VARIANTS, Scenario
from harness.scenario.outcome import ScenarioOutcome
from harness.scenario.parse import load_all
from harness.scenario.selection import matches
from harness.settings import Settings
from harness.stack.builtin_apps import BUILTIN_APPS, SEED_GO_VARIANTS
from harness.stack.config import BACKENDS

if TYPE_CHECKING:
    from harness.record.timeline import Timeline
    from harness.stack.stack import Stack

# The repository's scenarios/ (the shipped set), in the package as harness/_shipped/scenarios.
DEFAULT_SCENARIOS = Path(__file__).resolve().parents[1] / "_shipped" / "scenarios"


def _say(line: str) -> None:
    print(line, flush=True)


def select(scenarios: Sequence[Scenario], expr: str | None) -> list[Scenario]:
    chosen = [sc for sc in scenarios if matches(expr, sc.name)]
    if not chosen:
        names = ", ".join(sc.name for sc in scenarios)
        raise ConfigError(f"-k {expr!r} selects none of the {len(scenarios)} scenarios: {names}")
    return chosen


def with_variant(scenarios: Sequence[Scenario], variant: str) -> list[Scenario]:
    """``scenarios`` with the reference app in ``variant`` where they run it (scenarios
    with an app of their own are left as they are). ConfigError when none runs it."""
    if not any(sc.runs_reference_app for sc in scenarios):
        raise ConfigError(
            f"--variant {variant} applies to scenarios that run the reference app; none of "
            f"the {len(scenarios)} selected does"
        )
    return [sc.with_variant(variant) if sc.runs_reference_app else sc for sc in scenarios]


def with_app(scenarios: Sequence[Scenario], app: str) -> list[Scenario]:
    """``scenarios`` against built-in app ``app`` where they run a built-in app
    (:meth:`Scenario.with_app`; the others are left as they are). ConfigError when none
    does."""
    if not any(sc.runs_reference_app for sc in scenarios):
        raise ConfigError(
            f"--app {app} replaces the reference app; none of the {len(scenarios)} selected "
            "scenarios runs it"
        )
    return [sc.with_app(app) if sc.runs_reference_app else sc for sc in scenarios]


def with_order_api(scenarios: Sequence[Scenario], shape: OrderShape) -> list[Scenario]:
    """``scenarios`` with their app's answers read in ``shape``."""
    return [
        dataclasses.replace(sc, app=dataclasses.replace(sc.app, order_api=shape))
        for sc in scenarios
    ]


def verdict_table(outcomes: Sequence[ScenarioOutcome]) -> str:
    width = max([len(o.label) for o in outcomes] + [8])
    lines = [f"{'scenario':{width}}  {'verdict':14}  seconds  checks"]
    for o in outcomes:
        if o.error:
            detail = "harness error: " + o.error.splitlines()[0][:100]
        else:
            detail = " ".join(f"{c.name}={c.verdict.value}" for c in o.checks)
        verdict = o.verdict.value.upper()
        lines.append(f"{o.label:{width}}  {verdict:14}  {o.duration:7.1f}  {detail}")
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.verdict.value] = counts.get(o.verdict.value, 0) + 1
    lines.append(
        f"{len(outcomes)} run(s): " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    )
    return "\n".join(lines)


def run_command(
    paths: Sequence[Path],
    *,
    expr: str | None,
    report_root: Path,
    repeat: int,
    settings: Settings,
    name: str | None = None,
    backend: str | None = None,
    images: str | None = None,
    variant: str | None = None,
    argv: Sequence[str] = (),
    strict_upstream: bool = False,
    dashboard: bool = False,
    app: str | None = None,
    order_api: OrderShape | None = None,
) -> int:
    """Everything ``dapr-chaos run`` does; returns the exit status (0: every scenario
    passed, or only a known upstream defect failed unless ``strict_upstream``).
    ``app`` (a built-in app's name) replaces the reference app wherever a scenario runs
    it; ``variant`` runs that app in that variant; ``order_api`` reads every scenario's
    app in that shape. ``dashboard``: serve the live dashboard of each scenario's stack
    and fault windows while the run lasts (its URL is printed)."""
    scenarios = select(load_all(list(paths) or [DEFAULT_SCENARIOS]), expr)
    if app is not None:
        scenarios = with_app(scenarios, app)
    if order_api is not None:
        scenarios = with_order_api(scenarios, order_api)
    if variant is not None:
        scenarios = with_variant(scenarios, variant)
    if repeat < 1:
        raise ConfigError(f"--repeat must be >= 1, got {repeat}")
    label = name or (scenarios[0].name if len(scenarios) == 1 else "run")
    report = new_report_dir(report_root, label)
    _say(f"{len(scenarios)} scenario(s), {repeat} time(s) each; report: {report}")
    started = time.time()
    outcomes: list[ScenarioOutcome] = []
    page: Path | None = None
    live = ExitStack()
    on_scenario = None
    if dashboard:
        from harness.report.dashboard_server import Dashboard

        board = live.enter_context(Dashboard())
        _say(f"dashboard: {board.url}")

        def on_scenario(stack: Stack, timeline: Timeline, label: str) -> None:
            board.watch(stack)
            board.follow(timeline, label)

    try:
        run_scenarios(
            scenarios,
            report,
            repeat=repeat,
            settings=settings,
            progress=_say,
            backend=backend,
            images=images,
            outcomes=outcomes,
            on_scenario=on_scenario,
        )
    finally:
        live.close()
        interrupted = sys.exc_info()[0] is not None
        if outcomes:
            page = write_report(
                report,
                outcomes,
                name=label,
                started=started,
                ended=time.time(),
                command=list(argv) or sys.argv,
                aborted=interrupted,
            )
            if interrupted:
                _say(f"stopped early; report of the {len(outcomes)} finished run(s): {page}")
        elif not any(report.iterdir()):
            report.rmdir()  # nothing ran: leave no empty report behind
    _say("")
    _say(verdict_table(outcomes))
    _say(f"report: {page}")
    verdict = verdict_of(outcomes)
    _say(f"verdict: {verdict.value.upper()}")
    if verdict is Verdict.KNOWN_UPSTREAM:
        _say(
            "only known upstream (Dapr) defects failed, recognised by their signature; see "
            "the report" + (" (--strict-upstream: exit status 1)" if strict_upstream else "")
        )
    return exit_status(verdict, strict_upstream=strict_upstream)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    return run_command(
        args.paths,
        expr=args.expr,
        report_root=Path(args.report),
        repeat=args.repeat,
        settings=settings,
        name=args.name,
        backend=args.backend,
        images=args.images,
        variant=args.variant,
        argv=["dapr-chaos", *sys.argv[1:]],
        strict_upstream=args.strict_upstream,
        dashboard=args.dashboard,
        app=args.app,
        order_api=args.order_api,
    )


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """The shipped scenario set against the reference order app (``make demo``): 0 when
    every scenario passed, 1 otherwise (see the printed report path)."""
    return run_command(
        [DEFAULT_SCENARIOS],
        expr=args.expr,
        report_root=Path(args.report),
        repeat=1,
        settings=settings,
        name="demo",
        backend=args.backend,
        images=args.images,
        argv=["dapr-chaos", "demo"],
        strict_upstream=args.strict_upstream,
        dashboard=args.dashboard,
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` and ``run``."""
    p = sub.add_parser(
        "demo", help="run the shipped chaos scenarios against the reference app and report"
    )
    p.add_argument("-k", dest="expr", help="select scenarios by name (as for run)")
    p.add_argument("--report", default="reports", help="report root directory (default: reports)")
    options.add_to_parser(p, [*options.BACKEND_OPTIONS, options.DASHBOARD_OPTION])
    _strict_upstream(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "run",
        help="run scenario files (default: the shipped set in scenarios/) and write a report",
    )
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="scenario files or directories (*.scenario.yaml); default: scenarios/",
    )
    p.add_argument(
        "-k", dest="expr", help="select scenarios by name, e.g. -k 'daprd and not pause'"
    )
    p.add_argument("--report", default="reports", help="report root directory (default: reports)")
    p.add_argument(
        "--repeat", type=options.positive_int, default=1, help="run each scenario N times"
    )
    p.add_argument("--name", help="report name (default: the scenario name, or 'run')")
    p.add_argument(
        "--app",
        choices=BUILTIN_APPS,
        default=None,
        help="run this built-in order app wherever a scenario runs the reference app: "
        "seed-go is the seed article's OrderProcessing in Go (built once into the cache), "
        "read in the original's order API shape",
    )
    p.add_argument(
        "--variant",
        choices=sorted({*REFERENCE_VARIANTS, *SEED_GO_VARIANTS}),
        default=None,
        metavar="VARIANT",
        help="run the built-in app in this deliberately broken variant wherever a scenario "
        "runs it (e.g. payment-not-idempotent, to see a check fail); reference: "
        + ", ".join(REFERENCE_VARIANTS)
        + "; seed-go: "
        + ", ".join(SEED_GO_VARIANTS),
    )
    options.add_to_parser(p, (options.ORDER_API_OPTION,))
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="run every scenario with this backend (default: each scenario's own, processes)",
    )
    p.add_argument(
        "--images",
        choices=IMAGE_SETS,
        default=None,
        help="containers: upstream or local images (default: DAPR_CHAOS_IMAGES or upstream)",
    )
    options.add_to_parser(p, [options.DASHBOARD_OPTION])
    _strict_upstream(p)
    p.set_defaults(func=cmd_run)


def _strict_upstream(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--strict-upstream",
        action="store_true",
        help="exit 1 when a scenario failed only on a known upstream (Dapr) defect "
        "(default: reported as KNOWN-UPSTREAM, exit 0)",
    )
