"""Binaries from release archives, served by a local server in the official layout.

Every request goes to 127.0.0.1: the release base URLs point at a ThreadingHTTPServer
started per test. The real Go build is replaced by a fake wherever a fallback is the
point (the build itself is tested elsewhere); every refusal leaves the cache empty.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import stat
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness import ProvisionError, Settings
from harness.runtime import provision as provision_module
from harness.runtime import versions
from harness.runtime.provision import (
    DAPR_TOOLS,
    cache_bin_dir,
    cache_key,
    provision,
    reported_version,
)
from harness.runtime.releases import host_platform
from tests.commands import run_cli

REAL_BIN = Settings.from_env().cache_dir / "bin"
PLATFORM = host_platform()
pytestmark = pytest.mark.skipif(PLATFORM is None, reason="no release assets for this platform")
OS, ARCH = PLATFORM or ("linux", "amd64")
D, T = versions.DAPR_RUNTIME, versions.TOXIPROXY


class ReleaseServer:
    """Serves ``files`` (path -> bytes or a file) on 127.0.0.1; records each request path.

    ``short_by[path]`` announces that many bytes more in Content-Length than it sends;
    ``status[path]`` answers with that HTTP status; ``delay[path]`` waits (seconds).
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes | Path] = {}
        self.requests: list[str] = []
        self.short_by: dict[str, int] = {}
        self.status: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.release = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def count(self, suffix: str) -> int:
        with self.lock:
            return sum(path.endswith(suffix) for path in self.requests)

    def publish_dapr(self, tmp: Path, tool: str, members: dict[str, Any], digest: str = "") -> str:
        """``<tool>_<os>_<arch>.tar.gz`` and its ``.sha256``, as dapr/dapr's release has them."""
        asset = f"{tool}_{OS}_{ARCH}.tar.gz"
        path = write_tar_gz(tmp / asset, members)
        self.files[f"/dapr/v{D}/{asset}"] = path
        self.files[f"/dapr/v{D}/{asset}.sha256"] = f"{digest or sha256(path)} *{asset}\n".encode()
        return f"/dapr/v{D}/{asset}"

    def publish_toxiproxy(self, tmp: Path, members: dict[str, Any], listed: bool = True) -> str:
        """goreleaser's ``toxiproxy_<v>_<os>_<arch>.tar.gz``, listed in ``checksums.txt``."""
        asset = f"toxiproxy_{T}_{OS}_{ARCH}.tar.gz"
        path = write_tar_gz(tmp / asset, members)
        self.files[f"/toxiproxy/v{T}/{asset}"] = path
        lines = [f"{'0' * 64}  toxiproxy-cli-{OS}-{ARCH}"]
        if listed:
            lines.append(f"{sha256(path)}  {asset}")
        self.files[f"/toxiproxy/v{T}/checksums.txt"] = ("\n".join(lines) + "\n").encode()
        return f"/toxiproxy/v{T}/{asset}"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        release: ReleaseServer = self.server.release  # type: ignore[attr-defined]
        with release.lock:
            release.requests.append(self.path)
        time.sleep(release.delay.get(self.path, 0.0))
        if self.path in release.status:
            self.send_error(release.status[self.path])
            return
        body = release.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        size = len(body) if isinstance(body, bytes) else body.stat().st_size
        self.send_response(200)
        self.send_header("Content-Length", str(size + release.short_by.get(self.path, 0)))
        self.end_headers()
        try:
            if isinstance(body, bytes):
                self.wfile.write(body)
            else:
                with open(body, "rb") as f:
                    shutil.copyfileobj(f, self.wfile)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: that is what some tests want

    def log_message(self, format: str, *args: Any) -> None:
        pass


