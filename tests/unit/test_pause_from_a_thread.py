"""A pause failpoint hit on an activity's worker thread holds that thread (Python client).

The SDK runs activities on worker threads. A SIGSTOP sent to the process lands on the main
thread, and the worker ran on past the failpoint until the group stop reached it: 4 of 30
hits of a 0.05 s pause returned early so. The pause now stops the calling thread itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.app._failpoints import FAILPOINTS_ENV
from harness.faults.failpoints import Failpoint, Failpoints

CHILD = r"""
import threading, time
from harness.app import failpoint
took = []
def work():
    for _ in range(30):
        start = time.monotonic()
        failpoint("Slow.before")
        took.append(time.monotonic() - start)
worker = threading.Thread(target=work)
worker.start()
while worker.is_alive():
    sum(range(20000))  # the main thread busy in Python, as a worker process's loop is
print(sum(1 for t in took if t < 0.045), len(took))
"""


def test_a_pause_hit_on_a_worker_thread_holds_it_for_its_seconds(tmp_path: Path) -> None:
    Failpoints(tmp_path / "failpoints").arm(
        Failpoint("Slow.before", "pause", seconds=0.05, count=None)
    )
    env = dict(os.environ, **{FAILPOINTS_ENV: str(tmp_path / "failpoints")})
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "30"], "hits that returned early, of all: " + done.stdout
