"""The members of a stack: how each is started and when each counts as ready.

Every member binds 127.0.0.1 only, on ports from the stack's block; clients dial the
link ports of :mod:`harness.stack.topology`.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from harness.runtime.provision import Binaries
from harness.stack import readiness
from harness.stack.ports import HOST, PortBlock
from harness.stack.process import ManagedProcess, MemberProcess
from harness.stack.topology import Secrets, Topology
from harness.stack.toxiproxy import ToxiproxyClient

log = logging.getLogger("harness.stack")


@dataclass
class Member:
    """One stack member: its process (local or a container) plus its readiness rule."""

    name: str
    process: MemberProcess
    data_dirs: list[Path] = field(default_factory=list)

    def wait_ready(self, timeout: float) -> float:
        raise NotImplementedError

    def restart(self, timeout: float) -> float:
        """Stop (if running) and start again on the same ports and data; returns ready time."""
        self.process.stop()
        self.process.start()
        return self.wait_ready(timeout)


def _healthz_ready(member: Member, port: int, timeout: float) -> float:
    """Control-plane readiness: ``GET /healthz`` on its healthz port answers 200."""
    return readiness.wait_for(
        "GET /healthz -> 200",
        lambda: readiness.http_status(port, "/healthz")[0] == 200,
        process=member.process,
        timeout=timeout,
    )


class Toxiproxy(Member):
    """toxiproxy-server: one proxy per link, created right after it answers."""

    def __init__(self, bins: Binaries, topo: Topology, run_dir: Path) -> None:
        self._port = topo.ports["toxiproxy"]
        argv = [str(bins.toxiproxy.path), "-host", HOST, "-port", str(self._port)]
        super().__init__(
            "toxiproxy",
            ManagedProcess("toxiproxy", argv, log_path=run_dir / "logs" / "toxiproxy.log"),
        )
        self._topo = topo

    @property
    def client(self) -> ToxiproxyClient:
        return ToxiproxyClient(self._port)

    def wait_ready(self, timeout: float) -> float:
        waited = readiness.wait_for(
            "GET /version -> 200",
            lambda: readiness.http_status(self._port, "/version")[0] == 200,
            process=self.process,
            timeout=timeout,
        )
        existing = self.client.proxies()
        for name in sorted(self._topo.proxied):
            link = self._topo.link(name)
            if name not in existing:  # a restarted toxiproxy has lost its proxies
                self.client.create_proxy(name, f"{HOST}:{link.listen}", f"{HOST}:{link.upstream}")
        return waited


class Valkey(Member):
    def __init__(self, bins: Binaries, topo: Topology, secrets: Secrets, run_dir: Path) -> None:
        data = run_dir / "valkey"
        data.mkdir(mode=0o700, exist_ok=True)
        argv = [
            str(bins.valkey.path),
            "--bind",
            HOST,
            "--port",
            str(topo.ports["valkey"]),
            "--requirepass",
            secrets.valkey_password,
            "--dir",
            str(data),
            # Crash tests restart Valkey: every acknowledged write must survive SIGKILL.
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
        ]
        super().__init__(
            "valkey",
            ManagedProcess("valkey", argv, log_path=run_dir / "logs" / "valkey.log"),
            [data],
        )
        self._port = topo.ports["valkey"]
        self._password = secrets.valkey_password

    def wait_ready(self, timeout: float) -> float:
        return readiness.wait_for(
            "PING",
            lambda: readiness.valkey_ping(self._port, self._password),
            process=self.process,
            timeout=timeout,
        )


def control_plane_argv(
    binary: Path, role: str, ports: PortBlock, log_level: str, own: list[str]
) -> list[str]:
    """The command line placement and scheduler share: their id, gRPC port, healthz and
    metrics ports, all bound to 127.0.0.1, no TLS; ``own`` adds the service's own flags."""
    return [
        str(binary),
        "--id",
        f"{role}-0",
        "--port",
        str(ports[role]),
        "--listen-address",
        HOST,
        "--healthz-port",
        str(ports[f"{role}_healthz"]),
        # Parsed but ignored by dapr 1.18.3 (the healthz server listens on ":port"):
        # kept so the intent is visible and takes effect once upstream honours it.
        "--healthz-listen-address",
        HOST,
        "--metrics-port",
        str(ports[f"{role}_metrics"]),
        "--metrics-listen-address",
        HOST,
        *own,
        "--tls-enabled=false",
        "--log-level",
        log_level,
    ]


class Placement(Member):
    def __init__(self, bins: Binaries, topo: Topology, run_dir: Path, log_level: str) -> None:
        p = topo.ports
        raft = ["--initial-cluster", f"placement-0={HOST}:{p['placement_raft']}"]
        argv = control_plane_argv(bins.placement.path, "placement", p, log_level, raft)
        super().__init__(
            "placement",
            ManagedProcess("placement", argv, log_path=run_dir / "logs" / "placement.log"),
        )
        self._healthz = p["placement_healthz"]

    def wait_ready(self, timeout: float) -> float:
        return _healthz_ready(self, self._healthz, timeout)


