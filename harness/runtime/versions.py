"""The versions dapr-chaos pins, in one place.

The Dapr runtime and the Python SDK move together: the SDK's workflow protos must match
what daprd sends. Change them together and re-run `make test`.
"""

from __future__ import annotations

DAPR_RUNTIME = "1.18.3"
"""daprd, placement and scheduler: the release assets of this tag, or built from
github.com/dapr/dapr at this tag."""

DURABLETASK_GO = "0.12.1"
"""The workflow engine daprd is linked against.

dapr v1.18.3 asks for durabletask-go v0.12.4, which the Go module proxy reachable here
refuses to serve (403); v0.12.1 is the newest it serves and compiles against v1.18.3.
"""

TOXIPROXY = "2.12.0"
"""toxiproxy-server: the release archive of this tag, or built from
github.com/Shopify/toxiproxy/v2."""

DAPR_SDK = "1.18.3"
"""dapr and dapr-ext-workflow on PyPI (pinned in pyproject.toml)."""

DAPR_RELEASE_URL = "https://github.com/dapr/dapr/releases/download"
"""Official Dapr runtime assets: ``<this>/v<version>/<tool>_<os>_<arch>.tar.gz``.

Each archive holds the one binary at its root (dapr/dapr Makefile, target ``archive``:
``tar czf <tool>_<os>_<arch>.tar.gz -C <out> <tool>``); the release workflow publishes
``<asset>.sha256`` next to each (``sha256sum -b`` output). These are the default
``allcomponents`` daprd (what ``dapr init --slim`` installs), a superset of the
``stablecomponents`` build made here.
"""

TOXIPROXY_RELEASE_URL = "https://github.com/Shopify/toxiproxy/releases/download"
"""Official Toxiproxy assets: ``<this>/v<version>/toxiproxy_<version>_<os>_<arch>.tar.gz``.

goreleaser's default archive (toxiproxy's .goreleaser.yml, ``archive_default``):
``toxiproxy-server`` and ``toxiproxy-cli`` at the root, next to goreleaser's default
extra files (README, LICENSE).
The release also has bare ``toxiproxy-server-<os>-<arch>`` binaries, but only the
archives have SHA-256s published outside the release; all are listed in ``checksums.txt``.
"""

RELEASE_SHA256: dict[str, str] = {
    # From cashapp/hermit-packages, toxiproxy.hcl (auto-versioned 2025-03-19, commit
    # 3f7caf9e, the day after the v2.12.0 release): hermit hashes each asset it serves.
    "https://github.com/Shopify/toxiproxy/releases/download/v2.12.0/"
    "toxiproxy_2.12.0_linux_amd64.tar.gz": (
        "65e042d3fc2290c099527bc506446a6fd863a09f113b8944b636ece70221c2b3"
    ),
    "https://github.com/Shopify/toxiproxy/releases/download/v2.12.0/"
    "toxiproxy_2.12.0_linux_arm64.tar.gz": (
        "ab417dafc77ae8b54ec8461cc5da5180d0465a61dcbda86c72da72ee4ab843b7"
    ),
    "https://github.com/Shopify/toxiproxy/releases/download/v2.12.0/"
    "toxiproxy_2.12.0_darwin_amd64.tar.gz": (
        "52ac1f99d7204b4b523f910b791bc86318b50ef94822c79a6157606704003ced"
    ),
    "https://github.com/Shopify/toxiproxy/releases/download/v2.12.0/"
    "toxiproxy_2.12.0_darwin_arm64.tar.gz": (
        "cece3905c06ad84d6b3bb4cd024c344e6466736b2a8cbaf9ef4fe45e62aba9b2"
    ),
    # Dapr 1.18.3: no SHA-256 of daprd/placement/scheduler_<os>_<arch>.tar.gz was found
    # published anywhere but the release itself (searched public code, issues and pages:
    # dapr/cli, hermit-packages, nix derivations; the nearest was 1.18.1). They are
    # verified against the release's own <asset>.sha256, which guards against corrupt
    # and truncated downloads, not against a tampered release. Add them here (key: the
    # official URL) once known from a trusted source.
}
"""Pinned SHA-256 (hex) of official release assets, keyed by their official URL.

Keyed by URL so that a hash can never be applied to another version's asset. An official
asset missing here is verified against the checksum file its release publishes. When a
base URL is overridden (a mirror), this table is not used at all.
"""
