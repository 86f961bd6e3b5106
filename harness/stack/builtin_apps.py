"""The order apps that ship with dapr-chaos, by name: ``reference`` (the Python reference
order app, :func:`~harness.stack.config.reference_app`) and ``seed-go`` (the seed
article's C# OrderProcessing ported to Go, ``harness/reference_apps/seed_go``, built into
the cache on first use and answering in the original's order API shape).

Both speak the same HTTP API, keep the same business state and honour the same failpoint
names (the Go app answers to its own, ``ProcessPaymentActivity.after``, and to the
reference app's, ``charge_payment.after_effect``), so the shipped scenarios run against
either.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import ConfigError
from harness.record.order_shape import ORIGINAL
from harness.runtime.goapps import build_go_app
from harness.runtime.gobuild import Progress, stderr_progress
from harness.settings import Settings
from harness.stack.config import AppSpec, reference_app

REFERENCE = "reference"
SEED_GO = "seed-go"
BUILTIN_APPS = (REFERENCE, SEED_GO)
# The variants main.go accepts in ORDER_APP_VARIANT.
SEED_GO_VARIANTS = ("correct", "payment-not-idempotent")


def check_seed_go_variant(variant: str) -> None:
    """ConfigError unless ``variant`` is one the Go app has."""
    if variant not in SEED_GO_VARIANTS:
        raise ConfigError(
            f"the {SEED_GO} app has no variant {variant!r}; use one of "
            + ", ".join(SEED_GO_VARIANTS)
        )


def seed_go_app(
    settings: Settings,
    variant: str = "correct",
    *,
    env: Iterable[tuple[str, str]] = (),
    progress: Progress = stderr_progress,
) -> AppSpec:
    """The Go port of the seed app in ``variant`` (one of :data:`SEED_GO_VARIANTS`),
    built into the cache first if it is not there (ProvisionError without Go). Its
    answers are read in the original's order API shape (:data:`ORIGINAL`)."""
    check_seed_go_variant(variant)
    binary = build_go_app(settings, "seed_go", progress=progress)
    return AppSpec(
        command=(str(binary),),
        health_path="/healthz",
        env={"ORDER_APP_VARIANT": variant, **dict(env)},
        order_api=ORIGINAL,
    )


def builtin_app(
    name: str,
    settings: Settings,
    variant: str = "correct",
    *,
    env: Iterable[tuple[str, str]] = (),
    progress: Progress = stderr_progress,
) -> AppSpec:
    """The AppSpec of built-in app ``name`` (one of :data:`BUILTIN_APPS`) in ``variant``."""
    if name == REFERENCE:
        return reference_app(("ORDER_APP_VARIANT", variant), *env)
    if name == SEED_GO:
        return seed_go_app(settings, variant, env=env, progress=progress)
    raise ConfigError(f"no built-in app {name!r}; use one of {', '.join(BUILTIN_APPS)}")
