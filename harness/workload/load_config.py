"""What the Locust workload reads from its environment: one typed object, read once.

The runner (:mod:`harness.experiment.load`) writes these variables for the Locust processes
it starts; a user running ``locust -f harness/workload/locustfile.py`` sets them by hand.
All are optional:

``DAPR_CHAOS_LOAD_URL``
    The order API, e.g. ``http://127.0.0.1:20015`` (``dapr-chaos up`` prints it). Locust's
    ``--host`` wins when given.
``DAPR_CHAOS_LOAD_PREFIX``
    Instance-id prefix of every order (default ``load-<random>-``). Each Locust process
    adds ``w<worker index>-``, so distributed workers never reuse an id.
``DAPR_CHAOS_LOAD_OPS``
    A file the workload appends one JSON line per operation to (submitted, accepted,
    refused, unanswered, done with its end-to-end latency, ...). Default: none.
``DAPR_CHAOS_LOAD_SEED``
    Integer seed of the order generator (default: random).
``DAPR_CHAOS_LOAD_POLL``
    Seconds between two status polls of one order (default 0.1).
``DAPR_CHAOS_LOAD_BACKOFF``
    Seconds a user waits after a failed request before the next one (default 0.5).
``DAPR_CHAOS_LOAD_WAIT``
    Seconds a user waits for one order to become terminal before moving on (default 120).
``DAPR_CHAOS_LOAD_OUT_OF_STOCK``
    Fraction (0..1) of orders for what is (nearly) gone (default 0.05): half for the run's
    sold-out product, half in pairs racing for a scarce product of the run's own (see
    :meth:`~harness.workload.order_generator.OrderGenerator.mixed`).

For a workflow load (:mod:`harness.workload.locust_workflows`, instances started through
daprd's gRPC workflow API instead of orders over HTTP):

``DAPR_CHAOS_LOAD_WORKFLOW``
    The registered workflow name to start.
``DAPR_CHAOS_LOAD_INPUTS``
    A JSON list of inputs, given to instances in turn (default ``[null]``).
``DAPR_CHAOS_LOAD_GRPC_PORT``, ``DAPR_CHAOS_LOAD_TOKEN``
    daprd's gRPC port on 127.0.0.1 and its API token (``dapr-chaos up`` prints both).
``DAPR_CHAOS_LOAD_RESULT_FIELD``
    The order output's field that marks approved/rejected (default ``result``; the
    original seed app's is ``status``), reported per operation.
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

WORKFLOW_REQUEST = "WORKFLOW"  # the locustfile's end-to-end row (its request type)

_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")


def validate_prefix(prefix: str) -> str:
    """An instance-id prefix the order API accepts (ids are ``<prefix>w<n>-<m>``)."""
    if not _PREFIX.match(prefix):
        raise ConfigError(
            f"instance-id prefix {prefix!r} is invalid; use 1-80 letters, digits, '.', '_', "
            "':' or '-', starting with a letter or digit"
        )
    return prefix


def _number(env: Mapping[str, str], name: str, default: float, *, low: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value < low:
        raise ConfigError(f"{name}={raw!r} must be a finite number >= {low:g}")
    return value


@dataclass(frozen=True)
class WorkloadConfig:
    """Settings of the Locust workloads: orders over HTTP, or (``workflow`` set)
    instances of a workflow over daprd's gRPC API. Durations in seconds."""

    prefix: str = field(default_factory=lambda: f"load-{uuid.uuid4().hex[:8]}-")
    url: str | None = None
    ops_path: Path | None = None
    seed: int | None = None
    poll_s: float = 0.1
    backoff_s: float = 0.5
    wait_s: float = 120.0
    out_of_stock: float = 0.05
    workflow: str | None = None
    inputs: tuple[Any, ...] = (None,)
    grpc_port: int | None = None
    token: str = ""
    # The output field that marks an order approved or rejected (the app's order API
    # shape; only reported per operation).
    result_field: str = "result"

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        if self.workflow is not None and self.grpc_port is None:
            raise ConfigError(
                "a workflow load needs daprd's gRPC port: set DAPR_CHAOS_LOAD_GRPC_PORT"
            )
        if not self.inputs:
            raise ConfigError("DAPR_CHAOS_LOAD_INPUTS is an empty list; give at least one")
        if not 0.0 <= self.out_of_stock <= 1.0:
            raise ConfigError(f"out-of-stock fraction must be in 0..1, got {self.out_of_stock}")
        if self.poll_s <= 0 or self.wait_s <= 0 or self.backoff_s < 0:
            raise ConfigError("poll and wait must be > 0 seconds, backoff >= 0 seconds")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkloadConfig:
        """Read the ``DAPR_CHAOS_LOAD_*`` variables; a bad value raises ConfigError."""
        env = os.environ if env is None else env
        seed_raw = env.get("DAPR_CHAOS_LOAD_SEED", "").strip()
        try:
            seed = int(seed_raw) if seed_raw else None
        except ValueError:
            raise ConfigError(f"DAPR_CHAOS_LOAD_SEED={seed_raw!r} is not an integer") from None
        ops = env.get("DAPR_CHAOS_LOAD_OPS", "").strip()
        prefix = env.get("DAPR_CHAOS_LOAD_PREFIX", "").strip()
        inputs_raw = env.get("DAPR_CHAOS_LOAD_INPUTS", "").strip()
        try:
            inputs = json.loads(inputs_raw) if inputs_raw else [None]
        except ValueError as exc:
            raise ConfigError(f"DAPR_CHAOS_LOAD_INPUTS is not JSON: {exc}") from None
        if not isinstance(inputs, list):
            raise ConfigError("DAPR_CHAOS_LOAD_INPUTS must be a JSON list of inputs")
        port_raw = env.get("DAPR_CHAOS_LOAD_GRPC_PORT", "").strip()
        if port_raw and not port_raw.isdigit():
            raise ConfigError(f"DAPR_CHAOS_LOAD_GRPC_PORT={port_raw!r} is not a port number")
        defaults = cls()
        return cls(
            prefix=prefix or defaults.prefix,
            url=env.get("DAPR_CHAOS_LOAD_URL", "").strip() or None,
            ops_path=Path(ops) if ops else None,
            seed=seed,
            poll_s=_number(env, "DAPR_CHAOS_LOAD_POLL", defaults.poll_s, low=0.001),
            backoff_s=_number(env, "DAPR_CHAOS_LOAD_BACKOFF", defaults.backoff_s),
            wait_s=_number(env, "DAPR_CHAOS_LOAD_WAIT", defaults.wait_s, low=0.001),
            out_of_stock=_number(env, "DAPR_CHAOS_LOAD_OUT_OF_STOCK", defaults.out_of_stock),
            workflow=env.get("DAPR_CHAOS_LOAD_WORKFLOW", "").strip() or None,
            inputs=tuple(inputs),
            grpc_port=int(port_raw) if port_raw else None,
            token=env.get("DAPR_CHAOS_LOAD_TOKEN", ""),
            result_field=env.get("DAPR_CHAOS_LOAD_RESULT_FIELD", "").strip() or "result",
        )

    def to_env(self) -> dict[str, str]:
        """The variables that make :meth:`from_env` return this config."""
        env = {
            "DAPR_CHAOS_LOAD_PREFIX": self.prefix,
            "DAPR_CHAOS_LOAD_POLL": repr(self.poll_s),
            "DAPR_CHAOS_LOAD_BACKOFF": repr(self.backoff_s),
            "DAPR_CHAOS_LOAD_WAIT": repr(self.wait_s),
            "DAPR_CHAOS_LOAD_OUT_OF_STOCK": repr(self.out_of_stock),
            "DAPR_CHAOS_LOAD_RESULT_FIELD": self.result_field,
        }
        if self.url:
            env["DAPR_CHAOS_LOAD_URL"] = self.url
        if self.ops_path is not None:
            env["DAPR_CHAOS_LOAD_OPS"] = str(self.ops_path)
        if self.seed is not None:
            env["DAPR_CHAOS_LOAD_SEED"] = str(self.seed)
        if self.workflow is not None:
            env["DAPR_CHAOS_LOAD_WORKFLOW"] = self.workflow
            env["DAPR_CHAOS_LOAD_INPUTS"] = json.dumps(list(self.inputs))
        if self.grpc_port is not None:
            env["DAPR_CHAOS_LOAD_GRPC_PORT"] = str(self.grpc_port)
            env["DAPR_CHAOS_LOAD_TOKEN"] = self.token
        return env