def write_tar_gz(path: Path, members: dict[str, Any]) -> Path:
    """An archive of ``members``: name -> bytes, a file to copy, or ("symlink", target)."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, content in members.items():
            if isinstance(content, tuple):
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
                tar.addfile(info)
            elif isinstance(content, Path):
                tar.add(content, arcname=name)
            else:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(content), 0o755
                tar.addfile(info, io.BytesIO(content))
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fake(version: str) -> bytes:
    # Answers --version like the real binaries: enough for the pinned-version check.
    return f"#!/bin/sh\necho 'v{version}'\n".encode()


def leftovers(cache: Path) -> list[str]:
    """Everything in the cache but the build directory and its lock files."""
    build = cache / "build"
    return sorted(
        str(p.relative_to(cache))
        for p in cache.rglob("*")
        if p != build and not (p.parent == build and p.suffix == ".lock")
    )


@pytest.fixture
def server() -> Iterator[ReleaseServer]:
    release = ReleaseServer()
    release.thread.start()
    try:
        yield release
    finally:
        release.httpd.shutdown()
        release.httpd.server_close()
        release.thread.join(timeout=10)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No ~/.dapr/bin of the machine, and no proxy between the client and 127.0.0.1.
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replaces the Go build by a fake that writes stand-ins; lists the specs it built."""
    calls: list[str] = []

    class FakeToolchain:
        def __init__(self, go: str) -> None:
            pass

        def build(self, spec: Any, out_dir: Path, work_dir: Path, progress: Any) -> None:
            calls.append(spec.label)
            out_dir.mkdir(parents=True, exist_ok=True)
            for output in spec.outputs.values():
                (out_dir / output).write_bytes(fake(spec.version))
                (out_dir / output).chmod(0o755)

    monkeypatch.setattr(provision_module, "GoToolchain", FakeToolchain)
    return calls


def env_for(tmp_path: Path, base_url: str, **env: str) -> dict[str, str]:
    return {
        "HOME": str(tmp_path),
        "DAPR_CHAOS_CACHE": str(tmp_path / "cache"),
        "DAPR_CHAOS_DAPR_RELEASE_URL": f"{base_url}/dapr",
        "DAPR_CHAOS_TOXIPROXY_RELEASE_URL": f"{base_url}/toxiproxy",
        **env,
    }


def settings_for(tmp_path: Path, base_url: str, **env: str) -> Settings:
    return Settings.from_env(env_for(tmp_path, base_url, **env))


