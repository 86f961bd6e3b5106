"""Nothing of a container stack survives it: no container (also after a killed member or
a killed owner), no network, no build cache, no dangling image; bad image choices are
one clear error with nothing started."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import AppSpec, ConfigError, Settings, Stack, StackConfig, StackError
from harness.testing import (
    RUN_LABEL,
    UPSTREAM_IMAGES,
    build_images,
    docker_client,
    local_recipes,
    port_is_free,
    reap_containers,
    reap_orphans,
    registry_dir,
)

ROOT = Path(__file__).resolve().parents[2]


def containers_of(run_id: str) -> list[str]:
    found = docker_client().api.containers(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})
    return [c["Id"] for c in found]


def engine_footprint() -> dict[str, Any]:
    client = docker_client()
    df = client.df()
    return {
        "networks": sorted(n["Name"] for n in client.api.networks()),
        "build_cache": sum(int(b.get("Size", 0)) for b in df.get("BuildCache") or []),
        "dangling": sorted(i["Id"] for i in client.api.images(filters={"dangling": True})),
    }


def test_a_stopped_stack_leaves_no_container_network_or_cache(docker_engine: None) -> None:
    before = engine_footprint()
    stack = Stack(StackConfig(backend="containers", images="local"))
    with stack:
        run_dir = stack.run_dir
        ports = list(stack.ports.as_dict().values())
        run_id = run_dir.name.removeprefix("dapr-chaos-") if run_dir else ""
        assert len(containers_of(run_id)) == 6
        stack.process("scheduler").signal(signal.SIGKILL)  # an exited container, too
        stack.process("scheduler").wait(10)
    assert containers_of(run_id) == []
    assert engine_footprint() == before
    assert run_dir is not None and not run_dir.exists()
    assert all(port_is_free(p) for p in ports)


def test_a_failed_start_reports_the_app_log_and_leaves_no_container(docker_engine: None) -> None:
    broken = AppSpec(("sh", "-c", "echo broken app >&2; exit 9"))
    stack = Stack(StackConfig(app=broken, backend="containers", images="local"))
    with pytest.raises(StackError, match="app exited with status 9") as info:
        stack.start()
    assert "broken app" in str(info.value)
    assert stack.run_dir is not None and not stack.run_dir.exists()
    assert containers_of(stack.run_dir.name.removeprefix("dapr-chaos-")) == []


def test_images_build_is_idempotent_and_uses_no_build_cache(docker_engine: None) -> None:
    client = docker_client()
    refs = [r.ref for r in local_recipes(Settings.from_env(), progress=lambda _l: None)]
    ids = {ref: client.images.get(ref).id for ref in refs}
    before = engine_footprint()
    assert build_images(Settings.from_env(), progress=lambda _l: None) == []
    assert {ref: client.images.get(ref).id for ref in refs} == ids
    assert engine_footprint() == before


def test_containers_of_a_killed_owner_are_reaped(docker_engine: None) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "up", "--backend", "containers", "--images", "local"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "stack ready" in line:
                break
        else:
            pytest.fail("`dapr-chaos up --backend containers` never got ready")
        records = [
            json.loads(p.read_text())
            for p in registry_dir().glob("*.json")
            if json.loads(p.read_text()).get("owner_pid") == proc.pid
        ]
        assert len(records) == 1 and len(records[0]["containers"]) == 6
        run_id = records[0]["run_id"]
        # Counted while the owner lives: no one reaps the containers of a live owner.
        assert len(containers_of(run_id)) == 6
    finally:
        proc.kill()  # SIGKILL: no teardown; the containers outlive their owner
        proc.wait()
    record = registry_dir() / f"{run_id}.json"
    reap_orphans()
    # Another xdist worker starting a stack reaps orphans too and may get there first,
    # so the end state is judged, not whose call did it: a SIGKILLed owner removes
    # nothing itself, so containers, run dir and record gone prove they were reaped.
    assert containers_of(run_id) == []
    assert not Path(records[0]["run_dir"]).exists()
    assert not record.exists()
    assert reap_containers() == []


def test_a_missing_upstream_image_is_one_clear_error_and_starts_nothing(
    docker_engine: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A registry on a closed loopback port: the pull fails at once, no traffic leaves the host.
    for member in UPSTREAM_IMAGES:
        monkeypatch.setitem(UPSTREAM_IMAGES, member, f"127.0.0.1:9/dapr-chaos/{member}:0")
    runs = set(registry_dir().glob("*.json"))
    with pytest.raises(ConfigError) as info:
        Stack(StackConfig(backend="containers", images="upstream")).start()
    message = str(info.value)
    assert "127.0.0.1:9/dapr-chaos/toxiproxy:0 is missing and cannot be pulled" in message
    assert "`dapr-chaos images build`" in message and "`--images local`" in message
    assert info.value.exit_status == 2
    assert set(registry_dir().glob("*.json")) == runs


def test_bad_backend_and_image_options_exit_2() -> None:
    for args in (["--backend", "vm"], ["--backend", "containers", "--images", "remote"]):
        result = subprocess.run(
            [sys.executable, "-m", "harness.cli", "up", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert "invalid choice" in result.stderr
