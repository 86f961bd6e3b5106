"""``dapr-chaos load``: bring up a stack with the reference app (or ``--app``), run Locust
against its order API, verify every accepted order, check SLOs, print the numbers.

Exit status: 0 all orders accounted for, checks and SLOs passed; 1 a check or SLO
failed; 2 bad input (options). ``--json FILE`` writes :meth:`LoadResult.to_dict` plus
the SLO verdicts.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import options
from harness.chaos import Chaos
from harness.checks.slo import SLO, check_slos
from harness.errors import ConfigError
from harness.settings import Settings
from harness.stack.stack import AppSpec, Stack, StackConfig, reference_app
from harness.workload.load import LoadProfile, run_load
from harness.workload.load_config import validate_prefix


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _limit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def register(
    sub: Any,
    stack_options: Callable[[argparse.ArgumentParser], None],
    stack_config: Callable[[argparse.Namespace, AppSpec | None], StackConfig],
) -> None:
    """Add the ``load`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "load",
        help="run Locust against the order app; print throughput, latency, failures",
        description="Bring up a stack, load its order API with Locust (orders submitted "
        "and polled until terminal), verify every accepted order, check SLOs.",
    )
    stack_options(p)
    p.add_argument("--app", help="app command line instead of the reference order app")
    p.add_argument(
        "--users", type=options.positive_int, default=10, help="concurrent users (default 10)"
    )
    p.add_argument(
        "--spawn-rate", type=_rate, default=None, help="users started per second (default: all)"
    )
    p.add_argument(
        "--duration", type=options.seconds, default=30.0, help="seconds of load (default 30)"
    )
    p.add_argument(
        "--workers",
        type=options.non_negative_int,
        default=0,
        help="Locust worker processes (0: one process; W: a master and W workers)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of the order generator")
    p.add_argument("--prefix", default=None, help="instance-id prefix (default load-<time>-)")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="write results")
    p.add_argument("--min-throughput", type=_limit, help="SLO: workflows/s at least")
    p.add_argument("--max-p99-ms", type=_limit, help="SLO: p99 end-to-end latency (ms) at most")
    p.set_defaults(func=lambda args, settings: cmd_load(args, settings, stack_config))


def cmd_load(
    args: argparse.Namespace,
    settings: Settings,
    stack_config: Callable[[argparse.Namespace, AppSpec | None], StackConfig],
) -> int:
    profile = LoadProfile(
        users=args.users,
        spawn_rate=args.spawn_rate or float(args.users),
        duration=args.duration,
        workers=args.workers,
    )
    slo = SLO(min_throughput=args.min_throughput, max_p99_ms=args.max_p99_ms)
    prefix = validate_prefix(args.prefix or f"load-{time.strftime('%H%M%S')}-")
    if args.json is not None and not args.json.parent.is_dir():
        raise ConfigError(f"--json {args.json}: directory {args.json.parent} does not exist")
    app = AppSpec(tuple(shlex.split(args.app)), health_path=None) if args.app else reference_app()
    with Stack(stack_config(args, app), settings=settings) as stack:
        print(f"stack ready in {stack.timings['total']:.2f}s; order API {stack.app_url}")
        chaos = Chaos(stack)
        result = run_load(stack, profile, prefix=prefix, seed=args.seed, chaos=chaos)
    slos = check_slos(result, slo)
    print(result.summary())
    for check in slos:
        print(check)
    if args.json is not None:
        data: dict[str, Any] = result.to_dict()
        data["slos"] = [
            {
                "name": c.name,
                "verdict": c.verdict.value,
                "summary": c.summary,
                "evidence": c.evidence,
            }
            for c in slos
        ]
        args.json.write_text(json.dumps(data, indent=1))
        print(f"results: {args.json}")
    return 0 if result.passed and all(c.passed for c in slos) else 1
