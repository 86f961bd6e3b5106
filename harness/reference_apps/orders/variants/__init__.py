"""Deliberately broken variants of the reference order app: one module per mistake, for
proving that each check FAILS on a bad app (a check that cannot fail is a defect).

``ORDER_APP_VARIANT=<name>`` makes the app's ``__main__`` call :func:`install` before
anything starts; the module ``<name>`` with ``-`` spelled ``_`` then patches functions and
classes of the correct app's own modules (``workflow``, ``store``, ``api``). Nothing here
is imported by the correct app. Each variant module

- says in the first line of its docstring the mistake, and in a ``Caught by:`` paragraph
  which check catches it (and in which shipped scenario or how);
- defines ``install()``, which patches the app (only through :func:`patch`,
  :func:`replace_activity` and :func:`replace_workflow`, which refuse a name the app
  does not have: a variant that patched nothing would silently be the correct app);
- defines ``WORKFLOWS``, the workflow functions it runs, so the replay check replays
  recorded histories against the code that wrote them (``MODULE:WORKFLOWS``), never
  against the correct app's.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable
from typing import Any

from harness.reference_apps.orders import workflow

CORRECT = "correct"


def module_of(variant: str) -> str:
    """The module that implements ``variant`` (``payment-not-idempotent`` →
    ``harness.reference_apps.orders.variants.payment_not_idempotent``)."""
    return f"{__name__}.{variant.replace('-', '_')}"


def names() -> tuple[str, ...]:
    """Every variant's name, sorted (``correct`` is not one: it is the app itself)."""
    found = (m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return tuple(sorted(name.replace("_", "-") for name in found))


def install(variant: str) -> None:
    """Patch the app into ``variant`` before it starts; exit with the list of variants
    when the name is unknown."""
    known = names()
    if variant not in known:
        sys.exit(
            f"order app: ORDER_APP_VARIANT={variant!r} is unknown; use {CORRECT} or one of "
            + ", ".join(known)
        )
    importlib.import_module(module_of(variant)).install()
    print(f"order app: running the deliberately broken variant {variant!r}", flush=True)


def patch(owner: object, name: str, value: object) -> None:
    """Replace ``owner.name`` (a function, method or value of the correct app) with
    ``value``. AttributeError if the app has no such name: the app changed under the
    variant, which would otherwise run as the correct app."""
    if not hasattr(owner, name):
        raise AttributeError(f"{owner!r} has no {name!r} to patch: update the variant")
    setattr(owner, name, value)


def replace_activity(fn: Callable[..., Any]) -> None:
    """Run ``fn`` instead of the app's activity of the same ``__name__`` (the name the
    workflow calls it by and the runtime registers it under)."""
    name = fn.__name__
    if name not in {a.__name__ for a in workflow.ACTIVITIES}:
        raise AttributeError(f"the order app has no activity {name!r} to replace")
    patch(workflow, name, fn)
    patch(
        workflow,
        "ACTIVITIES",
        tuple(fn if a.__name__ == name else a for a in workflow.ACTIVITIES),
    )


def replace_workflow(fn: Callable[..., Any]) -> None:
    """Register ``fn`` as the order workflow instead of the correct one."""
    patch(workflow, "order_processing", fn)
