"""Fetch one release asset, verify its SHA-256, and install the binary it holds.

Contract of :func:`fetch`: either the binary lands at ``dest_dir/<binary>``, executable
and verified, renamed into place in one step, or nothing lands at all. Everything in
between lives in a temporary directory inside ``work_dir`` (on the cache's file system,
so that the final rename is atomic), removed on every way out.

An asset that cannot be reached (connection refused, DNS failure, timeout, HTTP 404 or
5xx) raises :class:`DownloadUnavailable`, so that the caller can build instead. An asset
that was reached but is wrong (a checksum mismatch, a truncated body, a corrupt archive,
an archive without the binary) raises :class:`ProvisionError`: it is refused, never used.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from harness.errors import DownloadUnavailable, ProvisionError
from harness.runtime.gobuild import Progress

REQUEST_TIMEOUT = 30.0
"""Seconds one request may wait to connect, or for the next bytes of an answer."""

PROGRESS_EVERY = 5.0
"""Seconds between two progress lines at most; there is also one line per 10 %."""

_CHUNK = 1 << 20
_MAX_CHECKSUM_FILE = 1 << 20
_SHA256_LINE = re.compile(r"^([0-9a-fA-F]{64})(?:\s+\*?(\S.*))?$")
_INSTEAD = "or set DAPR_CHAOS_OFFLINE=1 to build from source instead"


@dataclass(frozen=True)
class ReleaseAsset:
    """One published file that holds one binary.

    ``member`` is the binary's path inside a ``.tar.gz`` asset, or None when the asset
    is the bare binary; ``binary`` is the file name it gets in the cache. The download
    is verified against ``sha256`` (pinned, hex) when given, otherwise against this
    asset's line in the sha256sum-style file at ``checksum_url``; with neither it is
    refused.
    """

    label: str
    url: str
    binary: str
    member: str | None
    sha256: str | None = None
    checksum_url: str | None = None

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def fetch(
    asset: ReleaseAsset,
    dest_dir: Path,
    work_dir: Path,
    *,
    progress: Progress,
    accept: Callable[[Path], None] | None = None,
    timeout: float = REQUEST_TIMEOUT,
) -> Path:
    """Download, verify and install ``asset``; returns ``dest_dir/<binary>``.

    ``accept`` sees the verified, executable binary before it is renamed into place and
    may refuse it by raising :class:`ProvisionError`. ``timeout`` is in seconds, per
    request (see :data:`REQUEST_TIMEOUT`). The caller holds whatever lock keeps two
    processes from installing the same binary at once.
    """
    expected, source = _expected_digest(asset, timeout)
    work_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".download-{asset.binary}-", dir=work_dir))
    try:
        started = time.monotonic()
        download = staging / "asset"
        digest, size = _download(asset, download, timeout, progress)
        if digest != expected:
            raise ProvisionError(
                f"{asset.filename} failed verification: its SHA-256 is {digest} but "
                f"{source} says {expected}; the download was discarded; retry (a proxy or "
                f"mirror may have altered it), {_INSTEAD}"
            )
        staged = staging / "bin" / asset.binary
        staged.parent.mkdir()
        if asset.member is None:
            download.rename(staged)
        else:
            _extract(asset, download, staged, source)
        staged.chmod(0o755)
        if accept is not None:
            accept(staged)
        dest_dir.mkdir(parents=True, exist_ok=True)
        target = dest_dir / asset.binary
        os.replace(staged, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(
        f"[{asset.label}] {asset.binary}: {_mb(size)} MB downloaded in "
        f"{time.monotonic() - started:.1f}s, SHA-256 verified ({source})"
    )
    return target


def parse_checksums(text: str, filename: str) -> str | None:
    """The SHA-256 (lowercase hex) a sha256sum-style file gives for ``filename``, or None.

    Lines read ``<64 hex>  <name>`` or ``<64 hex> *<name>`` (binary mode); a name with a
    directory is compared by its last part. A file that holds one bare digest and no
    name (some ``<asset>.sha256`` files do) gives that digest.
    """
    entries: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        m = _SHA256_LINE.match(line.strip())
        if m:
            entries.append((m.group(1).lower(), m.group(2)))
    for digest, name in entries:
        if name is not None and name.strip().rsplit("/", 1)[-1] == filename:
            return digest
    if len(entries) == 1 and entries[0][1] is None:
        return entries[0][0]
    return None


def _expected_digest(asset: ReleaseAsset, timeout: float) -> tuple[str, str]:
    """The digest the download must have, and where it comes from (for messages)."""
    if asset.sha256:
        return asset.sha256.lower(), "pinned in harness/runtime/versions.py"
    if asset.checksum_url is None:
        raise ProvisionError(
            f"{asset.filename} cannot be verified: no SHA-256 is pinned for it and its "
            "release has no known checksum file; refusing to use it unverified; pin it in "
            f"harness/runtime/versions.py RELEASE_SHA256, {_INSTEAD}"
        )
    digest = parse_checksums(_read_text(asset.checksum_url, timeout), asset.filename)
    if digest is None:
        raise ProvisionError(
            f"{asset.checksum_url} lists no SHA-256 for {asset.filename}, so the download "
            "cannot be verified; refusing to use it unverified; fix that checksum file, "
            f"{_INSTEAD}"
        )
    return digest, asset.checksum_url


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    # A fresh opener reads the environment's proxy settings now, not at first use.
    opener = urllib.request.build_opener()
    request = urllib.request.Request(url, headers={"User-Agent": "dapr-chaos"})
    try:
        return cast(http.client.HTTPResponse, opener.open(request, timeout=timeout))
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 404 or exc.code >= 500:
            raise DownloadUnavailable(f"{url} answered HTTP {exc.code}") from None
        raise ProvisionError(
            f"downloading {url} was refused: HTTP {exc.code} {exc.reason}; check that this "
            f"machine may reach {_host(url)} (a proxy may refuse it), {_INSTEAD}"
        ) from None
    except urllib.error.URLError as exc:
        raise DownloadUnavailable(f"{url} cannot be reached ({exc.reason})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadUnavailable(f"{url} cannot be reached ({exc})") from None


def _read_text(url: str, timeout: float) -> str:
    with _open(url, timeout) as response:
        try:
            data = response.read(_MAX_CHECKSUM_FILE + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadUnavailable(f"reading {url} broke off ({exc})") from None
    if len(data) > _MAX_CHECKSUM_FILE:
        raise ProvisionError(
            f"{url} is larger than {_MAX_CHECKSUM_FILE} bytes: not a checksum file; "
            f"check the release URL settings, {_INSTEAD}"
        )
    return data.decode("utf-8", errors="replace")


def _download(
    asset: ReleaseAsset, path: Path, timeout: float, progress: Progress
) -> tuple[str, int]:
    """Stream ``asset`` into ``path``; returns its SHA-256 (hex) and its size in bytes."""
    progress(f"[{asset.label}] downloading {asset.url}")
    hasher = hashlib.sha256()
    got = 0
    with _open(asset.url, timeout) as response, open(path, "wb") as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        meter = _Meter(asset, total, progress)
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise _truncated(asset, got, total, f"the transfer broke off: {exc}") from None
            if not chunk:
                break
            out.write(chunk)
            hasher.update(chunk)
            got += len(chunk)
            meter.update(got)
    if total is not None and got != total:
        raise _truncated(asset, got, total, "the server closed the connection early")
    return hasher.hexdigest(), got


def _truncated(asset: ReleaseAsset, got: int, total: int | None, why: str) -> ProvisionError:
    of = f"{got} of {total}" if total is not None else f"{got}"
    return ProvisionError(
        f"{asset.filename} is truncated: {of} bytes arrived ({why}); nothing was kept; "
        f"retry, check any proxy between here and {_host(asset.url)}, {_INSTEAD}"
    )


def _extract(asset: ReleaseAsset, archive: Path, target: Path, source: str) -> None:
    """Copy the one expected member out of ``archive`` into ``target``.

    Only that member is read, and its bytes go to a path chosen here: absolute names,
    ``..`` and links elsewhere in the archive are never written anywhere. The member
    itself must be a regular file (a link is refused).
    """
    assert asset.member is not None
    others: list[str] = []
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for info in tar:
                name = info.name
                while name.startswith("./"):
                    name = name[2:]
                if name != asset.member:
                    others.append(info.name)
                    continue
                if not info.isreg():
                    raise ProvisionError(
                        f"{asset.filename}: {info.name!r} is a "
                        f"{'link' if info.issym() or info.islnk() else 'non-regular file'}, "
                        f"not the binary itself; refused, nothing was kept; {_INSTEAD}"
                    )
                member = tar.extractfile(info)
                assert member is not None  # a regular file always has contents
                with member, open(target, "wb") as out:
                    _copy(member, out)
                return
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ProvisionError(
            f"{asset.filename} is not a readable .tar.gz ({exc}) although its SHA-256 "
            f"matches {source}; nothing was kept; the published archive is broken: "
            f"check the release URL settings, {_INSTEAD}"
        ) from None
    listed = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "") or "nothing"
    raise ProvisionError(
        f"{asset.filename} lacks {asset.member!r} at its root (it holds: {listed}); "
        f"nothing was kept; check that {_host(asset.url)} serves the official archive "
        f"layout, {_INSTEAD}"
    )


def _copy(source: IO[bytes], out: IO[bytes]) -> None:
    while chunk := source.read(_CHUNK):
        out.write(chunk)


class _Meter:
    """Progress lines for one download: every 10 %, or every PROGRESS_EVERY seconds."""

    def __init__(self, asset: ReleaseAsset, total: int | None, progress: Progress) -> None:
        self._asset = asset
        self._total = total
        self._progress = progress
        self._last = time.monotonic()
        self._next_tenth = 1

    def update(self, got: int) -> None:
        now = time.monotonic()
        tenth = got * 10 // self._total if self._total else 0
        if (self._total and tenth >= self._next_tenth) or now - self._last >= PROGRESS_EVERY:
            self._last = now
            self._next_tenth = tenth + 1
            if self._total:
                done = f"{_mb(got)} of {_mb(self._total)} MB ({got * 100 // self._total}%)"
            else:
                done = f"{_mb(got)} MB"
            self._progress(f"[{self._asset.label}] {self._asset.filename}: {done}")


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url
