"""Settings read once from the environment, then passed down as one typed object.

Environment variables (all optional):

``DAPR_CHAOS_CACHE``
    Where built binaries and run registries live. Default ``$XDG_CACHE_HOME/dapr-chaos``
    or ``~/.cache/dapr-chaos``. Outside the repository on purpose.
``DAPR_CHAOS_DAPRD``, ``DAPR_CHAOS_PLACEMENT``, ``DAPR_CHAOS_SCHEDULER``,
``DAPR_CHAOS_TOXIPROXY``, ``DAPR_CHAOS_VALKEY``
    Explicit path of one binary; used as given (it must exist).
``DAPR_CHAOS_DAPR_BIN_DIR``
    A directory holding daprd, placement and scheduler (like ``~/.dapr/bin``).
``DAPR_CHAOS_GO``
    The Go toolchain used to build missing binaries. Default: ``go`` on PATH.
``DAPR_CHAOS_NO_BUILD``
    ``1`` forbids building: a binary that is neither found nor downloaded is an error.
``DAPR_CHAOS_OFFLINE``
    ``1`` skips downloading the official release archives: missing binaries are built
    (the Go build itself still needs the Go module proxy or a filled module cache).
``DAPR_CHAOS_DAPR_RELEASE_URL``
    Base URL of the Dapr runtime release assets, in place of
    ``https://github.com/dapr/dapr/releases/download`` (a mirror, or a test server). It
    must serve ``<base>/v<version>/<tool>_<os>_<arch>.tar.gz`` and ``<that>.sha256``;
    with it, checksums come from those ``.sha256`` files, never from the pinned table.
``DAPR_CHAOS_TOXIPROXY_RELEASE_URL``
    The same for Toxiproxy, in place of
    ``https://github.com/Shopify/toxiproxy/releases/download``: it must serve
    ``<base>/v<version>/toxiproxy_<version>_<os>_<arch>.tar.gz`` and
    ``<base>/v<version>/checksums.txt``.
``DAPR_CHAOS_RUN_ROOT``
    Parent of per-run directories. Default: the system temp dir.
``DAPR_CHAOS_KEEP``
    ``1`` keeps each run directory (logs, data) after the stack stops.
``DAPR_CHAOS_IMAGES``
    The container backend's image set when a stack does not choose one: ``upstream``
    (default: published images, pulled) or ``local`` (``dapr-chaos images build``).
"""

from __future__ import annotations

import os
import tempfile
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError

BINARY_ENV = {
    "daprd": "DAPR_CHAOS_DAPRD",
    "placement": "DAPR_CHAOS_PLACEMENT",
    "scheduler": "DAPR_CHAOS_SCHEDULER",
    "toxiproxy-server": "DAPR_CHAOS_TOXIPROXY",
    "valkey-server": "DAPR_CHAOS_VALKEY",
}


def state_dir(*parts: str) -> Path:
    """The harness's own state for this user on this machine, shared by every run and
    kept between runs: ``<tmp>/dapr-chaos-<uid>[/<parts>]`` (port locks, the run registry,
    the measurement lock), created owner-only when missing."""
    path = Path(tempfile.gettempdir(), f"dapr-chaos-{os.getuid()}", *parts)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name}={env[name]!r} is not a boolean; use 1 or 0")


def _base_url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parsed = urllib.parse.urlsplit(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"{name}={raw!r} is not an http(s) URL; use the base under which "
            "v<version>/<asset> is served, e.g. https://mirror.example/dapr/releases/download"
        )
    return raw.rstrip("/")


@dataclass(frozen=True)
class Settings:
    """Where things are and what the harness may do. Build with :meth:`from_env`."""

    cache_dir: Path
    run_root: Path
    binary_overrides: dict[str, Path] = field(default_factory=dict)
    dapr_bin_dir: Path | None = None
    go: str = "go"
    allow_build: bool = True
    keep_run_dirs: bool = False
    images: str = "upstream"
    offline: bool = False
    dapr_release_url: str | None = None
    toxiproxy_release_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default ``os.environ``); bad values raise ConfigError."""
        env = os.environ if env is None else env
        if env.get("DAPR_CHAOS_CACHE"):
            cache = Path(env["DAPR_CHAOS_CACHE"]).expanduser()
        else:
            xdg = env.get("XDG_CACHE_HOME")
            home = Path(env["HOME"]) if env.get("HOME") else Path.home()
            cache = (Path(xdg) if xdg else home / ".cache") / "dapr-chaos"
        overrides = {
            name: Path(env[var]).expanduser() for name, var in BINARY_ENV.items() if env.get(var)
        }
        bin_dir = env.get("DAPR_CHAOS_DAPR_BIN_DIR")
        run_root = Path(env.get("DAPR_CHAOS_RUN_ROOT") or tempfile.gettempdir())
        images = env.get("DAPR_CHAOS_IMAGES") or "upstream"
        if images not in ("upstream", "local"):
            raise ConfigError(f"DAPR_CHAOS_IMAGES={images!r} is invalid; use upstream or local")
        return cls(
            cache_dir=cache,
            run_root=run_root,
            binary_overrides=overrides,
            dapr_bin_dir=Path(bin_dir).expanduser() if bin_dir else None,
            go=env.get("DAPR_CHAOS_GO", "go"),
            allow_build=not _flag(env, "DAPR_CHAOS_NO_BUILD"),
            offline=_flag(env, "DAPR_CHAOS_OFFLINE"),
            dapr_release_url=_base_url(env, "DAPR_CHAOS_DAPR_RELEASE_URL"),
            toxiproxy_release_url=_base_url(env, "DAPR_CHAOS_TOXIPROXY_RELEASE_URL"),
            keep_run_dirs=_flag(env, "DAPR_CHAOS_KEEP"),
            images=images,
        )
