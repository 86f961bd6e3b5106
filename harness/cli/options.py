"""Options shared by the CLI and the pytest plugin, each declared once.

The value types (argparse ``type=``) raise ``argparse.ArgumentTypeError`` with what was
wrong, which argparse and pytest turn into a usage error naming the option (exit 2).
:data:`STACK_OPTIONS` are the stack's settings: the CLI adds them as ``--NAME`` to every
command that starts a stack, the plugin as ``--dapr-chaos-NAME``; :func:`stack_config`
turns the parsed values into a :class:`~harness.stack.config.StackConfig`.

Importing this module imports nothing heavy (no Dapr SDK, gRPC, Locust or Docker client):
the pytest plugin registers its options with it on every pytest run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import ConfigError
from harness.record.order_shape import ORDER_SHAPES, OrderShape, order_shape
from harness.runtime.images import IMAGE_SETS
from harness.settings import Settings
from harness.stack.builtin_apps import BUILTIN_APPS, builtin_app
from harness.stack.config import (
    BACKENDS,
    LOG_LEVELS,
    AppSpec,
    StackConfig,
    check_dependencies,
    hosted_app,
    reference_app,
)
from harness.stack.ports import BLOCK_SIZE

# -- value types -----------------------------------------------------------------------


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _integer(text: str, what: str = "an integer") -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def seconds(text: str) -> float:
    """A duration in seconds, > 0."""
    value = _number(text, "a number of seconds")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text}")
    return value


def rate(text: str) -> float:
    """A rate (per second), > 0."""
    value = _number(text, "a number")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def limit(text: str) -> float:
    """A limit (an SLO bound), >= 0."""
    value = _number(text, "a number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    value = _integer(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def port(text: str) -> int:
    """A TCP port, 1..65535."""
    value = _integer(text, "a port number")
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 1..65535, got {text}")
    return value


def base_port(text: str) -> int:
    """First port of a stack's block: the whole block must fit below 65536."""
    value = _integer(text, "a port number")
    highest = 65535 - BLOCK_SIZE
    if not 1024 <= value <= highest:
        raise argparse.ArgumentTypeError(f"base port must be in 1024..{highest}, got {text}")
    return value


def json_value(text: str) -> Any:
    """Any JSON value (a workflow input)."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON: {exc}") from None


def comma_list(allowed: Sequence[str], what: str) -> Callable[[str], tuple[str, ...]]:
    """A comma-separated, non-empty list of values from ``allowed``."""

    def parse(text: str) -> tuple[str, ...]:
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {bad or text!r}; choose from {', '.join(allowed)}"
            )
        return values

    return parse


# -- options declared once -------------------------------------------------------------


class _Adder(Protocol):
    """argparse's ``add_argument`` and pytest's ``addoption``, as far as used here."""

    def __call__(self, *names: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Option:
    """One option: ``name`` as the CLI spells it (``--NAME``); ``pytest_name`` if the
    plugin spells it otherwise (``--dapr-chaos-<pytest_name>``). ``flag``: a switch."""

    name: str
    help: str
    type: Callable[[str], Any] | None = None
    default: Any = None
    choices: tuple[str, ...] | None = None
    flag: bool = False
    pytest_name: str | None = None
    repeat: bool = False  # may be given several times: a list

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def add(self, add: _Adder, spelling: str, dest: str) -> None:
        if self.flag:
            add(spelling, action="store_true", dest=dest, help=self.help)
            return
        kwargs: dict[str, Any] = {"default": self.default, "help": self.help, "dest": dest}
        if self.repeat:
            kwargs["action"] = "append"
        if self.type is not None:
            kwargs["type"] = self.type
        if self.choices is not None:
            kwargs["choices"] = self.choices
        add(spelling, **kwargs)


BACKEND_OPTIONS = (
    Option(
        "backend",
        "run the stack as local processes (default) or as containers (needs a Docker engine)",
        default="processes",
        choices=BACKENDS,
    ),
    Option(
        "images",
        "containers: upstream images (pulled) or local ones (`dapr-chaos images build`); "
        "default: DAPR_CHAOS_IMAGES or upstream",
        choices=IMAGE_SETS,
    ),
)

DASHBOARD_OPTION = Option(
    "dashboard",
    "serve a live page of the stack's workflow instances (status, input, output, history) "
    "and the run's fault windows on 127.0.0.1, on a free port whose URL is printed",
    flag=True,
)

STACK_OPTIONS = (
    Option("app-id", "Dapr app id (default: orders)", default="orders"),
    Option(
        "base-port",
        f"first port of the stack's {BLOCK_SIZE}-port block (default: a free block)",
        type=base_port,
    ),
    Option(
        "log-level",
        "log level of daprd, placement and scheduler (default: info)",
        default="info",
        choices=LOG_LEVELS,
    ),
    Option(
        "ready-timeout",
        "seconds to wait for each stack member to become ready (default: 60)",
        type=seconds,
        default=60.0,
    ),
    Option(
        "keep-run-dir",
        "keep the run directory (logs, data) after the stack stops",
        flag=True,
        pytest_name="keep",
    ),
    *BACKEND_OPTIONS,
)


PYTEST_DEST = "dapr_chaos_"  # plugin option dests carry it: no clash with other plugins


def dependency(text: str) -> tuple[str, str]:
    """``NAME=127.0.0.1:PORT`` (or ``NAME=valkey``): one of the app's own dependencies."""
    name, sep, address = text.partition("=")
    if not sep or not name or not address:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME=127.0.0.1:PORT (or NAME=valkey for the stack's Valkey)"
        )
    try:
        check_dependencies({name: address})
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name, address


