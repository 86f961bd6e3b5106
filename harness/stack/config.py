"""What a stack runs: the app (:class:`AppSpec`) and the stack's own settings
(:class:`StackConfig`). Plain values, validated at construction; durations in seconds."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError
from harness.record.order_shape import REFERENCE, OrderShape
from harness.runtime.images import IMAGE_SETS
from harness.stack.components import DEFAULT_TEMPLATES
from harness.stack.ports import MAX_DEPENDENCIES

LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
BACKENDS = ("processes", "containers")
_APP_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
_DEPENDENCY = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
REFERENCE_APP_MODULE = "harness.reference_apps.orders"
HOST_MODULE = "harness.app.host"
# A dependency's address: 127.0.0.1:PORT, or "valkey" (the stack's own Valkey).
STACK_VALKEY = "valkey"


def dependency_env(name: str) -> str:
    """The variable that hands the app dependency ``name``'s proxied address."""
    return f"DAPR_CHAOS_DEP_{name.upper()}"


def check_dependencies(dependencies: Mapping[str, str]) -> None:
    """ConfigError unless every name and address is valid (see :class:`AppSpec`)."""
    if len(dependencies) > MAX_DEPENDENCIES:
        raise ConfigError(
            f"{len(dependencies)} app dependencies declared; at most {MAX_DEPENDENCIES} fit "
            "in a stack's port block"
        )
    for name, address in dependencies.items():
        if not _DEPENDENCY.match(name):
            raise ConfigError(
                f"app dependency name {name!r} is invalid; use 1-20 lowercase letters, digits "
                "and underscores, starting with a letter (it becomes the link app->NAME and "
                f"the variable {dependency_env('NAME')})"
            )
        if name in ("app", "daprd", "placement", "scheduler", "valkey", "toxiproxy"):
            raise ConfigError(
                f"app dependency name {name!r} is a stack member's; name the dependency for "
                "what it is to the app (e.g. store, payments)"
            )
        if address == STACK_VALKEY:
            continue
        host, _, port = address.rpartition(":")
        if host != "127.0.0.1" or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ConfigError(
                f"app dependency {name} at {address!r}: give 127.0.0.1:PORT (dapr-chaos sends "
                "traffic only to loopback) or 'valkey' for the stack's own Valkey"
            )


@dataclass(frozen=True)
class AppSpec:
    """How to run the workflow app.

    ``command`` is run as given (like ``dapr run -- COMMAND``), except that ``${NAME}``
    in an argument is replaced from the app's environment (e.g. ``${GO_CHAIN_BINARY}``
    for a binary a test built; a name that is not set is a ConfigError when the app
    starts). ``wait_for_workers``: the
    app counts as ready only once daprd reports a connected workflow worker.
    ``health_path``: also wait for ``GET http://127.0.0.1:$APP_PORT<health_path>`` → 200.
    ``env`` values may name the harness's variables as ``${NAME}`` (e.g.
    ``REDIS_ADDR: "${DAPR_CHAOS_DEP_STORE}"``; ``$$`` is a literal ``$``).
    ``workflows``: the app's workflow code as ``MODULE[:ATTR]`` (for the replay check, and
    what :func:`hosted_app` hosts). ``instrument``: a Python app that starts itself gets
    the automatic failpoints and invocation records too (``DAPR_CHAOS_INSTRUMENT=1``).
    ``dependencies``: the app's own dependencies, NAME → ``127.0.0.1:PORT`` or ``valkey``
    (the stack's Valkey): each gets a Toxiproxy proxy (link ``app->NAME``) whose address
    the app reads from ``DAPR_CHAOS_DEP_<NAME>``. ``ready_timeout``: seconds the app may
    take to be ready (default: the stack's ``ready_timeout``), for an app that boots
    slower or, in a test, faster than the rest of the stack. ``order_api``: how an order
    app's outputs mark an order approved or rejected (the order workload reads them so;
    default: the reference app's shape).
    """

    command: tuple[str, ...]
    wait_for_workers: bool = True
    health_path: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    workflows: str | None = None
    instrument: bool = False
    dependencies: Mapping[str, str] = field(default_factory=dict)
    ready_timeout: float | None = None
    order_api: OrderShape = REFERENCE

    def __post_init__(self) -> None:
        if not self.command or not self.command[0]:
            raise ConfigError(
                "the app command is empty; give the program to run, e.g. `python app.py`"
            )
        if self.ready_timeout is not None and not self.ready_timeout > 0:
            raise ConfigError(f"app ready timeout must be > 0 seconds, got {self.ready_timeout}")
        check_dependencies(self.dependencies)

    @property
    def hosted(self) -> bool:
        """Whether the harness hosts ``workflows`` (:func:`hosted_app`)."""
        return self.command[1:3] == ("-m", HOST_MODULE) and self.workflows is not None


def hosted_app(
    workflows: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    dependencies: Mapping[str, str] | None = None,
) -> AppSpec:
    """A user's workflow code (``MODULE[:ATTR]``) hosted by the harness, instrumented
    (:mod:`harness.app.host`), run with this interpreter in ``cwd`` (default: here)."""
    if not workflows or workflows.startswith(":"):
        raise ConfigError(f"workflows {workflows!r} names no module; use MODULE[:ATTR]")
    return AppSpec(
        command=(sys.executable, "-m", HOST_MODULE, workflows),
        env=dict(env or {}),
        cwd=cwd or Path.cwd(),
        workflows=workflows,
        dependencies=dict(dependencies or {}),
    )


def reference_app(*variant_env: tuple[str, str]) -> AppSpec:
    """The reference order app (:mod:`harness.reference_apps.orders`), run with this
    interpreter; ``variant_env`` adds (NAME, value) pairs to its environment."""
    return AppSpec(
        command=(sys.executable, "-m", REFERENCE_APP_MODULE),
        wait_for_workers=True,
        health_path="/healthz",
        env=dict(variant_env),
        workflows=f"{REFERENCE_APP_MODULE}.workflow",
        # Its business store sits behind a proxy like Dapr's links: app->store.
        dependencies={"store": STACK_VALKEY},
    )


@dataclass(frozen=True)
class StackConfig:
    """What one stack runs. All durations in seconds.

    ``app=None`` starts no app; ``start_app=False`` starts none either but keeps the
    app's settings (its dependencies' proxies, instrumentation) for a command the caller
    runs itself (``dapr-chaos exec``, :meth:`Stack.run_command`).
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
    start_app: bool = True
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
