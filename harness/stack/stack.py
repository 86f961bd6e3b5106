"""The Stack: Valkey, placement, scheduler, daprd and a workflow app, as local processes
(backend ``processes``) or as containers (backend ``containers``, see
:mod:`harness.stack.container`).

Start order is Valkey → placement → scheduler → daprd → app. The three backing services
do not depend on each other, so they are launched in that order and then awaited
together; daprd is launched once they answer, the app once daprd's actor runtime is
connected to placement. On any failure everything already started is stopped before the
error propagates: nothing is left half-started.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from harness.app._instrument import AUTOINSTRUMENT_DIR, REGISTRY_FILE
from harness.errors import ConfigError, StackError
from harness.runtime.provision import Binaries, provision_stack
from harness.settings import Settings
from harness.stack.app_check import check_hosted_code
from harness.stack.components import render_components
from harness.stack.config import (
    STACK_VALKEY,
    AppSpec,
    StackConfig,
    dependency_env,
)
from harness.stack.environment import expand, expand_command
from harness.stack.members import App, Daprd, Member, Placement, Scheduler, Toxiproxy, Valkey
from harness.stack.ports import HOST, PortBlock, reserve_block
from harness.stack.process import ManagedProcess, MemberProcess
from harness.stack.registry import RunRecord, reap_orphans
from harness.stack.topology import LINKS, Secrets, Topology, dependency_link
from harness.stack.toxiproxy import ToxiproxyClient

if TYPE_CHECKING:
    from harness.stack.container_backend import ContainerBackend

log = logging.getLogger("harness.stack")


class Stack:
    """A running Dapr workflow stack. Use as a context manager, or start()/stop().

    Attributes are valid between start() and stop(): ``run_dir`` (0700, holds logs,
    components, Valkey and scheduler data), ``ports``, ``api_token``, ``valkey_password``.
    """

    def __init__(
        self,
        config: StackConfig | None = None,
        *,
        settings: Settings | None = None,
        binaries: Binaries | None = None,
    ) -> None:
        self.config = config or StackConfig()
        self.settings = settings or Settings.from_env()
        self._binaries = binaries
        self.members: dict[str, Member] = {}
        self._ports: PortBlock | None = None
        self._record: RunRecord | None = None
        self.run_dir: Path | None = None
        self.timings: dict[str, float] = {}
        self._secrets = Secrets.new()
        self.topology: Topology | None = None
        # Processes started outside the members (the `exec` command): stopped by stop().
        self._extra: list[ManagedProcess] = []
        self._containers: ContainerBackend | None = None
        self._member_start = threading.Lock()
        self._deploys = 0  # app versions deployed over the first one

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Stack:
        """Bring every member up and wait until workflows can run. Idempotent-safe: raises
        if already started."""
        if self.members:
            raise StackError("stack is already started")
        for line in reap_orphans():
            log.warning(line)
        started = time.monotonic()
        if self.config.app is not None:
            check_hosted_code(self.config.app, self.config.app_id)
        if self.config.backend == "containers":
            binaries = self._container_binaries()
        else:
            binaries = self._binaries or provision_stack(self.settings)
        self.timings["provision"] = time.monotonic() - started
        try:
            self._start(binaries)
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - started
        log.info("stack ready in %.2fs (run dir %s)", self.timings["total"], self.run_dir)
        return self

    def _container_binaries(self) -> Binaries:
        """Container backend: reap dead runs' containers, make sure every image is there
        (one ConfigError otherwise, before anything starts), and return the executables'
        paths inside the images."""
        from harness.runtime.images import ensure_images, member_images
        from harness.stack.container_backend import ContainerBackend
        from harness.stack.engine import docker_client, reap_containers

        docker_client()  # no engine: one ProvisionError, nothing started
        for line in reap_containers():
            log.warning(line)
        image_set = self.config.images or self.settings.images
        ensure_images(image_set, self.settings)
        images = member_images(image_set, self.settings)
        self._containers = ContainerBackend(images)
        return self._containers.binaries()

    def _start(self, binaries: Binaries) -> None:
        cfg = self.config
        self._ports = reserve_block(cfg.base_port)
        self.topology = self._topology(self._ports)
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
        self.settings.run_root.mkdir(parents=True, exist_ok=True)
        self.run_dir = self.settings.run_root / f"dapr-chaos-{run_id}"
        self.run_dir.mkdir(mode=0o700)
        keep = self.settings.keep_run_dirs if cfg.keep_run_dir is None else cfg.keep_run_dir
        self._record = RunRecord(run_id=run_id, run_dir=str(self.run_dir), keep_run_dir=keep)
        self._record.save()
        if self._containers is not None:
            self._containers.bind(run_id, self.run_dir, self._record.add_container)
        self.failpoints_dir.mkdir(mode=0o700)
        components = render_components(
            cfg.components,
            self.run_dir / "components",
            {
                "valkey_address": self.topology.dial("daprd->valkey"),
                "valkey_password": self._secrets.valkey_password,
                "app_id": cfg.app_id,
            },
        )
        log.debug("rendered %s", components)

        t = time.monotonic()
        if cfg.proxies:
            proxy = Toxiproxy(binaries, self.topology, self.run_dir)
            self._launch(proxy)
            self.timings["toxiproxy"] = proxy.wait_ready(cfg.ready_timeout)
        backing: list[Member] = [
            Valkey(binaries, self.topology, self._secrets, self.run_dir),
            Placement(binaries, self.topology, self.run_dir, cfg.log_level),
            Scheduler(binaries, self.topology, self.run_dir, cfg.log_level),
        ]
        for member in backing:
            self._launch(member)
        for member in backing:
            self.timings[member.name] = member.wait_ready(cfg.ready_timeout)
        daprd = Daprd(
            binaries,
            self.topology,
            self._secrets,
            self.run_dir,
            app_id=cfg.app_id,
            components_dir=self.run_dir / "components",
            log_level=cfg.log_level,
        )
        self._launch(daprd)
        self.timings["daprd"] = daprd.wait_ready(cfg.ready_timeout)
        if cfg.app is not None and cfg.start_app:
            app = self._app_member(cfg.app)
            self._launch(app)
            self.timings["app"] = app.wait_ready(cfg.app.ready_timeout or cfg.ready_timeout)
        self.timings["start"] = time.monotonic() - t

    def _topology(self, ports: PortBlock) -> Topology:
        """Dapr's links and the app's dependencies, all proxied unless proxies are off."""
        app = self.config.app
        deps = tuple(
            (name, ports["valkey"] if address == STACK_VALKEY else int(address.rpartition(":")[2]))
            for name, address in (app.dependencies.items() if app is not None else ())
        )
        links = (*LINKS, *(dependency_link(name) for name, _port in deps))
        return Topology(ports, frozenset(links) if self.config.proxies else frozenset(), deps)

    def _launch(self, member: Member) -> None:
        assert self._record is not None
        if self._containers is not None:
            self._containers.adopt(member)
        self.members[member.name] = member
        member.process.start()
        self._register(member.name, member.process)

    def _register(self, name: str, process: MemberProcess) -> None:
        """Record a started process group for the reaper (containers record themselves)."""
        assert self._record is not None
        if isinstance(process, ManagedProcess):
            self._record.add_group(name, process.pgid, process.start_time)

    def _app_member(self, spec: AppSpec, log_name: str = "app") -> App:
        assert self.run_dir is not None
        env = self.app_env(spec.env, instrument=spec.instrument)
        return App(
            expand_command(spec.command, env),
            env,
            self.run_dir,
            daprd=self.daprd,
            wait_for_workers=spec.wait_for_workers,
            health_port=self.ports["app"],
            health_path=spec.health_path,
            cwd=spec.cwd,
            log_name=log_name,
        )

    # -- deploying another app version -------------------------------------------------

    def stage_app(self, spec: AppSpec) -> App:
        """A member for ``spec``, built but not started, to replace the app (a deploy).
        Its log is ``logs/app-<n>.log`` (n: the deploy's number). ConfigError when the
        stack cannot run it: another backend than processes, or dependencies other than
        the running app's (their proxies exist from the stack's start only)."""
        if self._containers is not None:
            raise ConfigError("deploying another app version runs on the processes backend only")
        current = self.config.app
        if current is None or "app" not in self.members:
            raise ConfigError("the stack runs no app: a deploy has no app to replace")
        if dict(spec.dependencies) != dict(current.dependencies):
            raise ConfigError(
                f"the deployed app declares dependencies {dict(spec.dependencies)}, the running "
                f"one {dict(current.dependencies)}: a deploy keeps the stack's links, declare "
                "the same ones"
            )
        self._deploys += 1
        return self._app_member(spec, log_name=f"app-{self._deploys + 1}")

    def launch_app(self, app: App) -> None:
        """Start a staged app's process now, next to the running app (an overlap). Until
        it is promoted, :meth:`stop` stops it with the helpers."""
        assert isinstance(app.process, ManagedProcess)
        self._extra.append(app.process)
        app.process.start()
        self._register("app", app.process)

    def promote_app(self, app: App, spec: AppSpec) -> None:
        """Make a staged ``app`` (running or not) the stack's app, as run from ``spec``:
        the old app's process is stopped if it still runs, and every later restart and
        heal starts the new one."""
        old = self.members["app"]
        if old is not app:
            old.process.stop(self.config.stop_grace)
        if app.process in self._extra:
            self._extra.remove(app.process)
        self.members["app"] = app
        self.config = dataclasses.replace(self.config, app=spec)

    def stop(self) -> None:
        """Stop every member (app first), release the ports, remove the run directory
        unless kept. Safe to call more than once, and after a failed start."""
        errors: list[str] = []
        for extra in self._extra:
            try:
                extra.stop(self.config.stop_grace)
            except Exception as exc:  # keep stopping the others
                errors.append(f"{extra.name}: {exc}")
        self._extra.clear()
        for name in ("app", "daprd", "scheduler", "placement", "valkey", "toxiproxy"):
            member = self.members.get(name)
            if member is None:
                continue
            try:
                member.process.stop(self.config.stop_grace)
            except Exception as exc:  # keep stopping the others
                errors.append(f"{name}: {exc}")
        self.members.clear()
        self._containers = None
        if self._ports is not None:
            self._ports.release()
            self._ports = None
        if self._record is not None:
            if not self._record.keep_run_dir and self.run_dir is not None:
                shutil.rmtree(self.run_dir, ignore_errors=True)
            self._record.remove()
            self._record = None
        if errors:
            raise StackError("stopping the stack failed: " + "; ".join(errors))

    # -- what tests and tools need ---------------------------------------------------

    @property
    def ports(self) -> PortBlock:
        if self._ports is None:
            raise StackError("the stack is not started")
        return self._ports

    @property
    def daprd(self) -> Daprd:
        member = self.members.get("daprd")
        if not isinstance(member, Daprd):
            raise StackError("daprd is not part of this stack (not started?)")
        return member

    @property
    def api_token(self) -> str:
        return self._secrets.api_token

    @property
    def valkey_password(self) -> str:
        return self._secrets.valkey_password

    @property
    def valkey_url(self) -> str:
        """URL the app and the harness use for Valkey (``redis://:password@host:port/0``)."""
        return f"redis://:{self._secrets.valkey_password}@{HOST}:{self.ports['valkey']}/0"

    @property
    def grpc_endpoint(self) -> str:
        """``127.0.0.1:port`` where workflow clients reach daprd's gRPC API."""
        assert self.topology is not None
        return self.topology.dial("app->daprd")

    @property
    def grpc_port(self) -> int:
        return int(self.grpc_endpoint.rsplit(":", 1)[1])

    @property
    def app_url(self) -> str:
        return f"http://{HOST}:{self.ports['app']}"

    @property
    def ledger_path(self) -> Path:
        """The app's ledger (``DAPR_CHAOS_LEDGER``): effects, invocations, failpoint hits."""
        if self.run_dir is None:
            raise StackError("the stack is not started")
        return self.run_dir / "ledger.jsonl"

    @property
    def failpoints_dir(self) -> Path:
        """Where failpoints are armed and their hits counted (``DAPR_CHAOS_FAILPOINTS``)."""
        if self.run_dir is None:
            raise StackError("the stack is not started")
        return self.run_dir / "failpoints"

    def process(self, name: str) -> MemberProcess:
        """The managed process of member ``name`` (app, daprd, scheduler, placement, valkey)."""
        member = self.members.get(name)
        if member is None:
            raise StackError(f"no stack member named {name!r}; members: " + ", ".join(self.members))
        return member.process

    def metadata(self) -> dict[str, Any]:
        """daprd's ``/v1.0/metadata`` now; StackError when daprd does not answer."""
        data = self.daprd.metadata()
        if data is None:
            raise StackError(
                "daprd did not answer GET /v1.0/metadata", log_tail=self.daprd.process.log_tail()
            )
        return dict(data)

    def app_env(
        self, extra: Mapping[str, str] | None = None, *, instrument: bool = False
    ) -> dict[str, str]:
        """The environment an app gets, like ``dapr run`` gives it, plus the harness's own:
        ``DAPR_CHAOS_*`` (ledger, failpoints, run dir, Valkey) and ``DAPR_CHAOS_DEP_<NAME>``
        for each dependency (``..._URL`` too for one on the stack's Valkey). ``extra``
        values may name these as ``${NAME}``. ``instrument``: the automatic failpoints and
        invocation records for a Python app that starts itself."""
        assert self.run_dir is not None and self.topology is not None
        grpc = self.grpc_endpoint
        env = without_harness_grpc_setting(os.environ)
        env.update(
            {
                "DAPR_GRPC_PORT": grpc.rsplit(":", 1)[1],
                "DAPR_HTTP_PORT": str(self.ports["daprd_http"]),
                "DAPR_GRPC_ENDPOINT": grpc,
                "DAPR_HTTP_ENDPOINT": f"http://{HOST}:{self.ports['daprd_http']}",
                "DAPR_RUNTIME_HOST": HOST,
                "DAPR_API_TOKEN": self._secrets.api_token,
                "APP_PORT": str(self.ports["app"]),
                "APP_ID": self.config.app_id,
                "DAPR_CHAOS_RUN_DIR": str(self.run_dir),
                "DAPR_CHAOS_LEDGER": str(self.ledger_path),
                "DAPR_CHAOS_VALKEY_URL": self.valkey_url,
                "DAPR_CHAOS_FAILPOINTS": str(self.failpoints_dir),
                "DAPR_CHAOS_VALKEY_PASSWORD": self._secrets.valkey_password,
                "PYTHONUNBUFFERED": "1",
            }
        )
        app = self.config.app
        for name, address in app.dependencies.items() if app is not None else ():
            dialed = self.topology.dial(dependency_link(name))
            env[dependency_env(name)] = dialed
            if address == STACK_VALKEY:
                url = f"redis://:{self._secrets.valkey_password}@{dialed}/0"
                env[f"{dependency_env(name)}_URL"] = url
        if instrument:
            env["DAPR_CHAOS_INSTRUMENT"] = "1"
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(AUTOINSTRUMENT_DIR), env.get("PYTHONPATH", "")) if p
            )
        env.update(expand(extra or {}, env))
        return env

    def app_registry(self) -> dict[str, list[str]] | None:
        """What an instrumented Python app registered (``{"workflows": [...],
        "activities": [...]}``), once it started; None when the app does not tell."""
        if self.run_dir is None:
            return None
        try:
            data = json.loads((self.run_dir / REGISTRY_FILE).read_text())
        except (OSError, ValueError):
            return None
        return {k: [str(n) for n in v] for k, v in dict(data).items()}

    def run_command(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> int:
        """Run ``command`` as the app in the foreground (its output goes to this terminal);
        returns its exit status. The stack stays up. It gets the configured app's
        environment (``env`` added) and instrumentation."""
        if not command:
            raise ConfigError("no command given to run as the app")
        assert self._record is not None and self.run_dir is not None
        app = self.config.app
        extra = {**(app.env if app is not None else {}), **(env or {})}
        instrument = app is not None and app.instrument
        process = ManagedProcess(
            "exec", list(command), log_path=None, env=self.app_env(extra, instrument=instrument)
        )
        try:
            process.start()
        except StackError as exc:
            raise ConfigError(
                f"cannot run {command[0]!r}: {exc.__cause__ or exc}; check the command and "
                "that it is on PATH"
            ) from exc
        # Known to stop() from here on: an interrupt anywhere below still kills it.
        self._extra.append(process)
        self._record.add_group("exec", process.pgid, process.start_time)
        try:
            return process.wait(timeout)
        finally:
            process.stop(self.config.stop_grace)

    def start_helper(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        """Start a process that serves this run (a load generator): its own process group,
        output in ``<run dir>/logs/<name>.log``, recorded in the run registry (a killed
        harness's helpers are reaped by the next run), stopped by :meth:`stop_helper` or
        at the latest by :meth:`stop`."""
        assert self._record is not None and self.run_dir is not None
        process = ManagedProcess(
            name, list(argv), log_path=self.run_dir / "logs" / f"{name}.log", env=env, cwd=cwd
        )
        # Known to stop() before it exists: an interrupt right after the fork still kills it.
        self._extra.append(process)
        process.start()
        self._record.add_group(name, process.pgid, process.start_time)
        return process

    def stop_helper(self, process: ManagedProcess) -> None:
        """Stop a helper from :meth:`start_helper` (its whole process group)."""
        process.stop(self.config.stop_grace)
        if process in self._extra:
            self._extra.remove(process)

    @property
    def toxiproxy(self) -> ToxiproxyClient:
        member = self.members.get("toxiproxy")
        if not isinstance(member, Toxiproxy):
            raise StackError("this stack has no toxiproxy (started with proxies=False)")
        return member.client

    def member(self, name: str) -> Member:
        member = self.members.get(name)
        if member is None:
            raise StackError(f"no stack member named {name!r}; members: " + ", ".join(self.members))
        return member

    def restart_member(self, name: str, *, timeout: float | None = None) -> float:
        """Stop (if running) and start ``name`` again on the same ports and data; returns
        the seconds it took to be ready again."""
        member = self.member(name)
        member.process.stop(self.config.stop_grace)
        return self.start_member(name, timeout=timeout)

    def start_member(self, name: str, *, timeout: float | None = None, wait: bool = True) -> float:
        """Start a member that is down (killed or exited) and wait until it is ready
        (unless ``wait`` is False: the caller waits its own way). Returns seconds waited."""
        member = self.member(name)
        # A timed heal (a timer thread) and the stack-wide heal may both find a member
        # down: one check-reap-spawn at a time, so the second sees it running.
        with self._member_start:
            if member.process.running():
                raise StackError(f"{name} is already running (pid {member.process.pid})")
            member.process.stop(0)  # reap what is left of the old process group
            member.process.start()
            self._register(name, member.process)
        if not wait:
            return 0.0
        return member.wait_ready(timeout or self._ready_timeout(name))

    def _ready_timeout(self, name: str) -> float:
        """Seconds ``name`` may take to be ready: the app's own limit, if it has one."""
        app = self.config.app
        if name == "app" and app is not None and app.ready_timeout:
            return app.ready_timeout
        return self.config.ready_timeout


def without_harness_grpc_setting(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the gRPC fork setting the harness made for its own processes
    (harness/__init__.py): the app under test runs as it would without dapr-chaos. One
    the user set is kept."""
    env = dict(environ)
    if env.pop("DAPR_CHAOS_GRPC_FORK_OFF", None):
        env.pop("GRPC_ENABLE_FORK_SUPPORT", None)
    return env
