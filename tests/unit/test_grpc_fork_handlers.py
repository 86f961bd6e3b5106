"""The harness forks only to exec, so gRPC's fork handlers are off in its processes
(harness/__init__.py): with them on, a child forked beside a gRPC channel can abort before
its exec (grpc/grpc#43055; a Locust worker died so in CI). The app under test keeps the
environment it would have had."""

from __future__ import annotations

import os
import subprocess
import sys

# A gRPC channel in use on other threads while the process spawns children the way
# ManagedProcess does (preexec_fn: fork, then exec). gRPC logs each fork its handlers
# see ("skipping fork() handlers" while other threads call into it).
SPAWNS = """
import sys
if sys.argv[1] == "harness":
    import harness  # noqa: F401
import ctypes, signal, subprocess, threading
from concurrent import futures
import grpc

server = grpc.server(futures.ThreadPoolExecutor(2))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
call = grpc.insecure_channel(f"127.0.0.1:{port}").unary_unary("/x.Y/Z")
done = threading.Event()

def busy():
    while not done.is_set():
        try:
            call(b"", timeout=0.05)
        except grpc.RpcError:
            pass

threading.Thread(target=busy, daemon=True).start()
for _ in range(40):
    subprocess.Popen(["true"], preexec_fn=lambda: None).wait()
done.set()
"""


def fork_handler_lines(first: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRPC_", "DAPR_CHAOS_GRPC"))}
    env["GRPC_VERBOSITY"] = "INFO"
    out = subprocess.run(
        [sys.executable, "-c", SPAWNS, first], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stderr.count("fork_posix")


def test_importing_the_harness_turns_grpcs_fork_handlers_off() -> None:
    assert fork_handler_lines("plain") > 0  # on by default: the premise of the fix
    assert fork_handler_lines("harness") == 0


def test_the_app_under_test_does_not_inherit_the_harness_setting() -> None:
    from harness.stack.stack import without_harness_grpc_setting

    ours = {"GRPC_ENABLE_FORK_SUPPORT": "false", "DAPR_CHAOS_GRPC_FORK_OFF": "1", "A": "1"}
    assert without_harness_grpc_setting(ours) == {"A": "1"}
    users = {"GRPC_ENABLE_FORK_SUPPORT": "true", "A": "1"}
    assert without_harness_grpc_setting(users) == users