def order_api(text: str) -> OrderShape:
    """An order API shape: a built-in's name (reference, original) or a JSON mapping
    ``{"field": ..., "approved": [...], "rejected": [...], "rejected_prefix": [...]}``."""
    value: Any = text
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r} is not JSON: {exc}") from None
    try:
        return order_shape(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


ORDER_API_OPTION = Option(
    "order-api",
    "how the app's order outputs mark approved/rejected orders: "
    + " or ".join(ORDER_SHAPES)
    + ' or JSON {"field", "approved", "rejected" | "rejected_prefix"} (default: the app\'s own; '
    "reference for a command)",
    type=order_api,
)

APP_OPTIONS = (
    Option(
        "app",
        "the app's command line, run like `dapr run -- COMMAND`, or a built-in order app: "
        + ", ".join(BUILTIN_APPS)
        + " (default: reference, the Python reference order app)",
    ),
    ORDER_API_OPTION,
    Option(
        "workflows",
        "MODULE[:ATTR] of your Python workflow code: hosted and instrumented by the harness "
        "(without --app), or replayed by the replay check (with --app)",
    ),
    Option(
        "dependency",
        "NAME=127.0.0.1:PORT: a dependency of the app's own, put behind a proxy (link "
        "app->NAME; the app reads the address from DAPR_CHAOS_DEP_<NAME>); repeatable",
        type=dependency,
        repeat=True,
    ),
    Option(
        "instrument",
        "give a Python --app that starts itself the automatic failpoints and invocation "
        "records (<activity>.before/.after)",
        flag=True,
    ),
)


def app_spec(value: Callable[[str], Any], settings: Settings | None = None) -> AppSpec:
    """The AppSpec the parsed app options describe (``value`` as for
    :func:`stack_config`): a command, hosted workflow code, a built-in order app (built
    into ``settings``' cache if it is Go), or the reference app; read in the shape
    ``--order-api`` gives, if given."""
    spec = _app_spec(value, settings)
    shape = value("order_api")
    return spec if shape is None else dataclasses.replace(spec, order_api=shape)


def _app_spec(value: Callable[[str], Any], settings: Settings | None) -> AppSpec:
    command = value("app")
    workflows = value("workflows")
    deps = dict(value("dependency") or ())
    if command in BUILTIN_APPS:
        if workflows or deps or value("instrument"):
            raise ConfigError(
                f"--app {command} is a built-in app; --workflows, --dependency and "
                "--instrument are for an app of your own"
            )
        return builtin_app(command, settings or Settings.from_env())
    if command:
        return AppSpec(
            tuple(shlex.split(command)),
            workflows=workflows,
            instrument=bool(value("instrument")),
            dependencies=deps,
        )
    if value("instrument"):
        raise ConfigError("--instrument goes with --app (a hosted app is instrumented anyway)")
    if workflows:
        return hosted_app(workflows, dependencies=deps)
    if deps:
        raise ConfigError(
            "--dependency is for your own app (--app or --workflows); the reference app "
            "declares its store"
        )
    return reference_app()


def add_to_parser(group: argparse._ActionsContainer, options: Iterable[Option]) -> None:
    """Add ``options`` to a CLI parser or argument group as ``--NAME``."""
    for option in options:
        option.add(group.add_argument, f"--{option.name}", option.dest)


def add_to_pytest(group: Any, options: Iterable[Option]) -> None:
    """Add ``options`` to a pytest option group as ``--dapr-chaos-NAME`` (dest
    ``dapr_chaos_<name>``)."""
    for option in options:
        spelling = f"--dapr-chaos-{option.pytest_name or option.name}"
        option.add(group.addoption, spelling, PYTEST_DEST + option.dest)


def add_stack_options(parser: argparse.ArgumentParser, *, app: bool = True) -> None:
    """The stack options of a CLI command that starts a stack (and, with ``app``, the
    options that choose the app)."""
    add_to_parser(parser.add_argument_group("stack"), STACK_OPTIONS)
    if app:
        add_to_parser(parser.add_argument_group("app"), APP_OPTIONS)


def stack_config(value: Callable[[str], Any], app: AppSpec | None) -> StackConfig:
    """The StackConfig that parsed stack options describe, running ``app``; ``value``
    gives an option's parsed value by its CLI ``dest`` (``base_port``, ...)."""
    return StackConfig(
        app=app,
        app_id=value("app_id"),
        base_port=value("base_port"),
        log_level=value("log_level"),
        ready_timeout=value("ready_timeout"),
        keep_run_dir=True if value("keep_run_dir") else None,
        backend=value("backend"),
        images=value("images"),
    )
