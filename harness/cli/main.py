"""The ``dapr-chaos`` entry point: the parser of every command, and the exit status.

Exit status: 0 success; 1 a failed check or run; 2 bad input (options, files, missing
binaries, ports in use), with one clear error line. ``exec`` exits with its command's
status (128+N if killed by signal N).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from harness.cli import explore, images, load, provision, replay, rollout, run, stack
from harness.errors import HarnessError
from harness.settings import Settings

# In the order ``dapr-chaos --help`` lists them.
COMMANDS = (provision, stack, run, replay, rollout, explore, images, load)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dapr-chaos", description="Chaos and correctness harness for Dapr workflows."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM/SIGHUP into an exception so context managers tear the stack down.
    raise KeyboardInterrupt(f"signal {signum}")


def configure_logging(*, verbose: bool) -> None:
    """The harness's own messages (loggers under ``harness``) at INFO, DEBUG with
    ``--verbose``, as ``dapr-chaos: ...`` on stderr. Other libraries only warn: the Dapr
    SDK announces every registration at INFO when the replay check imports the user's
    workflow code in this process, and those lines are not ours to print."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="dapr-chaos: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("harness").setLevel(logging.DEBUG if verbose else logging.INFO)
    # The SDK's loggers carry a handler of their own: without a level they print their
    # INFO lines whatever the root says.
    logging.getLogger("WorkflowRuntime").setLevel(logging.NOTSET if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose)
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
