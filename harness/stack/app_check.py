"""Before a stack starts: hosted workflow code must import and register at least one
workflow, or the run is bad input. Checked in a child process (the code is the user's:
it may fail to import, or exit), with stand-in values for everything the stack would
give it."""

from __future__ import annotations

import json
import os
import subprocess
import threading

from harness.errors import ConfigError
from harness.stack.config import HOST_MODULE, STACK_VALKEY, AppSpec, dependency_env
from harness.stack.environment import expand
from harness.stack.ports import HOST

CHECK_TIMEOUT_S = 120.0  # an import that takes longer is reported as a failure

# Registries of code already checked in this process, by what the check ran. A scenario
# checks every version it deploys before its stack starts; the deploy itself then finds
# the answer here instead of importing the code again inside its fault window (seconds
# on a loaded machine, by which the deploy came too late for the load it was meant for).
_CHECKED: dict[tuple[object, ...], dict[str, list[str]]] = {}
_CHECKED_LOCK = threading.Lock()


def standin_env(app: AppSpec, app_id: str) -> dict[str, str]:
    """The environment the check runs in: ours, with every variable the stack would set
    (and the app's env may name: ${DAPR_CHAOS_DEP_*}, ${DAPR_GRPC_ENDPOINT}, ...) standing
    for a closed loopback port. Code that reads them at import gets well-formed values;
    code that connects at import is refused at once and reaches nothing."""
    closed = f"{HOST}:9"
    standin = {
        **os.environ,
        "DAPR_GRPC_PORT": "9",
        "DAPR_HTTP_PORT": "9",
        "DAPR_GRPC_ENDPOINT": closed,
        "DAPR_HTTP_ENDPOINT": f"http://{closed}",
        "DAPR_RUNTIME_HOST": HOST,
        "APP_PORT": "9",
        "APP_ID": app_id,
        "DAPR_CHAOS_RUN_DIR": "",
        "DAPR_CHAOS_VALKEY_URL": f"redis://{closed}/0",
    }
    for name, address in app.dependencies.items():
        standin[dependency_env(name)] = closed
        if address == STACK_VALKEY:
            standin[f"{dependency_env(name)}_URL"] = f"redis://{closed}/0"
    return {**standin, **expand(app.env, standin)}


def check_hosted_code(app: AppSpec, app_id: str) -> dict[str, list[str]] | None:
    """For a hosted app (``app.workflows``): import the code the way the host will and
    require a registered workflow. Returns what it registers (``{"workflows": [...],
    "activities": [...]}``); raises one ConfigError with the host's reason; None (and
    nothing checked) for an app given as a command. A spec that passed once in this
    process is not checked again (a failure is: the code may be fixed meanwhile)."""
    if not app.hosted:
        return None
    check = [app.command[0], "-m", HOST_MODULE, "--check", *app.command[3:]]
    key = (tuple(check), str(app.cwd), tuple(sorted(app.env.items())), app_id)
    with _CHECKED_LOCK:
        known = _CHECKED.get(key)
    if known is not None:
        return {k: list(v) for k, v in known.items()}
    registry = _run_check(app, app_id, check)
    with _CHECKED_LOCK:
        _CHECKED[key] = registry
    return {k: list(v) for k, v in registry.items()}


def _run_check(app: AppSpec, app_id: str, check: list[str]) -> dict[str, list[str]]:
    try:
        proc = subprocess.run(
            check,
            cwd=app.cwd,
            env=standin_env(app, app_id),
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"cannot check the workflow code {app.workflows}: {exc}") from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        why = lines[-1] if lines else f"exit status {proc.returncode}"
        raise ConfigError(f"{why.removeprefix('dapr-chaos host: error: ')} (app {app.workflows})")
    try:
        names = json.loads(proc.stdout.strip().splitlines()[-1])
        return {k: [str(n) for n in names[k]] for k in ("workflows", "activities")}
    except (ValueError, IndexError, KeyError, TypeError):
        raise ConfigError(
            f"the host's check of {app.workflows} printed no registry: {proc.stdout[-200:]!r}"
        ) from None
