"""What a stack runs: the app (:class:`AppSpec`) and the stack's own settings
(:class:`StackConfig`). Plain values, validated at construction; durations in seconds."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError
from harness.runtime.images import IMAGE_SETS
from harness.stack.components import DEFAULT_TEMPLATES

LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
BACKENDS = ("processes", "containers")
_APP_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
REFERENCE_APP_MODULE = "harness.reference_apps.orders"


@dataclass(frozen=True)
class AppSpec:
    """How to run the workflow app.

    ``command`` is run as given (like ``dapr run -- COMMAND``). ``wait_for_workers``: the
    app counts as ready only once daprd reports a connected workflow worker.
    ``health_path``: also wait for ``GET http://127.0.0.1:$APP_PORT<health_path>`` → 200.
    """

    command: tuple[str, ...]
    wait_for_workers: bool = True
    health_path: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None

    def __post_init__(self) -> None:
        if not self.command or not self.command[0]:
            raise ConfigError(
                "the app command is empty; give the program to run, e.g. `python app.py`"
            )


def reference_app(*variant_env: tuple[str, str]) -> AppSpec:
    """The reference order app (:mod:`harness.reference_apps.orders`), run with this
    interpreter; ``variant_env`` adds (NAME, value) pairs to its environment."""
    return AppSpec(
        command=(sys.executable, "-m", REFERENCE_APP_MODULE),
        wait_for_workers=True,
        health_path="/healthz",
        env=dict(variant_env),
    )


@dataclass(frozen=True)
class StackConfig:
    """What one stack runs. All durations in seconds.

    ``app=None`` starts no app (``dapr-chaos exec`` runs its command itself).
    ``base_port=None`` picks a free port block; an explicit one must be entirely free.
    ``keep_run_dir=None`` follows the settings (``DAPR_CHAOS_KEEP``).
    ``proxies=True`` puts a Toxiproxy proxy on every link (app→daprd, daprd→Valkey,
    daprd→placement, daprd→scheduler) so network faults can be injected.
    ``backend``: ``"processes"`` (local processes) or ``"containers"`` (one container per
    member through testcontainers, host network; needs a Docker engine). ``images``
    (containers only): ``"upstream"`` pulls the published images when missing, ``"local"``
    uses the ones ``dapr-chaos images build`` makes offline; ``None`` follows the settings
    (``DAPR_CHAOS_IMAGES``, default upstream).
    """

    app: AppSpec | None = field(default_factory=reference_app)
    app_id: str = "orders"
    base_port: int | None = None
    log_level: str = "info"
    ready_timeout: float = 60.0
    stop_grace: float = 3.0
    keep_run_dir: bool | None = None
    components: Path = DEFAULT_TEMPLATES
    proxies: bool = True
    backend: str = "processes"
    images: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"backend {self.backend!r} is invalid; choose one of " + ", ".join(BACKENDS)
            )
        if self.images is not None and self.images not in IMAGE_SETS:
            raise ConfigError(
                f"image set {self.images!r} is invalid; choose one of {', '.join(IMAGE_SETS)} "
                "(local: built offline by `dapr-chaos images build`)"
            )
        if not _APP_ID.match(self.app_id):
            raise ConfigError(
                f"app id {self.app_id!r} is invalid; use 1-40 lowercase letters, digits and "
                "dashes, starting and ending with a letter or digit"
            )
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"log level {self.log_level!r} is invalid; choose one of " + ", ".join(LOG_LEVELS)
            )
        if not self.ready_timeout > 0:
            raise ConfigError(f"ready timeout must be > 0 seconds, got {self.ready_timeout}")
        if self.stop_grace < 0:
            raise ConfigError(f"stop grace must be >= 0 seconds, got {self.stop_grace}")
