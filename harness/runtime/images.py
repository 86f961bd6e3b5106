"""Container images for the container backend: which image runs each member, and the
local images built offline from the binaries the harness provisions.

Two image sets (``StackConfig.images``):

``upstream``
    the images a user would pull where a registry is reachable: ``daprio/daprd``,
    ``daprio/placement``, ``daprio/scheduler`` at the pinned runtime, ``valkey/valkey:9``
    and ``ghcr.io/shopify/toxiproxy``. Pulled when missing.
``local``
    ``dapr-chaos/<name>:<version>``, built by ``dapr-chaos images build`` with no base
    image and no registry: a tar holding the provisioned binary at the path the upstream
    image uses, the shared libraries ``ldd`` names for it, and an empty ``/tmp``, loaded
    with ``docker import``. No Dockerfile and no builder, so the build cache never grows.
    Each image carries a fingerprint of its inputs (paths, sizes, mtimes): a build skips
    images whose fingerprint is current.

The app image ``dapr-chaos/app`` is local in both sets (there is no upstream one): an
empty root with the host's top-level symlinks (``/lib -> usr/lib`` on merged-/usr
systems) and mount points. The app container bind-mounts the host's ``/usr``, Python
installation, virtualenv and working directory read-only, so it runs the same
interpreter and packages as the process backend without copying ~1 GB into an image.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError, ProvisionError
from harness.runtime import versions
from harness.runtime.gobuild import Progress, stderr_progress
from harness.settings import Settings

if TYPE_CHECKING:
    import tarfile

# Provisioning (and its HTTP, TLS and archive modules) and tarfile are imported by the
# functions that build images: the stack options import IMAGE_SETS from here on every
# pytest run, through the plugin.

IMAGE_SETS = ("upstream", "local")
MEMBERS = ("toxiproxy", "valkey", "placement", "scheduler", "daprd", "app")
FINGERPRINT_LABEL = "dapr-chaos.fingerprint"
# Bump when the layout of the local images changes: every image is rebuilt once.
RECIPE_VERSION = "1"
APP_IMAGE = "dapr-chaos/app:1"
# Host top-level entries an app container may need: symlinks are copied into the image,
# real directories become mount points bind-mounted read-only at run time.
HOST_ROOT_ENTRIES = ("usr", "lib", "lib32", "lib64", "bin", "sbin")

_TOOL_OF = {
    "toxiproxy": "toxiproxy-server",
    "valkey": "valkey-server",
    "placement": "placement",
    "scheduler": "scheduler",
    "daprd": "daprd",
}
_IN_IMAGE = {
    "toxiproxy": "/toxiproxy",
    "valkey": "/usr/local/bin/valkey-server",
    "placement": "/placement",
    "scheduler": "/scheduler",
    "daprd": "/daprd",
}
UPSTREAM = {
    "toxiproxy": f"ghcr.io/shopify/toxiproxy:{versions.TOXIPROXY}",
    "valkey": "valkey/valkey:9",
    "placement": f"daprio/placement:{versions.DAPR_RUNTIME}",
    "scheduler": f"daprio/scheduler:{versions.DAPR_RUNTIME}",
    "daprd": f"daprio/daprd:{versions.DAPR_RUNTIME}",
}


@dataclass(frozen=True)
class MemberImage:
    """The image that runs ``member`` and the absolute path of its executable in it
    (``""`` for the app, whose command is the user's)."""

    member: str
    ref: str
    executable: str


@dataclass(frozen=True)
class Recipe:
    """What goes into one local image: files (image path -> host path), empty
    directories (image path -> mode) and symlinks (image path -> target)."""

    member: str
    ref: str
    files: Mapping[str, Path] = field(default_factory=dict)
    dirs: Mapping[str, int] = field(default_factory=dict)
    symlinks: Mapping[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Hash of the recipe and of each input file's size and mtime (ns)."""
        inputs: list[Any] = [RECIPE_VERSION, self.ref, sorted(self.dirs.items())]
        inputs.append(sorted(self.symlinks.items()))
        for dest, src in sorted(self.files.items()):
            st = src.stat()
            inputs.append([dest, str(src), st.st_size, st.st_mtime_ns, st.st_mode & 0o777])
        return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:32]

    def size(self) -> int:
        return sum(src.stat().st_size for src in self.files.values())


def check_image_set(images: str) -> None:
    if images not in IMAGE_SETS:
        raise ConfigError(
            f"image set {images!r} is invalid; choose one of {', '.join(IMAGE_SETS)} "
            "(local: built offline by `dapr-chaos images build`)"
        )


def _valkey_version(settings: Settings) -> str:
    from harness.runtime.provision import locate

    binary = locate(settings, "valkey-server")
    version = binary.version if binary is not None else ""
    return version or "unknown"


def local_ref(member: str, settings: Settings) -> str:
    """``dapr-chaos/<member>:<version>`` of the local image."""
    if member == "app":
        return APP_IMAGE
    if member == "valkey":
        return f"dapr-chaos/valkey:{_valkey_version(settings)}"
    if member == "toxiproxy":
        return f"dapr-chaos/toxiproxy:{versions.TOXIPROXY}"
    return f"dapr-chaos/{member}:{versions.DAPR_RUNTIME}"


def member_images(images: str, settings: Settings) -> dict[str, MemberImage]:
    """The image of every member in image set ``images`` (``upstream`` or ``local``)."""
    check_image_set(images)
    found = {"app": MemberImage("app", APP_IMAGE, "")}
    for member, executable in _IN_IMAGE.items():
        ref = UPSTREAM[member] if images == "upstream" else local_ref(member, settings)
        found[member] = MemberImage(member, ref, executable)
    return found


def shared_libraries(binary: Path) -> dict[str, Path]:
    """Image path -> host file of every shared library ``binary`` loads ({} if static)."""
    try:
        out = subprocess.run(
            ["ldd", str(binary)], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProvisionError(f"cannot run ldd on {binary}: {exc}") from exc
    libs: dict[str, Path] = {}
    for line in out.splitlines():
        # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux... (0x...)"
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            libs[m.group(1)] = Path(m.group(1)).resolve()
    return libs


def app_recipe() -> Recipe:
    """The app image: the host's top-level symlinks and mount points, nothing else."""
    symlinks: dict[str, str] = {}
    dirs: dict[str, int] = {"/tmp": 0o1777, "/etc": 0o755}
    for entry in HOST_ROOT_ENTRIES:
        host = Path("/") / entry
        if host.is_symlink():
            symlinks[f"/{entry}"] = os.readlink(host)
        elif host.is_dir():
            dirs[f"/{entry}"] = 0o755
    return Recipe("app", APP_IMAGE, dirs=dirs, symlinks=symlinks)


def local_recipes(
    settings: Settings,
    only: Iterable[str] = MEMBERS,
    *,
    progress: Progress = stderr_progress,
) -> list[Recipe]:
    """Recipes of the local images in ``only``; provisions (maybe builds) the binaries."""
    from harness.runtime.provision import ALL_TOOLS, provision

    wanted = [m for m in MEMBERS if m in set(only)]
    tools = [_TOOL_OF[m] for m in wanted if m in _TOOL_OF]
    binaries = provision(settings, [t for t in ALL_TOOLS if t in tools], progress=progress)
    recipes = []
    for member in wanted:
        if member == "app":
            recipes.append(app_recipe())
            continue
        binary = binaries[_TOOL_OF[member]].path
        files = {_IN_IMAGE[member]: binary.resolve(), **shared_libraries(binary)}
        recipes.append(
            Recipe(member, local_ref(member, settings), files=files, dirs={"/tmp": 0o1777})
        )
    return recipes


def _tar_entry(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    import tarfile

    info = tarfile.TarInfo(name.lstrip("/"))
    info.type = kind
    info.mode = mode
    info.mtime = 0  # deterministic: the same inputs give the same layer
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_rootfs(recipe: Recipe, out: Path) -> None:
    """Write the image's root filesystem as a tar: sorted entries, zero mtimes and owners."""
    dirs: dict[str, int] = dict(recipe.dirs)
    for path in [*recipe.files, *recipe.symlinks]:
        parent = Path(path).parent
        while str(parent) != "/":
            dirs.setdefault(str(parent), 0o755)
            parent = parent.parent
    import tarfile

    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        for path, mode in sorted(dirs.items()):
            tar.addfile(_tar_entry(path, tarfile.DIRTYPE, mode))
        for path, target in sorted(recipe.symlinks.items()):
            info = _tar_entry(path, tarfile.SYMTYPE, 0o777)
            info.linkname = target
            tar.addfile(info)
        for path, src in sorted(recipe.files.items()):
            info = _tar_entry(path, tarfile.REGTYPE, src.stat().st_mode & 0o755)
            info.size = src.stat().st_size
            with open(src, "rb") as handle:
                tar.addfile(info, handle)


def _client() -> Any:
    from harness.runtime.engine import docker_client

    return docker_client()


def image_labels(client: Any, ref: str) -> dict[str, str] | None:
    """Labels of image ``ref`` (None when it is not present)."""
    import docker.errors

    try:
        image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None
    return dict(image.labels or {})


def _build_one(client: Any, recipe: Recipe, work: Path, progress: Progress) -> None:
    import docker.errors

    old_id = None
    with contextlib.suppress(docker.errors.ImageNotFound):
        old_id = client.images.get(recipe.ref).id
    started = time.monotonic()
    progress(f"[images] {recipe.ref}: building ({recipe.size() / 1e6:.0f} MB)")
    tar_path = work / f"{recipe.member}.tar"
    try:
        write_rootfs(recipe, tar_path)
        repository, tag = recipe.ref.rsplit(":", 1)
        changes = [f"LABEL {FINGERPRINT_LABEL}={recipe.fingerprint()}", "WORKDIR /"]
        executable = _IN_IMAGE.get(recipe.member)
        if executable:
            changes.append(f"ENTRYPOINT {json.dumps([executable])}")
        client.api.import_image_from_file(
            str(tar_path), repository=repository, tag=tag, changes=changes
        )
    finally:
        tar_path.unlink(missing_ok=True)
    new_id = client.images.get(recipe.ref).id
    if old_id and old_id != new_id:
        # The old image is now untagged: remove it rather than leave a dangling image.
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(old_id)
    progress(f"[images] {recipe.ref}: built in {time.monotonic() - started:.1f}s")


def build_images(
    settings: Settings,
    only: Iterable[str] = MEMBERS,
    *,
    progress: Progress = stderr_progress,
) -> list[str]:
    """Build the local images in ``only`` that are missing or out of date (idempotent,
    one builder at a time across processes). Returns the refs actually built."""
    recipes = local_recipes(settings, only, progress=progress)
    client = _client()
    work = settings.cache_dir / "images"
    work.mkdir(parents=True, exist_ok=True)
    built = []
    with open(work / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            for recipe in recipes:
                labels = image_labels(client, recipe.ref)
                if labels is not None and labels.get(FINGERPRINT_LABEL) == recipe.fingerprint():
                    progress(f"[images] {recipe.ref}: up to date")
                    continue
                _build_one(client, recipe, Path(tmp), progress)
                built.append(recipe.ref)
    return built


def list_images(settings: Settings) -> list[tuple[str, str, str, str]]:
    """One row per member and image set: (member, image, status, size). Never builds."""
    client = _client()
    rows = []
    for images in IMAGE_SETS:
        for member, image in member_images(images, settings).items():
            if images == "upstream" and member == "app":
                continue
            try:
                found = client.images.get(image.ref)
            except Exception:
                rows.append((member, image.ref, "missing", ""))
                continue
            size = f"{found.attrs.get('Size', 0) / 1e6:.0f} MB"
            rows.append((member, image.ref, "present", size))
    return rows


def ensure_images(images: str, settings: Settings, *, progress: Progress = stderr_progress) -> None:
    """Make sure every image of set ``images`` is present: pull missing upstream ones,
    build the (tiny) app image; otherwise one ConfigError saying what to run."""
    check_image_set(images)
    client = _client()
    if image_labels(client, APP_IMAGE) is None:
        build_images(settings, ["app"], progress=progress)
    for member, image in member_images(images, settings).items():
        if member == "app" or image_labels(client, image.ref) is not None:
            continue
        if images == "local":
            raise ConfigError(
                f"local image {image.ref} is missing; run `dapr-chaos images build` first"
            )
        progress(f"[images] pulling {image.ref}")
        try:
            client.images.pull(image.ref)
        except Exception as exc:
            reason = str(getattr(exc, "explanation", None) or exc).splitlines()[0][:200]
            raise ConfigError(
                f"image {image.ref} is missing and cannot be pulled ({reason}); build local "
                "images with `dapr-chaos images build` and pass `--images local`"
            ) from exc
