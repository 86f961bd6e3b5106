"""The remaining toxics, each observed on the daprd->valkey proxy with a raw client.

Valkey answers an unauthenticated PING with "-NOAUTH ..." (about 40 bytes), which makes
what a toxic does to the bytes easy to see.
"""

from __future__ import annotations

import socket
import time

import pytest

from harness import Chaos, Stack, Toxic


def ask_valkey(
    stack: Stack, payload: bytes = b"PING\r\n", *, timeout: float = 2.0, lines: int = 1
) -> tuple[bytes, float, int]:
    """(bytes received, seconds taken, recv calls) through the proxy, until ``lines``
    reply lines, EOF or ``timeout``."""
    data, calls = b"", 0
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", stack.ports["proxy_daprd_valkey"]), 2) as s:
        s.settimeout(timeout)
        s.sendall(payload)
        try:
            while data.count(b"\r\n") < lines:
                chunk = s.recv(4096)
                calls += 1
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
    return data, time.monotonic() - started, calls


def test_black_hole_passes_no_data(dapr_stack: Stack, chaos: Chaos) -> None:
    assert ask_valkey(dapr_stack)[0].startswith(b"-NOAUTH")
    chaos.black_hole("daprd->valkey")
    data, took, _ = ask_valkey(dapr_stack, timeout=1.0)
    assert data == b"" and took >= 0.9


def test_limit_data_closes_after_n_bytes(dapr_stack: Stack, chaos: Chaos) -> None:
    chaos.toxic("daprd->valkey", Toxic.limit_data(5))
    data, _, _ = ask_valkey(dapr_stack)
    assert data == b"-NOAU"


def test_slicer_splits_and_delays_the_reply(dapr_stack: Stack, chaos: Chaos) -> None:
    fast, quick, _ = ask_valkey(dapr_stack)
    chaos.toxic("daprd->valkey", Toxic.slicer(average_bytes=4, delay_us=20_000))
    sliced, took, calls = ask_valkey(dapr_stack)
    assert sliced == fast
    assert calls >= 5 and took >= quick + 0.1


def test_bandwidth_limits_throughput(dapr_stack: Stack, chaos: Chaos) -> None:
    pings = b"PING\r\n" * 200  # 200 replies of 34 bytes: 6.8 KB back
    chaos.toxic("daprd->valkey", Toxic.bandwidth(4))  # 4 KB/s
    data, took, _ = ask_valkey(dapr_stack, pings, lines=200, timeout=30)
    # 6.8 KB at 4 KB/s cannot arrive in under 1.7 s however fast the machine is; a load
    # only makes it slower, so a lower bound is all that is judged.
    assert data.count(b"\r\n") == 200 and took >= 1.2


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_toxics_apply_per_direction_and_heal_removes_them(
    dapr_stack: Stack, chaos: Chaos, stream: str
) -> None:
    chaos.latency("daprd->valkey", 300, stream=stream)  # type: ignore[arg-type]
    toxics = dapr_stack.toxiproxy.toxics("daprd->valkey")
    assert [(t["type"], t["stream"]) for t in toxics] == [("latency", stream)]
    _, took, _ = ask_valkey(dapr_stack)
    assert took >= 0.29
    chaos.heal()
    assert dapr_stack.toxiproxy.toxics("daprd->valkey") == []
