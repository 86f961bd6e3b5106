"""Option value types shared by the CLI and the pytest plugin (argparse ``type=``).

Each raises ``argparse.ArgumentTypeError`` with what was wrong, which argparse (and
pytest) turn into a usage error naming the option.
"""

from __future__ import annotations

import argparse

from harness.stack.ports import BLOCK_SIZE


def seconds(text: str) -> float:
    """A duration in seconds, > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def base_port(text: str) -> int:
    """First port of a stack's block: the whole block must fit below 65536."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    highest = 65535 - BLOCK_SIZE
    if not 1024 <= value <= highest:
        raise argparse.ArgumentTypeError(f"base port must be in 1024..{highest}, got {text}")
    return value
