"""The Docker engine: one shared docker-py client, for building images (runtime) and running
containers (the stack's container backend).

Ryuk (testcontainers' reaper) is disabled: its image cannot be pulled offline; the stack
labels and reaps its own containers (:mod:`harness.stack.engine`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from harness.errors import ProvisionError

# Before testcontainers is imported anywhere: its config reads the variable once.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
# testcontainers logs "Pulling image" at INFO before every start, pulling or not: misleading
# offline, where images are always local.
logging.getLogger("testcontainers").setLevel(logging.WARNING)

_client: Any = None


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def docker_client() -> Any:
    """A docker-py client (shared in this process); ProvisionError if no engine answers."""
    global _client
    if _client is None:
        import docker

        try:
            # Each member's log stream holds a connection for the container's lifetime.
            client = docker.from_env(timeout=120, max_pool_size=32)
            client.ping()
        except Exception as exc:
            raise ProvisionError(
                f"no Docker engine answers at {engine_address()}; start one (as root on "
                "Debian: `make docker-engine`) or use --backend processes"
            ) from exc
        _client = client
    return _client


def engine_problem() -> str | None:
    """Why the container backend cannot run here, in one line (None: it can)."""
    try:
        docker_client()
    except ProvisionError as exc:
        return str(exc)
    return None