class Scheduler(Member):
    def __init__(self, bins: Binaries, topo: Topology, run_dir: Path, log_level: str) -> None:
        p = topo.ports
        # Reminders live only in the scheduler's etcd: the directory survives restarts.
        etcd = run_dir / "scheduler-etcd"
        etcd.mkdir(mode=0o700, exist_ok=True)
        own = [
            "--etcd-data-dir",
            str(etcd),
            "--etcd-client-port",
            str(p["scheduler_etcd_client"]),
            "--etcd-initial-cluster",
            f"scheduler-0=http://{HOST}:{p['scheduler_etcd_peer']}",
            # daprd dials the address the scheduler broadcasts: make it the link's address
            # so job streams go through a proxy when there is one.
            "--override-broadcast-host-port",
            topo.dial("daprd->scheduler"),
            "--mode",
            "standalone",
        ]
        argv = control_plane_argv(bins.scheduler.path, "scheduler", p, log_level, own)
        super().__init__(
            "scheduler",
            ManagedProcess("scheduler", argv, log_path=run_dir / "logs" / "scheduler.log"),
            [etcd],
        )
        self._healthz = p["scheduler_healthz"]

    def wait_ready(self, timeout: float) -> float:
        return _healthz_ready(self, self._healthz, timeout)


class Daprd(Member):
    def __init__(
        self,
        bins: Binaries,
        topo: Topology,
        secrets: Secrets,
        run_dir: Path,
        *,
        app_id: str,
        components_dir: Path,
        log_level: str,
    ) -> None:
        p = topo.ports
        argv = [
            str(bins.daprd.path),
            "--app-id",
            app_id,
            "--mode",
            "standalone",
            "--dapr-grpc-port",
            str(p["daprd_grpc"]),
            "--dapr-http-port",
            str(p["daprd_http"]),
            "--dapr-internal-grpc-port",
            str(p["daprd_internal"]),
            "--dapr-internal-grpc-listen-address",
            HOST,
            "--dapr-listen-addresses",
            HOST,
            "--metrics-port",
            str(p["daprd_metrics"]),
            "--metrics-listen-address",
            HOST,
            "--profile-port",
            str(p["daprd_profile"]),
            "--enable-mtls=false",
            "--resources-path",
            str(components_dir),
            "--placement-host-address",
            topo.dial("daprd->placement"),
            "--scheduler-host-address",
            topo.dial("daprd->scheduler"),
            "--dapr-graceful-shutdown-seconds",
            "1",
            "--log-level",
            log_level,
        ]
        env = dict(os.environ)
        # Without it daprd fails on a loopback-only host: "failed to determine host address".
        env["DAPR_HOST_IP"] = HOST
        env["DAPR_API_TOKEN"] = secrets.api_token
        super().__init__(
            "daprd", ManagedProcess("daprd", argv, log_path=run_dir / "logs" / "daprd.log", env=env)
        )
        self.http_port = p["daprd_http"]
        self._token = secrets.api_token

    def metadata(self) -> dict[str, object] | None:
        return readiness.daprd_metadata(self.http_port, self._token)

    def wait_ready(self, timeout: float) -> float:
        waited = readiness.wait_for(
            "GET /v1.0/healthz -> 204",
            lambda: readiness.http_status(self.http_port, "/v1.0/healthz")[0] == 204,
            process=self.process,
            timeout=timeout,
        )
        return waited + readiness.wait_for(
            "actor runtime RUNNING with placement connected (GET /v1.0/metadata)",
            lambda: readiness.actors_ready(self.metadata()),
            process=self.process,
            timeout=max(1.0, timeout - waited),
            detail=lambda: str((self.metadata() or {}).get("actorRuntime")),
        )

    def soft_restart(self) -> None:
        """SIGHUP: daprd restarts its runtime in-process (same pid)."""
        self.process.signal(signal.SIGHUP)


class App(Member):
    """The workflow app: any command, given the Dapr and harness variables in its env."""

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        run_dir: Path,
        *,
        daprd: Daprd,
        wait_for_workers: bool,
        health_port: int | None,
        health_path: str | None,
        cwd: Path | None,
        log_name: str = "app",
    ) -> None:
        super().__init__(
            "app",
            ManagedProcess(
                "app", command, log_path=run_dir / "logs" / f"{log_name}.log", env=env, cwd=cwd
            ),
        )
        self._daprd = daprd
        self._wait_for_workers = wait_for_workers
        self._health = (health_port, health_path) if health_port and health_path else None

    def wait_ready(self, timeout: float) -> float:
        waited = 0.0
        if self._wait_for_workers:
            waited += readiness.wait_for(
                "workflows.connectedWorkers >= 1 in daprd metadata",
                lambda: readiness.workflow_workers(self._daprd.metadata()) >= 1,
                process=self.process,
                timeout=timeout,
                detail=lambda: str((self._daprd.metadata() or {}).get("workflows")),
            )
        if self._health is not None:
            port, path = self._health
            waited += readiness.wait_for(
                f"GET {path} -> 200 on the app port {port}",
                lambda: readiness.http_status(port, path)[0] == 200,
                process=self.process,
                timeout=max(1.0, timeout - waited),
            )
        return waited
