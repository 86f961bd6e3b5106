"""build_go_app: once into the cache, keyed on the sources (local replace targets
included), never rebuilt, nothing half-written left behind; the wheel ships the sources."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from harness.errors import ConfigError, ProvisionError
from harness.runtime import goapps
from harness.runtime.goapps import SHIPPED_APPS, build_go_app, shipped_source, source_hash
from harness.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="the Go toolchain is not on PATH")


def settings(cache: Path, **changes: object) -> Settings:
    return dataclasses.replace(Settings.from_env(), cache_dir=cache, **changes)  # type: ignore[arg-type]


def write_module(root: Path, greeting: str = "hello", *, broken: bool = False) -> Path:
    """A stdlib-only app module using a sibling library module through a local replace."""
    (root / "lib").mkdir(parents=True, exist_ok=True)
    (root / "lib" / "go.mod").write_text("module example.local/lib\n\ngo 1.22\n")
    (root / "lib" / "lib.go").write_text(
        f'package lib\n\nfunc Greeting() string {{ return "{greeting}" }}\n'
    )
    app = root / "app"
    app.mkdir(exist_ok=True)
    (app / "go.mod").write_text(
        "module example.local/app\n\ngo 1.22\n\nrequire example.local/lib v0.0.0\n\n"
        "replace example.local/lib => ../lib\n"
    )
    body = "undefined()" if broken else "fmt.Println(lib.Greeting())"
    (app / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.local/lib"\n)\n\n'
        f"var _ = fmt.Sprint\nvar _ = lib.Greeting\n\nfunc main() {{ {body} }}\n"
    )
    return app


def test_the_wheel_ships_every_source_of_the_shipped_apps() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["harness"]
    package = ROOT / "harness"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    for name in SHIPPED_APPS:
        _root, files = goapps._source_files(goapps._modules(shipped_source(name)))
        assert files and set(files) <= shipped, set(files) - shipped
    assert package / "app" / "PROTOCOL.md" in shipped
    assert package / "app" / "clients" / "js" / "daprchaos.js" in shipped


def test_the_hash_covers_local_replace_targets(tmp_path: Path) -> None:
    app = write_module(tmp_path)
    before = source_hash(app)
    write_module(tmp_path, "changed")  # only the library changes
    assert source_hash(app) != before
    chain = ROOT / "tests" / "apps" / "go_chain"
    client = ROOT / "harness" / "app" / "clients" / "go" / "daprchaos"
    assert client in goapps._modules(chain)


@needs_go
def test_built_once_never_rebuilt_and_rebuilt_for_new_sources(tmp_path: Path) -> None:
    app = write_module(tmp_path / "src")
    lines: list[str] = []
    binary = build_go_app(settings(tmp_path / "cache"), "hello", source=app, progress=lines.append)
    assert binary == tmp_path / "cache" / "apps" / f"hello-{source_hash(app)}" / "hello"
    assert subprocess.run([binary], capture_output=True, text=True).stdout == "hello\n"
    assert lines[0].startswith("[go app hello] building") and "built in" in lines[-1]
    built_at = binary.stat().st_mtime_ns

    again: list[str] = []
    # A present binary needs no toolchain at all.
    no_go = settings(tmp_path / "cache", go="/nonexistent/go")
    assert build_go_app(no_go, "hello", source=app, progress=again.append) == binary
    assert again == [] and binary.stat().st_mtime_ns == built_at

    write_module(tmp_path / "src", "bonjour")
    changed = build_go_app(settings(tmp_path / "cache"), "hello", source=app, progress=again.append)
    assert changed != binary and binary.exists()
    assert subprocess.run([changed], capture_output=True, text=True).stdout == "bonjour\n"
    # Scratch copies are gone; only the lock files stay.
    assert {p.suffix for p in (tmp_path / "cache" / "build").iterdir()} == {".lock"}


@needs_go
def test_a_failed_build_is_one_error_and_leaves_nothing(tmp_path: Path) -> None:
    app = write_module(tmp_path / "src", broken=True)
    with pytest.raises(
        ProvisionError, match=r"(?s)building the go app hello failed .*undefined: undefined"
    ):
        build_go_app(settings(tmp_path / "cache"), "hello", source=app, progress=lambda _: None)
    assert list((tmp_path / "cache" / "apps").iterdir()) == []
    assert {p.suffix for p in (tmp_path / "cache" / "build").iterdir()} == {".lock"}


def test_missing_go_or_no_build_is_one_provision_error(tmp_path: Path) -> None:
    app = write_module(tmp_path / "src")
    with pytest.raises(ProvisionError, match=r"Go toolchain .* not found.*DAPR_CHAOS_GO"):
        build_go_app(settings(tmp_path / "cache", go="/nonexistent/go"), "hello", source=app)
    with pytest.raises(ProvisionError, match="DAPR_CHAOS_NO_BUILD"):
        build_go_app(settings(tmp_path / "cache", allow_build=False), "hello", source=app)
    assert not (tmp_path / "cache" / "apps").exists()


def test_bad_names_and_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid"):
        build_go_app(settings(tmp_path), "Seed Go")
    with pytest.raises(ConfigError, match="shipped: seed_go"):
        build_go_app(settings(tmp_path), "nope")
    with pytest.raises(ConfigError, match="not a Go module"):
        build_go_app(settings(tmp_path), "nope", source=tmp_path)