def test_release_archives_land_verified_in_the_cache_and_are_reused(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    real = {name: REAL_BIN / f"dapr-{D}" / name for name in DAPR_TOOLS}
    real["toxiproxy-server"] = REAL_BIN / f"toxiproxy-{T}" / "toxiproxy-server"
    missing = [str(path) for path in real.values() if not os.access(path, os.X_OK)]
    if missing:
        pytest.skip(f"no cached binaries to serve ({', '.join(missing)}): run `make provision`")
    for tool in DAPR_TOOLS:
        server.publish_dapr(tmp_path, tool, {tool: real[tool]})
    server.publish_toxiproxy(
        tmp_path,
        {
            "LICENSE": b"MIT\n",
            "README.md": b"toxiproxy\n",
            "toxiproxy-cli": fake(T),
            "toxiproxy-server": real["toxiproxy-server"],
        },
    )
    s = settings_for(tmp_path, server.url)
    lines: list[str] = []

    found = provision(s, [*DAPR_TOOLS, "toxiproxy-server"], progress=lines.append)

    for name, binary in found.items():
        assert binary.source == "downloaded", name
        assert binary.path == cache_bin_dir(s, name) / name
        assert binary.path.stat().st_mode & stat.S_IXUSR
        assert binary.version == provision_module.pinned_version(name)
        assert sha256(binary.path) == sha256(real[name])
    # placement and scheduler have no --version flag (they print their usage).
    assert reported_version(found["daprd"].path) == D
    assert reported_version(found["toxiproxy-server"].path) == T
    assert not (cache_bin_dir(s, "toxiproxy-server") / "toxiproxy-cli").exists()  # only the one
    assert any("%)" in line for line in lines), lines  # progress in bytes / total
    assert sum("SHA-256 verified" in line for line in lines) == 4, lines
    installed = [f"bin/dapr-{D}", *(f"bin/dapr-{D}/{t}" for t in DAPR_TOOLS)]
    installed += ["bin", f"bin/toxiproxy-{T}", f"bin/toxiproxy-{T}/toxiproxy-server"]
    assert built == [] and leftovers(s.cache_dir) == sorted(installed)

    requests = len(server.requests)
    again = provision(s, [*DAPR_TOOLS, "toxiproxy-server"], progress=lines.append)
    assert {b.source for b in again.values()} == {"cache"}
    assert len(server.requests) == requests  # nothing downloaded twice


def test_a_checksum_mismatch_is_refused(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    server.publish_dapr(tmp_path, "daprd", {"daprd": fake(D)}, digest="0" * 64)
    s = settings_for(tmp_path, server.url)
    with pytest.raises(ProvisionError, match=r"failed verification: its SHA-256 is [0-9a-f]{64}"):
        provision(s, ["daprd"], progress=lambda _: None)
    assert built == [] and leftovers(s.cache_dir) == []


def test_a_truncated_download_is_refused(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    path = server.publish_toxiproxy(tmp_path, {"toxiproxy-server": fake(T)})
    server.short_by[path] = 4096
    s = settings_for(tmp_path, server.url)
    with pytest.raises(ProvisionError, match=r"is truncated: (\d+) of \1?\d+ bytes arrived") as err:
        provision(s, ["toxiproxy-server"], progress=lambda _: None)
    assert "\n" not in str(err.value) and "DAPR_CHAOS_OFFLINE=1" in str(err.value)
    assert built == [] and leftovers(s.cache_dir) == []


@pytest.mark.parametrize("damage", ["not gzip", "cut short"])
def test_a_corrupt_archive_is_refused(
    tmp_path: Path, server: ReleaseServer, built: list[str], damage: str
) -> None:
    path = server.publish_dapr(tmp_path, "placement", {"placement": os.urandom(200_000)})
    good = Path(server.files[path]).read_bytes()  # type: ignore[arg-type]
    bad = b"<html>a captive portal</html>" if damage == "not gzip" else good[: len(good) // 2]
    server.files[path] = bad
    # The checksum file matches the damaged bytes: only the archive check can catch it.
    asset = path.rsplit("/", 1)[-1]
    digest = hashlib.sha256(bad).hexdigest()
    server.files[path + ".sha256"] = f"{digest} *{asset}\n".encode()
    s = settings_for(tmp_path, server.url)
    with pytest.raises(ProvisionError, match=r"is not a readable \.tar\.gz"):
        provision(s, ["placement"], progress=lambda _: None)
    assert built == [] and leftovers(s.cache_dir) == []


def test_an_archive_without_the_binary_is_refused(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    server.publish_dapr(tmp_path, "scheduler", {"README.md": b"hi", "bin/scheduler": fake(D)})
    s = settings_for(tmp_path, server.url)
    with pytest.raises(ProvisionError, match=r"lacks 'scheduler' at its root \(it holds: README"):
        provision(s, ["scheduler"], progress=lambda _: None)
    assert built == [] and leftovers(s.cache_dir) == []


def test_a_link_in_place_of_the_binary_is_refused(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    server.publish_dapr(tmp_path, "daprd", {"daprd": ("symlink", "/bin/sh")})
    s = settings_for(tmp_path, server.url)
    with pytest.raises(ProvisionError, match="'daprd' is a link, not the binary itself"):
        provision(s, ["daprd"], progress=lambda _: None)
    assert built == [] and leftovers(s.cache_dir) == []


def test_only_the_expected_member_is_extracted(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    escape = tmp_path / "escaped"
    server.publish_dapr(
        tmp_path,
        "daprd",
        {
            "../../escaped": b"no",
            str(escape): b"no",
            "evil-link": ("symlink", str(escape)),
            "./daprd": fake(D),
        },
    )
    s = settings_for(tmp_path, server.url)
    found = provision(s, ["daprd"], progress=lambda _: None)
    assert found["daprd"].source == "downloaded"
    assert not escape.exists() and not list(tmp_path.rglob("escaped"))
    assert sorted(p.name for p in cache_bin_dir(s, "daprd").iterdir()) == ["daprd"]


def test_a_binary_of_another_version_is_refused(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    server.publish_dapr(tmp_path, "daprd", {"daprd": fake("1.17.0")})
    s = settings_for(tmp_path, server.url)
    with pytest.raises(ProvisionError, match=r"reports version 1\.17\.0, not 1\.18\.3; refused"):
        provision(s, ["daprd"], progress=lambda _: None)
    assert built == [] and leftovers(s.cache_dir) == []


def test_an_unlisted_asset_cannot_be_verified_and_is_refused(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    server.publish_toxiproxy(tmp_path, {"toxiproxy-server": fake(T)}, listed=False)
    s = settings_for(tmp_path, server.url)
    with pytest.raises(ProvisionError, match=r"checksums\.txt lists no SHA-256 for toxiproxy_"):
        provision(s, ["toxiproxy-server"], progress=lambda _: None)
    assert server.count(".tar.gz") == 0  # not even downloaded
    assert built == [] and leftovers(s.cache_dir) == []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more: connection refused


@pytest.mark.parametrize("failure", ["connection refused", "404", "503"])
def test_an_unreachable_release_falls_back_to_the_build(
    tmp_path: Path, server: ReleaseServer, built: list[str], failure: str
) -> None:
    base = f"http://127.0.0.1:{closed_port()}" if failure == "connection refused" else server.url
    if failure == "503":
        server.publish_dapr(tmp_path, "daprd", {"daprd": fake(D)})
        server.status[f"/dapr/v{D}/daprd_{OS}_{ARCH}.tar.gz"] = 503
    s = settings_for(tmp_path, base)
    lines: list[str] = []
    found = provision(s, ["daprd", "toxiproxy-server"], progress=lines.append)
    assert built == [f"dapr {D}", f"toxiproxy {T}"]
    assert {b.source for b in found.values()} == {"built"}
    assert any("not downloaded" in line and "building from source" in line for line in lines)
    expected = {"connection refused": "cannot be reached", "404": "HTTP 404", "503": "HTTP 503"}
    assert any(expected[failure] in line for line in lines), lines


def test_a_forbidden_download_is_an_error_not_a_fallback(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    server.status[f"/dapr/v{D}/daprd_{OS}_{ARCH}.tar.gz.sha256"] = 403
    s = settings_for(tmp_path, server.url)
    with pytest.raises(ProvisionError, match="was refused: HTTP 403"):
        provision(s, ["daprd"], progress=lambda _: None)
    assert built == [] and leftovers(s.cache_dir) == []


def test_offline_sends_no_request_at_all(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    server.publish_dapr(tmp_path, "daprd", {"daprd": fake(D)})
    server.publish_toxiproxy(tmp_path, {"toxiproxy-server": fake(T)})
    s = settings_for(tmp_path, server.url, DAPR_CHAOS_OFFLINE="1")
    found = provision(s, ["daprd", "toxiproxy-server"], progress=lambda _: None)
    assert server.requests == []
    assert built == [f"dapr {D}", f"toxiproxy {T}"]
    assert {b.source for b in found.values()} == {"built"}


def test_no_download_and_no_build_says_both(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    s = settings_for(tmp_path, server.url, DAPR_CHAOS_NO_BUILD="1")
    with pytest.raises(
        ProvisionError, match=r"was not downloaded .*HTTP 404.* building is disabled"
    ):
        provision(s, ["placement"], progress=lambda _: None)
    assert built == []


def test_concurrent_provisioning_downloads_once(
    tmp_path: Path, server: ReleaseServer, built: list[str]
) -> None:
    path = server.publish_dapr(tmp_path, "placement", {"placement": fake(D)})
    server.delay[path] = 0.5  # both ask while the first download is still running
    s = settings_for(tmp_path, server.url)
    sources: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            sources.append(provision(s, ["placement"], progress=lambda _: None)["placement"].source)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(sources) == ["cache", "downloaded"]
    assert server.count(".tar.gz") == 1


def test_cli_provisions_from_the_release_and_prints_the_cache_key(
    tmp_path: Path, server: ReleaseServer
) -> None:
    server.publish_dapr(tmp_path, "daprd", {"daprd": fake(D)})
    env = dict(os.environ, **env_for(tmp_path, server.url), no_proxy="127.0.0.1")
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(var, None)

    keys = [run_cli("provision", "--cache-key", env=env) for _ in range(2)]
    assert [k.returncode for k in keys] == [0, 0], keys[0].stderr
    assert keys[0].stdout == keys[1].stdout == cache_key(settings_for(tmp_path, server.url)) + "\n"
    assert server.requests == [] and not (tmp_path / "cache").exists()  # a key provisions nothing

    result = run_cli("provision", "--only", "daprd", env=env)
    assert result.returncode == 0, result.stderr
    assert "(downloaded)" in result.stdout and "SHA-256 verified" in result.stderr

    doctor = run_cli("doctor", env=env)
    rows = {line.split()[0]: line for line in doctor.stdout.splitlines() if line.strip()}
    assert " ok " in rows["daprd"] and "(cache)" in rows["daprd"]
    assert "will be downloaded (or built)" in rows["placement"]
