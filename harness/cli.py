"""The ``dapr-chaos`` command line.

Exit status: 0 success; 1 a failed check or run; 2 bad input (options, files, missing
binaries, ports in use). ``exec`` exits with its command's status (128+N if killed by
signal N).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from harness import cli_images, explore_cli, load_cli, options
from harness import run as run_cli
from harness.errors import ConfigError, HarnessError
from harness.replay import cli as replay_cli
from harness.runtime import versions
from harness.runtime.images import IMAGE_SETS
from harness.runtime.provision import ALL_TOOLS, cache_key, doctor, provision
from harness.settings import Settings
from harness.stack.registry import reap_orphans
from harness.stack.stack import BACKENDS, LOG_LEVELS, AppSpec, Stack, StackConfig, reference_app

log = logging.getLogger("harness")


def _stack_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stack")
    group.add_argument("--app-id", default="orders", help="Dapr app id (default: orders)")
    group.add_argument(
        "--base-port",
        type=options.base_port,
        default=None,
        help="first port of the 32-port block (default: a free block in 20000..32000)",
    )
    group.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="info",
        help="log level of daprd, placement and scheduler",
    )
    group.add_argument(
        "--ready-timeout",
        type=options.seconds,
        default=60.0,
        help="seconds to wait for each member to become ready (default: 60)",
    )
    group.add_argument(
        "--keep-run-dir",
        action="store_true",
        help="keep the run directory (logs, data) after the stack stops",
    )
    _backend_options(group)


def _backend_options(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default="processes",
        help="run the members as local processes (default) or as containers (Docker)",
    )
    group.add_argument(
        "--images",
        choices=IMAGE_SETS,
        default=None,
        help="containers: upstream images (pulled) or local ones (`dapr-chaos images "
        "build`); default: DAPR_CHAOS_IMAGES or upstream",
    )


def _config(args: argparse.Namespace, app: AppSpec | None) -> StackConfig:
    return StackConfig(
        app=app,
        app_id=args.app_id,
        base_port=args.base_port,
        log_level=args.log_level,
        ready_timeout=args.ready_timeout,
        keep_run_dir=True if args.keep_run_dir else None,
        backend=args.backend,
        images=args.images,
    )


def cmd_provision(args: argparse.Namespace, settings: Settings) -> int:
    if args.cache_key:
        print(cache_key(settings))
        return 0
    names = args.only or ALL_TOOLS
    started = time.monotonic()
    found = provision(settings, names)
    for binary in found.values():
        print(f"{binary.name:17} {binary.version:10} {binary.path}  ({binary.source})")
    print(f"provisioned in {time.monotonic() - started:.1f}s")
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    import importlib.metadata as md
    import shutil

    print(
        f"dapr runtime pinned: {versions.DAPR_RUNTIME} (durabletask-go {versions.DURABLETASK_GO}), "
        f"toxiproxy {versions.TOXIPROXY}"
    )
    for dist in ("dapr", "dapr-ext-workflow", "dapr-chaos"):
        try:
            print(f"python package     {dist}: {md.version(dist)}")
        except md.PackageNotFoundError:
            print(f"python package     {dist}: NOT INSTALLED")
    go = shutil.which(settings.go)
    print(f"go toolchain       {go or 'not found (needed only to build missing binaries)'}")
    print(f"cache              {settings.cache_dir}")
    bad = 0
    for name, status, version, where in doctor(settings):
        print(f"{name:17}  {status:8} {version:10} {where}")
        bad += status == "ERROR" or (
            status == "missing" and (go is None or not settings.allow_build)
        )
    return 1 if bad else 0


def cmd_exec(args: argparse.Namespace, settings: Settings) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise ConfigError("no command given; usage: dapr-chaos exec [options] -- COMMAND [ARGS...]")
    with Stack(_config(args, None), settings=settings) as stack:
        log.info("stack ready in %.2fs; running: %s", stack.timings["total"], shlex.join(command))
        status = stack.run_command(command)
    return status if status >= 0 else 128 - status


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    app = AppSpec(tuple(shlex.split(args.app)), health_path=None) if args.app else reference_app()
    with Stack(_config(args, app), settings=settings) as stack:
        print(f"stack ready in {stack.timings['total']:.2f}s; Ctrl-C stops it")
        print(f"  order API       {stack.app_url}" if not args.app else "")
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


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from harness.demo import run_demo

    return run_demo(
        report_root=Path(args.report),
        settings=settings,
        expr=args.expr,
        backend=args.backend,
        images=args.images,
    )


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from harness.run import run_command

    return run_command(
        args.paths,
        expr=args.expr,
        report_root=Path(args.report),
        repeat=args.repeat,
        settings=settings,
        name=args.name,
        backend=args.backend,
        images=args.images,
        argv=["dapr-chaos", *sys.argv[1:]],
    )


def cmd_explore(args: argparse.Namespace, settings: Settings) -> int:
    from harness.explore_cli import explore_command

    return explore_command(args, settings)


def cmd_reap(args: argparse.Namespace, settings: Settings) -> int:
    from harness.stack.engine import reap_containers

    lines = reap_orphans() + reap_containers()
    for line in lines:
        print(line)
    print(f"{len(lines)} orphaned run(s) reaped")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dapr-chaos", description="Chaos and correctness harness for Dapr workflows."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "provision", help="find or build daprd, placement, scheduler, toxiproxy, valkey"
    )
    p.add_argument("--only", nargs="+", choices=ALL_TOOLS, help="provision just these")
    p.add_argument(
        "--cache-key",
        action="store_true",
        help="print a CI cache key for the binaries (pinned versions, platform, checksums) "
        "and exit without provisioning",
    )
    p.set_defaults(func=cmd_provision)

    p = sub.add_parser("doctor", help="print which binaries were found, where, and their versions")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "exec",
        help="bring the stack up, run COMMAND as the app, tear down",
        usage="dapr-chaos exec [options] -- COMMAND [ARGS...]",
    )
    _stack_options(p)
    p.add_argument("command", nargs=argparse.REMAINDER, help="the app command, after --")
    p.set_defaults(func=cmd_exec)

    p = sub.add_parser("up", help="run the stack (reference app by default) until Ctrl-C")
    _stack_options(p)
    p.add_argument("--app", help="app command line instead of the reference order app")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser(
        "demo", help="run the shipped chaos scenarios against the reference app and report"
    )
    p.add_argument("-k", dest="expr", help="select scenarios by name (as for run)")
    p.add_argument("--report", default="reports", help="report root directory (default: reports)")
    _backend_options(p)
    p.set_defaults(func=cmd_demo)

    run_cli.add_parser(sub)
    sub.choices["run"].set_defaults(func=cmd_run)
    replay_cli.register(sub)
    explore_cli.add_parser(sub)
    sub.choices["explore"].set_defaults(func=cmd_explore)

    p = sub.add_parser("reap", help="kill processes and remove run dirs left by dead runs")
    p.set_defaults(func=cmd_reap)

    cli_images.register(sub)
    load_cli.register(sub, _stack_options, _config)
    return parser


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM/SIGHUP into an exception so context managers tear the stack down.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="dapr-chaos: %(message)s",
        stream=sys.stderr,
    )
    # Explicitly, because a parent that ignores SIGINT (a non-interactive shell's `&`, a
    # pytest-xdist worker) hands that to us, and Python then installs no Ctrl-C handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        settings = Settings.from_env()
        status: int = args.func(args, settings)
        return status
    except HarnessError as exc:
        print(f"dapr-chaos: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("dapr-chaos: interrupted; stack stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
