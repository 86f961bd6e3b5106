"""Build Go commands from the Go module proxy into a per-version cache directory.

Upstream modules with ``replace`` directives cannot be ``go install``-ed. We write a
small wrapper module of our own (in the cache, never in the repository) that requires
the upstream module at the pinned version, repeats its require and replace directives,
starts from its go.sum, and builds the wanted packages. Nothing of the upstream source is
copied: Go fetches it into its own module cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ProvisionError

Progress = Callable[[str], None]


def stderr_progress(line: str) -> None:
    """Default progress sink: one line on stderr, flushed at once."""
    print(line, file=sys.__stderr__ or sys.stderr, flush=True)


@dataclass(frozen=True)
class LocalShim:
    """A stand-in module written into the wrapper for a module the proxy refuses to serve."""

    module: str
    files: dict[str, str]


@dataclass(frozen=True)
class GoCommandSpec:
    """What to build: ``packages`` of ``module`` at ``version``, named ``outputs``.

    ``outputs`` maps each package path to the file name it gets in the cache.
    ``replace`` adds replace directives after upstream's own (last one wins).
    ``drop_replace`` removes upstream replace directives whose left side starts with it.
    """

    label: str
    module: str
    version: str
    outputs: dict[str, str]
    tags: Sequence[str] = ()
    ldflags: Sequence[str] = ()
    replace: dict[str, str] = field(default_factory=dict)
    drop_replace: Sequence[str] = ()
    shims: Sequence[LocalShim] = ()


def _module_ref(ref: dict[str, str]) -> str:
    return f"{ref['Path']} {ref['Version']}" if ref.get("Version") else ref["Path"]


class GoToolchain:
    """One Go toolchain (``go`` on PATH or an explicit path), used for builds."""

    def __init__(self, go: str) -> None:
        resolved = shutil.which(go)
        if resolved is None:
            raise ProvisionError(
                f"the Go toolchain ({go!r}) was not found, and a Dapr binary must be built; "
                "either install Go >= 1.26 (or set DAPR_CHAOS_GO to its path), or run "
                "`dapr init --slim` so that ~/.dapr/bin holds daprd, placement and scheduler "
                "at the pinned version"
            )
        self.path = resolved

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["CGO_ENABLED"] = "0"
        env.setdefault("GOFLAGS", "-mod=mod")
        return env

    def parse_mod(self, go_mod: Path) -> dict[str, Any]:
        """A go.mod file as ``go mod edit -json`` sees it."""
        proc = subprocess.run(
            [self.path, "mod", "edit", "-json", str(go_mod)],
            capture_output=True,
            text=True,
            env=self._env(),
            check=False,
        )
        if proc.returncode != 0:
            raise ProvisionError(f"cannot parse {go_mod}: {proc.stderr.strip()}")
        parsed: dict[str, Any] = json.loads(proc.stdout)
        return parsed

    def download(self, module: str, version: str) -> dict[str, str]:
        """``go mod download -json`` of one module; returns its JSON description."""
        proc = subprocess.run(
            [self.path, "mod", "download", "-json", f"{module}@v{version}"],
            capture_output=True,
            text=True,
            env=self._env(),
            cwd=tempfile.gettempdir(),
            check=False,
        )
        try:
            info: dict[str, str] = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError:
            info = {}
        if proc.returncode != 0 or "Error" in info or "GoMod" not in info:
            why = info.get("Error") or proc.stderr.strip().splitlines()[-1:] or ["unknown error"]
            raise ProvisionError(
                f"could not download {module}@v{version} from the Go module proxy: {why}; "
                "check network access to the proxy (GOPROXY) or provide the binaries yourself"
            )
        return info

    def build(self, spec: GoCommandSpec, out_dir: Path, work_dir: Path, progress: Progress) -> None:
        """Build ``spec`` into ``out_dir`` (created), using ``work_dir`` for the wrapper."""
        progress(f"[{spec.label}] fetching {spec.module}@v{spec.version} metadata")
        info = self.download(spec.module, spec.version)
        upstream_sum_path = Path(info["Dir"]) / "go.sum"
        upstream_sum = upstream_sum_path.read_text() if upstream_sum_path.exists() else ""

        parsed = self.parse_mod(Path(info["GoMod"]))
        requires = [_module_ref(r) for r in parsed.get("Require") or []]
        replaces = [
            f"{_module_ref(r['Old'])} => {_module_ref(r['New'])}"
            for r in parsed.get("Replace") or []
            if not any(r["Old"]["Path"].startswith(prefix) for prefix in spec.drop_replace)
        ]
        lines = [
            "module daprchaos.local/build",
            "",
            f"go {parsed.get('Go') or '1.22'}",
            "",
            "require (",
            f"\t{spec.module} v{spec.version}",
            *(f"\t{r}" for r in requires),
            ")",
            "",
            "replace (",
            *(f"\t{r}" for r in replaces),
            *(f"\t{left} => {right}" for left, right in spec.replace.items()),
            *(f"\t{shim.module} => ./shim/{i}" for i, shim in enumerate(spec.shims)),
            ")",
            "",
        ]
        if work_dir.exists():
            shutil.rmtree(work_dir)
        work_dir.mkdir(parents=True)
        (work_dir / "go.mod").write_text("\n".join(lines))
        (work_dir / "go.sum").write_text(
            upstream_sum
            + f"{spec.module} v{spec.version} {info['Sum']}\n"
            + f"{spec.module} v{spec.version}/go.mod {info['GoModSum']}\n"
        )
        for i, shim in enumerate(spec.shims):
            shim_dir = work_dir / "shim" / str(i)
            shim_dir.mkdir(parents=True)
            (shim_dir / "go.mod").write_text(f"module {shim.module}\n\ngo 1.22\n")
            for name, body in shim.files.items():
                (shim_dir / name).write_text(body)

        tmp_out = out_dir.with_name(out_dir.name + ".partial")
        if tmp_out.exists():
            shutil.rmtree(tmp_out)
        tmp_out.mkdir(parents=True)
        for package, output in spec.outputs.items():
            self._build_one(spec, package, tmp_out / output, work_dir, progress)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp_out.rename(out_dir)

    def _build_one(
        self, spec: GoCommandSpec, package: str, output: Path, work_dir: Path, progress: Progress
    ) -> None:
        cmd = [self.path, "build", "-v", "-trimpath", "-o", str(output)]
        if spec.tags:
            cmd += ["-tags", ",".join(spec.tags)]
        cmd += ["-ldflags", " ".join(["-s", "-w", *spec.ldflags])]
        cmd.append(package)
        progress(
            f"[{spec.label}] building {output.name} (first build downloads and compiles "
            "a lot: expect minutes; later runs reuse the cache)"
        )
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=work_dir,
            env=self._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        counts = {"downloaded": 0, "compiled": 0}
        tail: list[str] = []
        done = threading.Event()

        def ticker() -> None:
            while not done.wait(10.0):
                progress(
                    f"[{spec.label}] {output.name}: {time.monotonic() - started:.0f}s, "
                    f"{counts['downloaded']} modules downloaded, "
                    f"{counts['compiled']} packages compiled"
                )

        thread = threading.Thread(target=ticker, daemon=True)
        thread.start()
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                line = line.rstrip()
                if line.startswith("go: downloading"):
                    counts["downloaded"] += 1
                elif line and not line.startswith(("go:", "#", " ", "\t")) and "/" in line:
                    counts["compiled"] += 1
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
                f"building {package}@v{spec.version} failed (go build exit {rc}):\n"
                + "\n".join(tail)
            )
        progress(f"[{spec.label}] built {output.name} in {time.monotonic() - started:.0f}s")
