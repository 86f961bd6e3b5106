"""The deploy fault: stop the app and start another version of it in its place, with
instances in flight, the way a rolling deploy does.

``gap``: the old app stops, daprd counts no worker, ``seconds`` pass, the new app starts
(Dapr then releases every stalled instance: its workflow actor types are unregistered
when the last worker leaves). ``overlap``: the new app starts next to the old one, both
workers serve for ``seconds``, then the old one stops; an app that serves HTTP on
``APP_PORT`` cannot overlap (only one process binds the port).

Every phase is on the run's timeline: a window ``gap`` (no worker) or ``overlap`` (two
workers), and marks for each worker leaving and joining. Afterwards the stack's app *is*
the new version: a heal or restart starts it, never the old one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.errors import ConfigError, FaultError
from harness.stack import readiness
from harness.stack.app_check import check_hosted_code
from harness.stack.config import HOST_MODULE, AppSpec

if TYPE_CHECKING:
    from harness.record.timeline import Timeline
    from harness.stack.stack import Stack
    from harness.stack.supervisor import Supervisor

MODES = ("gap", "overlap")
WORKERS_GONE_S = 30.0  # how long daprd may take to count a stopped app's worker gone


@dataclass(frozen=True)
class Deploy:
    """Deploy another version of the app: ``app`` (a whole :class:`AppSpec`), or the
    running app changed by ``workflows`` (``MODULE[:ATTR]``: what a hosted app hosts) and
    ``env`` (added to its environment). ``mode`` gap or overlap, ``seconds`` the gap's or
    the overlap's length (>= 0)."""

    app: AppSpec | None = None
    workflows: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    mode: str = "gap"
    seconds: float = 1.0
    target: str = "app"
    kind: str = "deploy"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"deploy mode {self.mode!r} is unknown; use gap or overlap")
        if not self.seconds >= 0:
            raise ConfigError(f"deploy seconds must be >= 0, got {self.seconds}")
        if self.app is None and self.workflows is None and not self.env:
            raise ConfigError(
                "a deploy needs the new version: an app, workflows (MODULE:ATTR) or env"
            )
        if self.workflows is not None and (not self.workflows or self.workflows[0] == ":"):
            raise ConfigError(f"deploy workflows {self.workflows!r} names no module; MODULE[:ATTR]")

    def detail(self) -> str:
        return f"{self.mode} {self.seconds:g}s to {self.describe_new()}"

    def describe_new(self) -> str:
        if self.app is not None:
            return self.app.workflows or " ".join(self.app.command)
        parts = [self.workflows] if self.workflows else []
        parts += [f"{k}={v}" for k, v in sorted(self.env.items())]
        return " ".join(p for p in parts if p)

    def spec_for(self, current: AppSpec | None) -> AppSpec:
        """The new version's spec, given the running app's (ConfigError if none runs or the
        change does not apply to it)."""
        if current is None:
            raise ConfigError("the stack runs no app: a deploy has no app to replace")
        if self.app is not None:
            return self.app
        spec = current
        if self.workflows is not None:
            if not current.hosted:
                raise ConfigError(
                    f"deploy workflows {self.workflows} needs a hosted app (MODULE:ATTR); the "
                    f"running app is the command {' '.join(current.command)}: give the new "
                    "version as an app or env instead"
                )
            command = (*current.command[:1], "-m", HOST_MODULE, self.workflows)
            spec = dataclasses.replace(spec, command=command, workflows=self.workflows)
        if self.env:
            spec = dataclasses.replace(spec, env={**spec.env, **self.env})
        return spec

    def inject(self, stack: Stack) -> None:
        raise FaultError(
            "a deploy waits for the workers through the supervisor: inject it with "
            "Chaos.deploy or a scenario, not on the stack alone"
        )

    def heal(self, stack: Stack) -> None:
        pass  # a deploy is not undone: deploy the old version again


def roll_out(deploy: Deploy, stack: Stack, supervisor: Supervisor, timeline: Timeline) -> AppSpec:
    """Deploy ``deploy`` onto the running ``stack``; returns the spec now running. The new
    code is checked first (ConfigError, stack untouched, when it does not import or
    registers no workflow). A gap deploy over an app that is down (crashed) starts the
    new version in its place. FaultError when an overlap finds no app running or a
    worker does not come or go as the mode needs."""
    spec = deploy.spec_for(stack.config.app)
    check_hosted_code(spec, stack.config.app_id)
    old = stack.member("app")
    if deploy.mode == "overlap" and not old.process.running():
        raise FaultError("cannot overlap with the app: it is not running (deploy with a gap)")
    if deploy.mode == "overlap" and spec.health_path:
        raise ConfigError(
            f"an overlap runs two apps at once, and this app serves {spec.health_path} on "
            "APP_PORT, which only one process can bind: deploy with mode gap, or host the "
            "workflows (MODULE:ATTR) so the app serves no port"
        )
    staged = stack.stage_app(spec)
    what = deploy.describe_new()
    if deploy.mode == "gap":
        if old.process.running():
            old.process.stop(stack.config.stop_grace)
            timeline.mark("deploy", f"old app stopped (pid {old.process.pid})")
        else:  # it crashed or was killed: the new version comes up in its place
            timeline.mark("deploy", "old app was down already")
        gap = timeline.open("gap", "app", f"no worker until {what} connects")
        try:
            _wait_workers(stack, lambda n: n == 0, "no connected worker", WORKERS_GONE_S)
            time.sleep(deploy.seconds)
            stack.promote_app(staged, spec)
            supervisor.start_app(delay=0)
        finally:
            timeline.close(gap)
        timeline.mark("deploy", f"new app's worker connected ({what})")
        return spec
    stack.launch_app(staged)
    timeline.mark("deploy", f"new app started next to the old one ({what})")
    _wait_workers(stack, lambda n: n >= 2, "2 connected workers", supervisor.worker_grace)
    overlap = timeline.open("overlap", "app", f"old and new ({what}) workers both connected")
    try:
        time.sleep(deploy.seconds)
        stack.promote_app(staged, spec)
    finally:
        timeline.close(overlap)
    timeline.mark("deploy", "old app stopped; the new one serves alone")
    _wait_workers(stack, lambda n: n == 1, "1 connected worker", WORKERS_GONE_S)
    return spec


def _wait_workers(stack: Stack, enough: Callable[[int], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        count = readiness.workflow_workers(stack.daprd.metadata())
        if enough(count):
            return
        if time.monotonic() >= deadline:
            raise FaultError(
                f"deploy: daprd counted {count} workflow worker(s) for {timeout:.0f}s, not {what}"
            )
        time.sleep(0.1)
