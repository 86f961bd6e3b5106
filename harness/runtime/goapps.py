"""Build Go workflow apps into the cache, once: the ones dapr-chaos ships, and test apps.

A shipped app is a Go module inside the installed package (``harness/reference_apps/<name>``, found
with :mod:`importlib.resources`); a test app is any Go module directory. Either may use
the Go protocol client (``harness/app/clients/go/daprchaos``) through a ``replace``
directive with a relative path.

The binary lands in ``<cache>/apps/<name>-<hash>/<name>``, where the hash covers the
source files of the module and of every local replace target: a changed source builds
anew, an unchanged one is never rebuilt (and needs no Go toolchain). The build copies the
sources into a scratch directory (the installed package may be read-only, and ``go``
must not touch it), runs ``go build -mod=readonly`` there (go.sum is shipped: nothing is
resolved anew), and renames the finished directory into place, so an interrupted build
leaves nothing in the cache that looks finished.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.resources
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from harness.errors import ConfigError, ProvisionError
from harness.runtime.gobuild import Progress, stderr_progress
from harness.settings import Settings

SHIPPED_APPS = ("seed_go",)
"""Go apps in ``harness/reference_apps/``: ``seed_go`` is the article's OrderProcessing in Go."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SOURCE_FILES = ("*.go", "go.mod", "go.sum")
# A line of `go build -v` that names a package (errors have spaces and colons).
_PACKAGE = re.compile(r"[\w.~/-]+")
# `replace X => ../path` or `=> ./path` (alone or in a replace block): a local module.
_LOCAL_REPLACE = re.compile(r"=>\s*(\.{1,2}/\S+|/\S+)\s*$", re.M)


def shipped_source(name: str) -> Path:
    """The source directory of shipped app ``name`` inside the installed package."""
    if name not in SHIPPED_APPS:
        raise ConfigError(
            f"no Go app named {name!r} ships with dapr-chaos; shipped: "
            + ", ".join(SHIPPED_APPS)
            + " (pass source= to build a Go module of your own)"
        )
    found = importlib.resources.files("harness").joinpath("reference_apps", name)
    if not isinstance(found, Path) or not (found / "go.mod").is_file():
        raise ProvisionError(
            f"the sources of the Go app {name} are not in the installed dapr-chaos package "
            f"(looked in {found}); reinstall dapr-chaos from a wheel or a checkout"
        )
    return found


def _modules(source: Path) -> list[Path]:
    """``source`` and every module it (transitively) replaces with a local path."""
    found: list[Path] = []
    pending = [source.resolve()]
    while pending:
        module = pending.pop()
        if module in found:
            continue
        go_mod = module / "go.mod"
        if not go_mod.is_file():
            raise ConfigError(f"{module} is not a Go module (no go.mod)")
        found.append(module)
        for target in _LOCAL_REPLACE.findall(go_mod.read_text()):
            pending.append((module / target).resolve())
    return found


def _source_files(modules: list[Path]) -> tuple[Path, list[Path]]:
    """The directory the modules share and their source files, sorted."""
    root = Path(os.path.commonpath(modules))
    files = sorted(
        {path for module in modules for pattern in _SOURCE_FILES for path in module.rglob(pattern)}
    )
    return root, files


def source_hash(source: Path) -> str:
    """12 hex digits of SHA-256 over the relative paths and contents of the app's sources
    and of its local replace targets."""
    root, files = _source_files(_modules(source))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def app_binary_path(settings: Settings, name: str, source: Path) -> Path:
    """Where the binary of ``name`` built from ``source`` lives (or will) in the cache."""
    return settings.cache_dir / "apps" / f"{name}-{source_hash(source)}" / name


def build_go_app(
    settings: Settings,
    name: str,
    *,
    source: Path | None = None,
    progress: Progress = stderr_progress,
) -> Path:
    """The path of Go app ``name``'s binary, built into the cache if it is not there yet.

    ``source=None`` builds the shipped app ``name`` (one of :data:`SHIPPED_APPS`);
    otherwise ``source`` is the directory of a Go module (a test app) and ``name`` the
    binary's name. The build runs once, under a file lock (pytest-xdist workers asking at
    the same time wait for one build), and never when the binary is present. Raises
    ProvisionError when Go is missing, building is disabled (``DAPR_CHAOS_NO_BUILD``) or
    the build fails; ConfigError for a bad name or source.
    """
    if not _NAME.match(name):
        raise ConfigError(
            f"Go app name {name!r} is invalid; use 1-64 lowercase letters, digits, '_' and '-'"
        )
    source = shipped_source(name) if source is None else Path(source)
    binary = app_binary_path(settings, name, source)
    if _executable(binary):
        return binary
    if not settings.allow_build:
        raise ProvisionError(
            f"the Go app {name} is not built ({binary} is missing) and building is disabled "
            "(DAPR_CHAOS_NO_BUILD=1); unset it to build the app once"
        )
    go = shutil.which(settings.go)
    if go is None:
        raise ProvisionError(
            f"the Go toolchain ({settings.go!r}) was not found, and the Go app {name} must be "
            "built once; install Go >= 1.26 or set DAPR_CHAOS_GO to its path"
        )
    lock_dir = settings.cache_dir / "build"
    lock_dir.mkdir(parents=True, exist_ok=True)
    label = f"go app {name}"
    with open(lock_dir / f"app-{binary.parent.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"[{label}] another process is building it; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not _executable(binary):
            _build(
                go, name, source, binary, lock_dir / f"app-{binary.parent.name}", label, progress
            )
    return binary


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _build(
    go: str, name: str, source: Path, binary: Path, scratch: Path, label: str, progress: Progress
) -> None:
    root, files = _source_files(_modules(source))
    if scratch.exists():
        shutil.rmtree(scratch)
    for path in files:
        copy = scratch / path.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    partial = binary.parent.with_name(binary.parent.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        _go_build(go, scratch / source.resolve().relative_to(root), partial / name, label, progress)
        if binary.parent.exists():
            shutil.rmtree(binary.parent)
        partial.rename(binary.parent)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _go_build(go: str, module: Path, output: Path, label: str, progress: Progress) -> None:
    env = dict(os.environ, CGO_ENABLED="0")
    cmd = [go, "build", "-mod=readonly", "-trimpath", "-buildvcs=false", "-ldflags=-s -w"]
    cmd += ["-v", "-o", str(output), "."]
    progress(f"[{label}] building (the first build downloads modules: expect a minute)")
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=module, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    counts = {"downloaded": 0, "compiled": 0}
    tail: list[str] = []
    done = threading.Event()

    def ticker() -> None:
        while not done.wait(10.0):
            progress(
                f"[{label}] {time.monotonic() - started:.0f}s, {counts['downloaded']} modules "
                f"downloaded, {counts['compiled']} packages compiled"
            )

    threading.Thread(target=ticker, daemon=True).start()
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            line = raw.rstrip()
            if line.startswith("go: downloading"):
                counts["downloaded"] += 1
            elif "/" in line and _PACKAGE.fullmatch(line):
                counts["compiled"] += 1  # `go build -v` names each package it compiles
            else:
                tail = [*tail, line][-30:]
        rc = proc.wait()
    finally:
        done.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if rc != 0:
        raise ProvisionError(
            f"building the {label} failed (go build exit {rc}); its output ends with:\n"
            + "\n".join(tail)
        )
    progress(f"[{label}] built in {time.monotonic() - started:.0f}s")
