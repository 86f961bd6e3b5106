"""``dapr-chaos load``: bring up a stack with the reference app (or ``--app``), run Locust
against its order API, verify every accepted order, check SLOs, print the numbers.

Exit status: 0 all orders accounted for, checks and SLOs passed; 1 a check or SLO
failed; 2 bad input (options). ``--json FILE`` writes :meth:`LoadResult.to_dict` plus
the SLO verdicts.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from harness.checks.slo import SLO, check_slos
from harness.cli import options
from harness.errors import ConfigError
from harness.experiment.chaos import Chaos
from harness.experiment.load import run_load
from harness.experiment.machine_share import machine_share
from harness.settings import Settings
from harness.stack.stack import Stack
from harness.workload.load_config import LoadProfile, validate_prefix


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``load``."""
    p = sub.add_parser(
        "load",
        help="run Locust against the order app; print throughput, latency, failures",
        description="Bring up a stack, load its order API with Locust (orders submitted "
        "and polled until terminal), verify every accepted order, check SLOs.",
    )
    options.add_stack_options(p)
    p.add_argument(
        "--users", type=options.positive_int, default=10, help="concurrent users (default 10)"
    )
    p.add_argument(
        "--spawn-rate",
        type=options.rate,
        default=None,
        help="users started per second (default: all)",
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
    p.add_argument(
        "--workflow",
        help="start instances of this registered workflow through daprd's gRPC API instead "
        "of orders over the order API",
    )
    p.add_argument(
        "--input",
        dest="inputs",
        action="append",
        type=options.json_value,
        metavar="JSON",
        help="an input of --workflow, as JSON (repeatable: instances take them in turn)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of the order generator")
    p.add_argument("--prefix", default=None, help="instance-id prefix (default load-<time>-)")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="write results")
    p.add_argument("--min-throughput", type=options.limit, help="SLO: workflows/s at least")
    p.add_argument(
        "--max-p99-ms", type=options.limit, help="SLO: p99 end-to-end latency (ms) at most"
    )
    p.set_defaults(func=cmd_load)


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
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
    app = options.app_spec(lambda dest: getattr(args, dest))
    config = options.stack_config(lambda dest: getattr(args, dest), app)
    # Its numbers are the point: no other dapr-chaos run beside it (see machine_share).
    with machine_share(alone=True, progress=print), Stack(config, settings=settings) as stack:
        print(f"stack ready in {stack.timings['total']:.2f}s; order API {stack.app_url}")
        chaos = Chaos(stack)
        result = run_load(
            stack,
            profile,
            prefix=prefix,
            seed=args.seed,
            chaos=chaos,
            workflow=args.workflow,
            inputs=args.inputs,
        )
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
