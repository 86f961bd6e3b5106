"""``dapr-chaos rollout --from MODULE:ATTR --to MODULE:ATTR``: is this change safe to
deploy with instances in flight? (see :mod:`harness.experiment.rollout`). Exit 0 safe,
1 unsafe, 2 bad input (a version that does not import, a workflow one version does not
register, a boundary that is not one, inputs that reach no boundary)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.cli import options
from harness.errors import ConfigError
from harness.experiment.rollout import plan_rollout, rollout
from harness.settings import Settings


def cmd_rollout(args: argparse.Namespace, settings: Settings) -> int:
    plan = plan_rollout(args.old, args.new, workflow=args.workflow, at=args.at or ())
    report = rollout(
        plan,
        args.input or [None],
        instances=args.instances,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(report.render())
    if args.json is not None:
        args.json.write_text(json.dumps(report.as_data(), indent=2) + "\n")
    if not report.judged:
        raise ConfigError(
            "the instances reached none of the boundaries, so nothing was judged: give "
            "inputs that run the workflow's activities (--input JSON)"
        )
    return 0 if report.safe else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rollout",
        help="deploy new workflow code over instances in flight at every activity boundary",
        description=(
            "Start instances on the old code, crash the app at each activity boundary in "
            "turn, deploy the new code, and report what became of every instance "
            "(finished, stalled with daprd's reason, failed), next to what replaying the "
            "histories offline predicts. Exit 0 safe, 1 unsafe, 2 bad input."
        ),
    )
    p.add_argument(
        "--from",
        dest="old",
        required=True,
        metavar="MODULE:ATTR",
        help="the version deployed now (a hosted app's workflow code)",
    )
    p.add_argument(
        "--to", dest="new", required=True, metavar="MODULE:ATTR", help="the version to deploy"
    )
    p.add_argument(
        "--workflow", help="the workflow to roll out (default: the only one both register)"
    )
    p.add_argument(
        "--input",
        action="append",
        type=options.json_value,
        metavar="JSON",
        help="an input of the instances (repeatable, cycled; default null)",
    )
    p.add_argument(
        "--instances",
        type=options.positive_int,
        default=2,
        help="instances in flight per boundary (default 2)",
    )
    p.add_argument(
        "--at",
        action="append",
        metavar="ACTIVITY.before|after",
        help="only this boundary (repeatable; default every activity's two)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    p.set_defaults(func=cmd_rollout)
