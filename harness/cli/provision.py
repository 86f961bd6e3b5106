"""``dapr-chaos provision`` and ``dapr-chaos doctor``: find or build the pinned binaries,
and say which were found, where, and at what version."""

from __future__ import annotations

import argparse
import importlib.metadata as md
import shutil
import time

from harness.runtime import versions
from harness.runtime.provision import ALL_TOOLS, cache_key, doctor, provision
from harness.settings import Settings


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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``provision`` and ``doctor``."""
    p = sub.add_parser(
        "provision", help="find or build daprd, placement, scheduler, toxiproxy, valkey"
    )
    p.add_argument("--only", nargs="+", choices=ALL_TOOLS, help="provision just these")
    p.add_argument(
        "--cache-key",
        action="store_true",
        help="print a key for CI caches of the binary directory (pinned versions, platform, "
        "checksums) and exit",
    )
    p.set_defaults(func=cmd_provision)
    p = sub.add_parser("doctor", help="print which binaries were found, where, and their versions")
    p.set_defaults(func=cmd_doctor)
