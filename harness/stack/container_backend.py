"""The container backend's wiring: which image and mounts each member's container gets.

:class:`ContainerBackend` hands the members the executables' paths inside their images
and turns each member's process into a
:class:`~harness.stack.container.ContainerProcess` running the same command.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from harness.errors import StackError
from harness.runtime.images import HOST_ROOT_ENTRIES, MemberImage
from harness.runtime.provision import Binaries, Binary
from harness.stack.container import ContainerProcess, Mount
from harness.stack.engine import MEMBER_LABEL, OWNER_LABEL, RUN_LABEL, owner_label
from harness.stack.members import Member
from harness.stack.process import ManagedProcess


def _app_mounts(process: ManagedProcess, run_dir: Path, exe: str | None) -> list[Mount]:
    """What the app's container needs read-only: the host's /usr (and /lib... where they
    are real directories), the Python installation and virtualenv, the working directory,
    this package's source, and the directory of the command's executable."""
    paths = [Path("/") / e for e in HOST_ROOT_ENTRIES if (Path("/") / e).is_dir()]
    paths = [p for p in paths if not p.is_symlink()]
    paths += [Path(sys.base_prefix), Path(sys.prefix), Path(__file__).resolve().parents[2]]
    if process.cwd is not None:
        paths.append(process.cwd)
    if exe is not None:
        paths += [Path(exe).parent, Path(exe).resolve().parent]
    mounts: list[Mount] = [(run_dir, "rw")]
    for path in sorted({p.resolve() for p in paths if str(p) != "/"}, key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(m) and mode == "ro" for m, mode in mounts):
            mounts.append((path, "ro"))
    return mounts


class ContainerBackend:
    """Runs a stack's members as containers: hands the members the in-image executable
    paths (:meth:`binaries`) and, once bound to a run (:meth:`bind`), turns each member's
    process into a container (:meth:`adopt`) before the stack starts it."""

    def __init__(self, images: Mapping[str, MemberImage]) -> None:
        self.images = dict(images)
        self.run_id = ""
        self.run_dir: Path | None = None
        self.on_start: Callable[[str], None] | None = None

    def bind(self, run_id: str, run_dir: Path, on_start: Callable[[str], None]) -> None:
        """The run the containers belong to; ``on_start`` records each container id."""
        self.run_id = run_id
        self.run_dir = run_dir
        self.on_start = on_start

    def binaries(self) -> Binaries:
        """Binaries whose paths are the executables inside the member images."""

        def binary(member: str, tool: str) -> Binary:
            image = self.images[member]
            tag = image.ref.rsplit(":", 1)[-1]
            return Binary(tool, Path(image.executable), tag, f"image {image.ref}")

        return Binaries(
            valkey=binary("valkey", "valkey-server"),
            daprd=binary("daprd", "daprd"),
            placement=binary("placement", "placement"),
            scheduler=binary("scheduler", "scheduler"),
            toxiproxy=binary("toxiproxy", "toxiproxy-server"),
        )

    def adopt(self, member: Member) -> None:
        """Replace ``member``'s local process by a container running the same command."""
        process = member.process
        if not isinstance(process, ManagedProcess) or process.log_path is None:
            return  # already adopted
        if self.run_dir is None:
            raise StackError("the container backend is not bound to a run")
        env = dict(process.env or {})
        argv = list(process.argv)
        if member.name == "app":
            # Resolved on the host: the container sees the same paths, read-only.
            exe = shutil.which(argv[0], path=env.get("PATH"))
            argv[0] = exe or argv[0]
            mounts = _app_mounts(process, self.run_dir, exe)
            cwd = process.cwd or Path.cwd()
        else:
            # Services get only Dapr's own variables, not the harness's environment.
            env = {k: v for k, v in env.items() if k.startswith("DAPR_")}
            mounts = [(self.run_dir, "rw")]
            cwd = None
        member.process = ContainerProcess(
            member.name,
            self.images[member.name].ref,
            argv,
            log_path=process.log_path,
            container_name=f"dapr-chaos-{self.run_id}-{member.name}",
            env=env,
            cwd=cwd,
            mounts=mounts,
            labels={
                RUN_LABEL: self.run_id,
                OWNER_LABEL: owner_label(),
                MEMBER_LABEL: member.name,
            },
            on_start=self.on_start,
        )
