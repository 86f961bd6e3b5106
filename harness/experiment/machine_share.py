"""A run that judges throughput has the machine to itself.

Every scenario run holds a shared lock on one file in the harness's state directory
(``<tmp>/dapr-chaos-<uid>/measure.lock``) while its stack starts and it runs; a run that
judges service-level objectives (a scenario with ``slo``) holds it exclusively, and so
does every ``dapr-chaos load``, whose numbers are its point. So a measurement never runs
beside another dapr-chaos run's stack: not another pytest-xdist worker's scenario, not a
second campaign. On two
cores a neighbour under load takes a changing share of the CPU, and the baseline, the dip
and the recovery would measure the neighbour (CI saw a recovery judged against a baseline
taken while the other worker was idle, and fail).

The lock is ``flock(2)``: it goes with its process, so a killed run leaves nothing to
clean up, and the file itself is the state directory's, reused by every run.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.settings import state_dir


def lock_path() -> Path:
    """The one lock file every dapr-chaos run of this user shares."""
    return state_dir() / "measure.lock"


@contextmanager
def machine_share(*, alone: bool, progress: Callable[[str], None]) -> Iterator[None]:
    """Hold the machine for one run: shared, or ``alone`` (no other run beside it). Waits
    as long as it takes, saying so once through ``progress`` (a measurement holds the
    machine for its load, tens of seconds; Ctrl-C ends the wait)."""
    fd = os.open(lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
    mode = fcntl.LOCK_EX if alone else fcntl.LOCK_SH
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            why = (
                "it measures throughput: waiting until no other dapr-chaos run is on this machine"
                if alone
                else "another dapr-chaos run is measuring throughput: waiting until it ends"
            )
            progress(f"  {why} ...")
            began = time.monotonic()
            fcntl.flock(fd, mode)
            progress(f"  waited {time.monotonic() - began:.1f}s for the machine")
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
