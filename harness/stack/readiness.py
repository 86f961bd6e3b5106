"""Readiness probes for stack members, and the wait loop that runs them.

A wait fails fast when the process it waits for exits, and its error carries the tail of
that process's log. All timeouts are in seconds.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Callable
from typing import Any

from harness.errors import StackError
from harness.stack.process import MemberProcess

HOST = "127.0.0.1"


def http_status(
    port: int, path: str, *, headers: dict[str, str] | None = None, timeout: float = 1.0
) -> tuple[int, bytes]:
    """GET ``http://127.0.0.1:port/path``; (0, b"") when nothing answers."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


def tcp_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def valkey_ping(port: int, password: str, timeout: float = 1.0) -> bool:
    """AUTH + PING over raw RESP; True on +PONG."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            pw = password.encode()
            sock.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(pw), pw))
            data = b""
            deadline = time.monotonic() + timeout
            while b"PONG" not in data and b"-" not in data and time.monotonic() < deadline:
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
            return b"+PONG" in data
    except OSError:
        return False


def daprd_metadata(http_port: int, token: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """daprd's ``/v1.0/metadata`` as JSON, or None when it does not answer."""
    status, body = http_status(
        http_port, "/v1.0/metadata", headers={"dapr-api-token": token}, timeout=timeout
    )
    if status != 200:
        return None
    try:
        data: dict[str, Any] = json.loads(body)
    except ValueError:
        return None
    return data


def workflow_workers(metadata: dict[str, Any] | None) -> int:
    """``workflows.connectedWorkers`` from daprd metadata (0 when absent)."""
    if not metadata:
        return 0
    workflows = metadata.get("workflows") or {}
    return int(workflows.get("connectedWorkers", 0) or 0)


def actors_ready(metadata: dict[str, Any] | None) -> bool:
    """Actor runtime RUNNING with placement connected: workflows can be scheduled."""
    if not metadata:
        return False
    actor = metadata.get("actorRuntime") or {}
    placement = str(actor.get("placement", ""))
    return actor.get("runtimeStatus") == "RUNNING" and placement.startswith("placement: connected")


def wait_for(
    what: str,
    probe: Callable[[], bool],
    *,
    process: MemberProcess | None,
    timeout: float,
    interval: float = 0.02,
    detail: Callable[[], str] | None = None,
) -> float:
    """Poll ``probe`` until True; returns the seconds waited.

    Raises StackError if ``process`` exits first or ``timeout`` passes; the message has
    the process's log tail and, if given, ``detail()`` (the last state seen).
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if probe():
            return time.monotonic() - started
        if process is not None and not process.running():
            raise StackError(
                f"{process.name} exited with status {process.returncode} while waiting for "
                f"{what}; its log is {process.log_path}",
                log_tail=process.log_tail(),
            )
        if time.monotonic() >= deadline:
            extra = f" (last seen: {detail()})" if detail else ""
            name = process.name if process else what
            where = f"; its log is {process.log_path}" if process else ""
            raise StackError(
                f"{name} not ready after {timeout:.0f}s waiting for {what}{extra}{where}",
                log_tail=process.log_tail() if process else "",
            )
        time.sleep(interval)
        interval = min(interval * 1.5, 0.1)
