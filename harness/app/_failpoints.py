"""Failpoints: named places in app code where the harness can make something happen.

``failpoint("payment.after_effect")`` does nothing unless the harness armed that name.
Arming lives in ``$DAPR_CHAOS_FAILPOINTS/armed.json`` (written by the harness, replaced
atomically); the app re-reads it only when the file changes. Cost when the variable is
unset: one environment lookup; when set but the name is unarmed: one ``stat`` (~1 µs).

Hit and firing counts live in per-name append-only files in the same directory: a crash
(or several app processes) never resets "fire on the Nth hit". Every hit of an armed
failpoint is recorded in the ledger *before* its action runs, so a crash is on record.

Actions: ``crash`` (SIGKILL itself: exit as if killed), ``pause`` (SIGSTOP itself for
``seconds``: a helper in its process group sends SIGCONT), ``delay`` (sleep ``seconds``),
``raise`` (raise :class:`FailpointError` in the calling code), ``trace`` (record only).

The name :data:`EVERY` armed with ``trace`` records every failpoint the app reaches
(names it armed explicitly keep their own arming): how the harness discovers an app's
failpoints and how often a fault-free run hits each.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.app._ledger import append_record, current_scope
from harness.app._records import FailpointHit

FAILPOINTS_ENV = "DAPR_CHAOS_FAILPOINTS"
ARMED_FILE = "armed.json"
ACTIONS = ("crash", "pause", "delay", "raise", "trace")
EVERY = "*"


class FailpointError(RuntimeError):
    """Raised at a failpoint armed with the ``raise`` action."""


@dataclass(frozen=True)
class _Armed:
    action: str
    nth: int
    count: int | None
    probability: float
    seconds: float
    seed: int
    instances: str = ""  # a workflow-instance-id prefix: only hits in those count


_cache_lock = threading.Lock()
_section = threading.Lock()  # one failpoint's count, record and crash at a time
_cache_key: tuple[int, int] | None = None
_cache: dict[str, _Armed] = {}


def _armed(directory: str) -> dict[str, _Armed]:
    global _cache_key, _cache
    try:
        st = os.stat(os.path.join(directory, ARMED_FILE))
    except FileNotFoundError:
        return {}
    key = (st.st_ino, st.st_mtime_ns)
    if key == _cache_key:
        return _cache
    with _cache_lock:
        try:
            with open(os.path.join(directory, ARMED_FILE), encoding="utf-8") as handle:
                raw: dict[str, dict[str, Any]] = json.load(handle)
        except (OSError, ValueError):
            return {}
        _cache = {name: _Armed(**spec) for name, spec in raw.items()}
        _cache_key = key
        return _cache


def _bump(path: Path) -> int:
    """Append one byte; the resulting offset is this caller's unique 1-based count."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, b".")
        return os.lseek(fd, 0, os.SEEK_CUR)
    finally:
        os.close(fd)


def _chance(seed: int, name: str, hit: int) -> float:
    # Deterministic per (seed, name, hit): the same arming replays the same decisions.
    digest = hashlib.sha256(f"{seed}:{name}:{hit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def failpoint(name: str) -> None:
    """Mark a point in app code; act only if the harness armed ``name``."""
    directory = os.environ.get(FAILPOINTS_ENV)
    if not directory:
        return
    armed = _armed(directory)
    spec = armed.get(name) or armed.get(EVERY)
    if spec is None:
        return
    scope = current_scope()
    if spec.instances and (scope is None or not scope.workflow_id.startswith(spec.instances)):
        return  # another test's (or run's) instance: not this arming's, not counted
    base = Path(directory) / name
    # Counting, recording and a crash happen under one lock: a crash that another
    # thread's failpoint sends would otherwise land between this thread's count and its
    # record, using up a ``count`` with no record of it (the harness then sees an armed
    # failpoint that never fired). The crash kills the process with the lock held.
    with _section:
        hit = _bump(base.with_name(name + ".hits"))
        fire = hit >= spec.nth and _chance(spec.seed, name, hit) < spec.probability
        if fire and spec.count is not None:
            fire = _bump(base.with_name(name + ".fired")) <= spec.count
        append_record(
            FailpointHit(
                name,
                hit,
                fire,
                spec.action if fire else None,
                time.time(),
                os.getpid(),
                scope.workflow_id if scope else None,
                scope.activity if scope else None,
                scope.task_execution_id if scope else None,
            )
        )
        if fire and spec.action == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(10)  # SIGKILL is asynchronous; never run past the failpoint
    if not fire:
        return
    if spec.action == "pause":
        # The resumer stays in our process group, so a stack teardown kills it too.
        subprocess.Popen(["sh", "-c", f"sleep {spec.seconds}; kill -CONT {os.getpid()}"])
        # The calling thread's own stop: a process-directed SIGSTOP lands on the main
        # thread, and an activity's worker thread would run on past the failpoint until
        # the group stop reached it. This one stops the caller before it returns.
        signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)
    elif spec.action == "delay":
        time.sleep(spec.seconds)
    elif spec.action == "raise":
        raise FailpointError(f"failpoint {name} raised (hit {hit})")
