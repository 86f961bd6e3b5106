"""Release assets, checksum files, settings and the CI cache key: no network, no binaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import ConfigError, Settings
from harness.runtime import versions
from harness.runtime.download import parse_checksums
from harness.runtime.provision import cache_key
from harness.runtime.releases import dapr_asset, toxiproxy_asset

DIGEST = "ab" * 32
PLATFORMS = [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")]


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"HOME": str(tmp_path), **env})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{DIGEST} *daprd_linux_amd64.tar.gz\n", DIGEST),  # Dapr: `sha256sum -b`
        (f"{'0' * 64}  other.tar.gz\n{DIGEST}  daprd_linux_amd64.tar.gz\n", DIGEST),  # goreleaser
        (f"{DIGEST.upper()}  ./release/daprd_linux_amd64.tar.gz\n", DIGEST),
        (f"{DIGEST}\n", DIGEST),  # a bare digest, published for this one asset
        (f"{DIGEST}  daprd_linux_arm64.tar.gz\n", None),
        ("<html>not found</html>", None),
        ("", None),
    ],
)
def test_checksum_files_are_read_per_asset(text: str, expected: str | None) -> None:
    assert parse_checksums(text, "daprd_linux_amd64.tar.gz") == expected


@pytest.mark.parametrize("os_arch", PLATFORMS)
def test_official_assets_use_the_pinned_table_where_it_has_an_entry(
    tmp_path: Path, os_arch: tuple[str, str]
) -> None:
    os_name, arch = os_arch
    toxiproxy = toxiproxy_asset(settings(tmp_path), os_arch)
    assert toxiproxy.url == (
        "https://github.com/Shopify/toxiproxy/releases/download/v2.12.0/"
        f"toxiproxy_2.12.0_{os_name}_{arch}.tar.gz"
    )
    assert toxiproxy.sha256 == versions.RELEASE_SHA256[toxiproxy.url]
    assert toxiproxy.member == "toxiproxy-server"

    daprd = dapr_asset(settings(tmp_path), "daprd", os_arch)
    assert daprd.url == (
        f"https://github.com/dapr/dapr/releases/download/v1.18.3/daprd_{os_name}_{arch}.tar.gz"
    )
    # None pinned for Dapr 1.18.3: verified against the release's own .sha256 file.
    assert daprd.sha256 is None and daprd.checksum_url == daprd.url + ".sha256"
    assert daprd.member == "daprd"


def test_an_overridden_base_url_never_uses_the_pinned_table(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        DAPR_CHAOS_DAPR_RELEASE_URL="http://127.0.0.1:9/dapr/",
        DAPR_CHAOS_TOXIPROXY_RELEASE_URL="http://127.0.0.1:9/toxiproxy",
    )
    toxiproxy = toxiproxy_asset(s, ("linux", "amd64"))
    assert (
        toxiproxy.url == "http://127.0.0.1:9/toxiproxy/v2.12.0/toxiproxy_2.12.0_linux_amd64.tar.gz"
    )
    assert toxiproxy.sha256 is None
    assert toxiproxy.checksum_url == "http://127.0.0.1:9/toxiproxy/v2.12.0/checksums.txt"
    scheduler = dapr_asset(s, "scheduler", ("darwin", "arm64"))
    assert scheduler.url == "http://127.0.0.1:9/dapr/v1.18.3/scheduler_darwin_arm64.tar.gz"
    assert scheduler.checksum_url == scheduler.url + ".sha256"


def test_download_settings(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert not s.offline and s.dapr_release_url is None and s.toxiproxy_release_url is None
    assert settings(tmp_path, DAPR_CHAOS_OFFLINE="1").offline
    with pytest.raises(ConfigError, match="DAPR_CHAOS_DAPR_RELEASE_URL='mirror/dapr' is not"):
        settings(tmp_path, DAPR_CHAOS_DAPR_RELEASE_URL="mirror/dapr")
    with pytest.raises(ConfigError, match="DAPR_CHAOS_TOXIPROXY_RELEASE_URL='file:///x'"):
        settings(tmp_path, DAPR_CHAOS_TOXIPROXY_RELEASE_URL="file:///x")


def test_cache_key_is_stable_and_follows_every_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings(tmp_path)
    key = cache_key(s)
    assert key == cache_key(settings(tmp_path))
    assert key.startswith("dapr-chaos-bin-") and "dapr1.18.3" in key and "toxiproxy2.12.0" in key
    assert key != cache_key(settings(tmp_path, DAPR_CHAOS_DAPR_RELEASE_URL="http://127.0.0.1:9"))

    with monkeypatch.context() as m:
        m.setattr(versions, "RELEASE_SHA256", {**versions.RELEASE_SHA256, "https://x/y": DIGEST})
        assert cache_key(s) != key
    bumps = [("DAPR_RUNTIME", "1.18.4"), ("TOXIPROXY", "2.12.1"), ("DURABLETASK_GO", "0.12.4")]
    for pin, value in bumps:
        with monkeypatch.context() as m:
            m.setattr(versions, pin, value)
            assert cache_key(s) != key, pin
    assert cache_key(s) == key
