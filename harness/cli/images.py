"""``dapr-chaos images``: build and list the container backend's images.

``images build [--only NAME...]`` builds the local images ``dapr-chaos/<name>:<version>``
from the provisioned binaries, offline (no registry, no base image); images already up to
date are skipped. ``images list`` shows both image sets and which images are present.
"""

from __future__ import annotations

import argparse
import time

from harness.runtime.images import MEMBERS, build_images, list_images
from harness.settings import Settings


def cmd_images_build(args: argparse.Namespace, settings: Settings) -> int:
    started = time.monotonic()
    built = build_images(settings, args.only or MEMBERS)
    print(f"{len(built)} image(s) built in {time.monotonic() - started:.1f}s")
    return 0


def cmd_images_list(args: argparse.Namespace, settings: Settings) -> int:
    print(f"{'member':10} {'image':42} {'status':8} size")
    for member, ref, status, size in list_images(settings):
        print(f"{member:10} {ref:42} {status:8} {size}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``images``."""
    parser = sub.add_parser("images", help="build or list the container backend's images")
    verbs = parser.add_subparsers(dest="images_cmd", required=True, metavar="VERB")
    build = verbs.add_parser(
        "build", help="build the local images offline from the provisioned binaries"
    )
    build.add_argument("--only", nargs="+", choices=MEMBERS, help="build just these members")
    build.set_defaults(func=cmd_images_build)
    listing = verbs.add_parser("list", help="list the upstream and local images and their state")
    listing.set_defaults(func=cmd_images_list)
