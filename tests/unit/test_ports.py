from __future__ import annotations

import socket

import pytest

from harness import ConfigError, PortInUseError
from harness.stack.ports import BLOCK_SIZE, PORT_NAMES, PORT_RANGE, reserve_block


def test_automatic_blocks_are_distinct_and_below_the_ephemeral_range() -> None:
    a, b = reserve_block(), reserve_block()
    try:
        assert a.base != b.base
        for block in (a, b):
            assert PORT_RANGE[0] <= block.base and block.base + BLOCK_SIZE <= 32768
            assert len(set(block.as_dict().values())) == len(PORT_NAMES)
    finally:
        a.release()
        b.release()


# Explicit-port tests use blocks above both our automatic range and Linux's ephemeral
# range (32768-60999), so no concurrently running stack can take them in between.
EXPLICIT_BASE = 61000


def test_an_explicit_block_with_a_busy_port_is_one_clear_error() -> None:
    base = EXPLICIT_BASE
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", base + PORT_NAMES.index("daprd_grpc")))
        sock.listen()
        with pytest.raises(
            PortInUseError,
            match=rf"port {base + 10} \(daprd_grpc\) on 127.0.0.1 "
            "is already in use",
        ):
            reserve_block(base)
    reserve_block(base).release()  # the failed attempt left no lock behind


def test_an_explicit_block_held_by_another_stack_is_refused() -> None:
    held = reserve_block()
    try:
        with pytest.raises(PortInUseError, match="held by another dapr-chaos stack"):
            reserve_block(held.base)
    finally:
        held.release()


def test_out_of_range_base_port() -> None:
    with pytest.raises(ConfigError, match="out of range"):
        reserve_block(80)