@dataclass(frozen=True)
class LoadProfile:
    """``users`` concurrent Locust users, spawned at ``spawn_rate`` users/s, for
    ``duration`` seconds (Locust runs whole seconds: rounded up); ``workers`` > 0 runs
    Locust distributed, a master and that many worker processes. Bad values raise
    ConfigError."""

    users: int
    spawn_rate: float
    duration: float
    workers: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.users, bool) or not isinstance(self.users, int) or self.users < 1:
            raise ConfigError(f"users must be a positive integer, got {self.users!r}")
        if not (math.isfinite(self.spawn_rate) and self.spawn_rate > 0):
            raise ConfigError(f"spawn rate must be > 0 users per second, got {self.spawn_rate}")
        if not (math.isfinite(self.duration) and self.duration > 0):
            raise ConfigError(f"duration must be > 0 seconds, got {self.duration}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int):
            raise ConfigError(f"workers must be an integer, got {self.workers!r}")
        if self.workers < 0 or self.workers > self.users:
            raise ConfigError(
                f"workers must be in 0..users ({self.users}), got {self.workers}; "
                "0 runs Locust in one process"
            )

    @property
    def ramp_s(self) -> int:
        """Seconds until every user runs, plus one for their first workflows to finish."""
        return math.ceil(self.users / self.spawn_rate) + 1
