"""Which official release asset holds each pinned binary on this platform.

URLs, archive layouts and checksum files are described in :mod:`harness.runtime.versions`
(with where each fact was read). A base URL from the settings replaces the official one;
then the pinned checksum table does not apply and the server's own checksum files are
the only reference.
"""

from __future__ import annotations

import platform

from harness.runtime import versions
from harness.runtime.download import ReleaseAsset
from harness.settings import Settings

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_platform() -> tuple[str, str] | None:
    """(os, arch) as release assets name them, e.g. ("linux", "amd64"); None when the
    releases have no asset for this machine (only linux/darwin on amd64/arm64 are used)."""
    system = platform.system().lower()
    arch = _ARCH.get(platform.machine().lower())
    if system not in ("linux", "darwin") or arch is None:
        return None
    return system, arch


def dapr_asset(settings: Settings, tool: str, os_arch: tuple[str, str]) -> ReleaseAsset:
    """daprd, placement or scheduler of the pinned Dapr runtime: one ``.tar.gz`` each,
    the binary at its root, a ``<asset>.sha256`` next to it."""
    base = settings.dapr_release_url or versions.DAPR_RELEASE_URL
    os_name, arch = os_arch
    url = f"{base}/v{versions.DAPR_RUNTIME}/{tool}_{os_name}_{arch}.tar.gz"
    return ReleaseAsset(
        label=f"dapr {versions.DAPR_RUNTIME}",
        url=url,
        binary=tool,
        member=tool,
        sha256=None if settings.dapr_release_url else versions.RELEASE_SHA256.get(url),
        checksum_url=f"{url}.sha256",
    )


def toxiproxy_asset(settings: Settings, os_arch: tuple[str, str]) -> ReleaseAsset:
    """toxiproxy-server of the pinned Toxiproxy: goreleaser's ``.tar.gz`` (server and CLI
    at its root), listed in the release's ``checksums.txt``."""
    base = settings.toxiproxy_release_url or versions.TOXIPROXY_RELEASE_URL
    os_name, arch = os_arch
    version = versions.TOXIPROXY
    url = f"{base}/v{version}/toxiproxy_{version}_{os_name}_{arch}.tar.gz"
    return ReleaseAsset(
        label=f"toxiproxy {version}",
        url=url,
        binary="toxiproxy-server",
        member="toxiproxy-server",
        sha256=None if settings.toxiproxy_release_url else versions.RELEASE_SHA256.get(url),
        checksum_url=f"{base}/v{version}/checksums.txt",
    )
