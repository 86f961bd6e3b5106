"""``dapr-chaos exec``, ``dapr-chaos up`` and ``dapr-chaos reap``: run a stack around a
command, run one until Ctrl-C, clean up after runs whose owner died.

``exec`` exits with its command's status (128+N if killed by signal N).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shlex
import time
from contextlib import ExitStack

from harness.cli.options import (
    APP_OPTIONS,
    DASHBOARD_OPTION,
    add_stack_options,
    add_to_parser,
    app_spec,
    stack_config,
)
from harness.errors import ConfigError
from harness.settings import Settings
from harness.stack.config import AppSpec, dependency_env
from harness.stack.registry import reap_orphans
from harness.stack.stack import Stack

log = logging.getLogger("harness")


def cmd_exec(args: argparse.Namespace, settings: Settings) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise ConfigError("no command given; usage: dapr-chaos exec [options] -- COMMAND [ARGS...]")
    spec = AppSpec(
        tuple(command),
        instrument=args.instrument,
        dependencies=dict(args.dependency or ()),
        wait_for_workers=False,
    )
    config = dataclasses.replace(
        stack_config(lambda dest: getattr(args, dest), spec), start_app=False
    )
    with Stack(config, settings=settings) as stack:
        log.info("stack ready in %.2fs; running: %s", stack.timings["total"], shlex.join(command))
        status = stack.run_command(command)
    return status if status >= 0 else 128 - status


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    value = lambda dest: getattr(args, dest)  # noqa: E731 - one lookup, two users
    app = app_spec(value)
    with ExitStack() as running:
        stack = running.enter_context(Stack(stack_config(value, app), settings=settings))
        print(f"stack ready in {stack.timings['total']:.2f}s; Ctrl-C stops it")
        if args.dashboard:
            from harness.report.dashboard_server import Dashboard

            # Entered after the stack: it stops first, and with it its port and threads.
            dashboard = running.enter_context(Dashboard())
            dashboard.watch(stack)
            print(f"  dashboard       {dashboard.url}", flush=True)
        if not args.app and not args.workflows:
            print(f"  order API       {stack.app_url}")
        registry = stack.app_registry()
        if registry:
            print(f"  workflows       {', '.join(registry['workflows'])}")
        for name in app.dependencies:
            address = stack.app_env()[dependency_env(name)]
            print(f"  dependency      {name}: app->{name}, the app dials {address}")
        print(f"  daprd gRPC      {stack.grpc_endpoint}")
        print(f"  daprd HTTP      127.0.0.1:{stack.ports['daprd_http']}")
        print(f"  DAPR_API_TOKEN  {stack.api_token}")
        print(f"  logs            {stack.run_dir}/logs")
        try:
            while stack.process("app").running():
                time.sleep(0.5)
            print(f"the app exited with status {stack.process('app').returncode}")
            return 1
        except KeyboardInterrupt:
            return 0


def cmd_reap(args: argparse.Namespace, settings: Settings) -> int:
    from harness.stack.engine import reap_containers

    lines = reap_orphans() + reap_containers()
    for line in lines:
        print(line)
    print(f"{len(lines)} orphaned run(s) reaped")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``exec``, ``up`` and ``reap``."""
    p = sub.add_parser(
        "exec",
        help="bring the stack up, run COMMAND as the app, tear down",
        usage="dapr-chaos exec [options] -- COMMAND [ARGS...]",
    )
    add_stack_options(p, app=False)
    group = p.add_argument_group("app")
    add_to_parser(group, [o for o in APP_OPTIONS if o.name in ("dependency", "instrument")])
    p.add_argument("command", nargs=argparse.REMAINDER, help="the app command, after --")
    p.set_defaults(func=cmd_exec)

    p = sub.add_parser(
        "up",
        help="run the stack until Ctrl-C: the reference app, --app COMMAND, or hosted "
        "--workflows MODULE:ATTR",
    )
    add_stack_options(p)
    add_to_parser(p, [DASHBOARD_OPTION])
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("reap", help="kill processes and remove run dirs left by dead runs")
    p.set_defaults(func=cmd_reap)
