"""``dapr-chaos history export`` and ``dapr-chaos replay``.

``history export`` reads every workflow instance (or the ones named) from a running
daprd on 127.0.0.1 and writes ``<instance>.pb`` + ``<instance>.json`` into ``--out``.
``replay`` replays history files against workflow code: exit 0 when every history
replays exactly, 1 when any differs, 2 on bad input (an unreadable history, a module
that does not import, a workflow the code does not register).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import grpc
from dapr.proto import api_service_v1, api_v1

from harness.cli.options import port
from harness.errors import ConfigError, WorkloadError
from harness.record.instances import InstanceReader
from harness.record.recorder import record_histories
from harness.replay.api import replay_histories
from harness.settings import Settings


def _daprd_app_id(port: int, token: str) -> str:
    """The app id daprd on 127.0.0.1:``port`` serves (its gRPC GetMetadata)."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub: Any = api_service_v1.DaprStub(channel)  # type: ignore[no-untyped-call]
        metadata = (("dapr-api-token", token),) if token else ()
        response = stub.GetMetadata(api_v1.GetMetadataRequest(), metadata=metadata, timeout=5)
        return str(response.id)
    except grpc.RpcError as exc:
        raise ConfigError(
            f"no daprd answered on 127.0.0.1:{port} ({exc.code().name}: {exc.details()}); "
            "give its gRPC port with --dapr-grpc-port (and --api-token if it needs one)"
        ) from None
    finally:
        channel.close()


def cmd_history_export(args: argparse.Namespace, settings: Settings) -> int:
    if args.dapr_grpc_port is None:
        try:
            args.dapr_grpc_port = port(os.environ.get("DAPR_GRPC_PORT") or "50001")
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(f"DAPR_GRPC_PORT: {exc}; or pass --dapr-grpc-port") from None
    served = _daprd_app_id(args.dapr_grpc_port, args.api_token)
    if served != args.app_id:
        raise ConfigError(
            f"daprd on 127.0.0.1:{args.dapr_grpc_port} serves app {served!r}, not "
            f"{args.app_id!r}; check --app-id and --dapr-grpc-port"
        )
    reader = InstanceReader(args.dapr_grpc_port, args.api_token)
    try:
        ids = args.instance or [i for i in reader.instance_ids() if i.startswith(args.prefix)]
        try:
            paths = record_histories(reader, Path(args.out), ids)
        except WorkloadError as exc:
            raise ConfigError(f"{exc}; check the instance ids") from None
    finally:
        reader.close()
    for path in paths:
        print(path)
    print(f"{len(paths)} histories of app {args.app_id} written to {args.out}")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    report = replay_histories(args.workflows, args.histories)
    print(report.report())
    return 0 if report.clean else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``history`` and ``replay``."""
    history = sub.add_parser("history", help="workflow histories of a running stack")
    verbs = history.add_subparsers(dest="history_cmd", required=True, metavar="VERB")
    p = verbs.add_parser(
        "export", help="write every instance's history (.pb + .json) from a running daprd"
    )
    p.add_argument("--app-id", required=True, help="the Dapr app id whose instances to export")
    p.add_argument("--out", required=True, help="directory to write the histories into")
    p.add_argument(
        "--dapr-grpc-port",
        type=port,
        default=None,
        help="daprd's gRPC port on 127.0.0.1 (default: $DAPR_GRPC_PORT or 50001)",
    )
    p.add_argument(
        "--api-token",
        default=os.environ.get("DAPR_API_TOKEN", ""),
        help="daprd's API token (default: $DAPR_API_TOKEN); one that begins with '-' is "
        "given as --api-token=TOKEN",
    )
    p.add_argument("--instance", action="append", help="only this instance id (repeatable)")
    p.add_argument("--prefix", default="", help="only instance ids starting with PREFIX")
    p.set_defaults(func=cmd_history_export)

    p = sub.add_parser(
        "replay",
        help="replay recorded histories strictly against workflow code (exit 1 on a mismatch)",
    )
    p.add_argument(
        "--workflows",
        required=True,
        metavar="MODULE[:ATTR]",
        help="module (dotted name or .py path) exposing the WorkflowRuntime or the workflow "
        "functions; ATTR names one of them",
    )
    p.add_argument("histories", nargs="+", help="history files (.pb) or directories of them")
    p.set_defaults(func=cmd_replay)
