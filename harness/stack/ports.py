"""Port blocks: one contiguous block of loopback ports per stack.

Blocks live in ``PORT_RANGE`` (below Linux's ephemeral range, 32768+, so that the kernel
never hands one of our ports to an outgoing connection). A block is reserved by holding an
``flock`` on a per-slot lock file for the stack's lifetime: concurrent stacks (pytest-xdist
workers, a CLI run beside pytest) never collide, and a crashed owner releases its slot
automatically. A pytest-xdist worker ``gwN`` starts its search at its own slot.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.errors import ConfigError, PortInUseError
from harness.settings import state_dir

HOST = "127.0.0.1"
PORT_RANGE = (20000, 32000)
BLOCK_SIZE = 32

# Every port a stack may bind, by role. Offsets into the block are fixed so logs from
# different runs read alike.
PORT_NAMES = (
    "valkey",
    "placement",
    "placement_raft",
    "placement_healthz",
    "placement_metrics",
    "scheduler",
    "scheduler_healthz",
    "scheduler_metrics",
    "scheduler_etcd_client",
    "scheduler_etcd_peer",
    "daprd_grpc",
    "daprd_http",
    "daprd_internal",
    "daprd_metrics",
    "daprd_profile",
    "app",
    "toxiproxy",
    "proxy_app_daprd",
    "proxy_daprd_valkey",
    "proxy_daprd_placement",
    "proxy_daprd_scheduler",
    "locust_master",
    # Listeners of the proxies in front of the app's own dependencies (app->NAME).
    *(f"proxy_dep_{i}" for i in range(6)),
)
MAX_DEPENDENCIES = 6
assert len(PORT_NAMES) <= BLOCK_SIZE


def _lock_dir() -> Path:
    return state_dir("ports")


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when a TCP listener could bind ``host:port`` right now.

    SO_REUSEADDR as every server we run sets it: connections in TIME_WAIT do not count.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def xdist_worker_index() -> int:
    """0 for ``gw0`` (or no xdist), N for ``gwN``."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(ch for ch in worker if ch.isdigit())
    return int(digits) if digits else 0


@dataclass
class PortBlock:
    """A reserved block of ports; ``port(name)`` gives the one for a role.

    Release with :meth:`release` (the stack does it on stop).
    """

    base: int
    _lock: IO[str] | None

    def port(self, name: str) -> int:
        return self.base + PORT_NAMES.index(name)

    def __getitem__(self, name: str) -> int:
        return self.port(name)

    def as_dict(self) -> dict[str, int]:
        return {name: self.port(name) for name in PORT_NAMES}

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _slot_lock(base: int) -> IO[str] | None:
    handle = open(_lock_dir() / f"block-{base}.lock", "w")  # noqa: SIM115 - held for the block's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _busy(base: int) -> list[tuple[str, int]]:
    return [(name, base + i) for i, name in enumerate(PORT_NAMES) if not port_is_free(base + i)]


def reserve_block(base_port: int | None = None) -> PortBlock:
    """Reserve a block. With ``base_port``, exactly that block or a clear PortInUseError."""
    if base_port is not None:
        low, high = 1024, 65535 - BLOCK_SIZE
        if not low <= base_port <= high:
            raise ConfigError(f"base port {base_port} is out of range; choose {low}..{high}")
        lock = _slot_lock(base_port)
        if lock is None:
            raise PortInUseError(
                f"port block {base_port}..{base_port + BLOCK_SIZE - 1} is held by another "
                "dapr-chaos stack; choose another base port or omit it to pick a free block"
            )
        busy = _busy(base_port)
        if busy:
            lock.close()
            name, port = busy[0]
            raise PortInUseError(
                f"port {port} ({name}) on {HOST} is already in use by another process; stop "
                f"that process or choose another base port (the block needs {base_port}.."
                f"{base_port + BLOCK_SIZE - 1} free)"
            )
        return PortBlock(base_port, lock)

    slots = (PORT_RANGE[1] - PORT_RANGE[0]) // BLOCK_SIZE
    start = (xdist_worker_index() * 8) % slots
    for i in range(slots):
        base = PORT_RANGE[0] + ((start + i) % slots) * BLOCK_SIZE
        lock = _slot_lock(base)
        if lock is None:
            continue
        if _busy(base):
            lock.close()
            continue
        return PortBlock(base, lock)
    raise PortInUseError(
        f"no free block of {BLOCK_SIZE} ports in {PORT_RANGE[0]}..{PORT_RANGE[1]} on {HOST}; "
        "stop other stacks or servers using that range"
    )


_ESTABLISHED = "01"  # the state column of /proc/net/tcp


def established(port: int) -> int:
    """Established TCP connections on 127.0.0.1 whose local end is ``port`` (a server
    or proxy listening there), read from ``/proc/net/tcp``; 0 where that cannot be read."""
    try:
        with open("/proc/net/tcp", encoding="ascii") as handle:
            rows = handle.read().splitlines()[1:]
    except OSError:
        return 0
    wanted = f"0100007F:{port:04X}"
    return sum(1 for row in rows if (f := row.split())[1] == wanted and f[3] == _ESTABLISHED)
