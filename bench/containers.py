"""The container backend against the process backend, measured side by side in one run.

1. Start to workflow-ready, alternating process and container stacks (same binaries;
   the container stack uses the local images), N of each: medians and their ratio.
2. A batch of orders on each kind of stack: seconds until all are COMPLETED, and the ratio.
3. ``dapr-chaos images build``: a warm run (everything up to date) and, with ``--cold``,
   a full rebuild after removing the local images.

Needs a Docker engine (``make docker-engine``) and the local images (``make images``).
Usage: ``.venv/bin/python bench/containers.py [--starts N] [--orders M] [--cold]``
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

from harness import OrderAPIClient, Orders, Settings, Stack, StackConfig
from harness.testing import build_images, docker_client, local_recipes


def start_and_run(backend: str, orders: int) -> tuple[float, float]:
    """Seconds to workflow-ready, and seconds for ``orders`` orders to complete."""
    stack = Stack(StackConfig(backend=backend, images="local"))
    started = time.monotonic()
    with stack:
        ready = time.monotonic() - started
        batch = Orders(OrderAPIClient(stack.ports["app"]), prefix=f"bench-{backend}-")
        t = time.monotonic()
        ids = batch.submit_many(orders)
        statuses = batch.wait_terminal(ids, timeout=120)
        done = time.monotonic() - t
        assert {s.runtime_status for s in statuses.values()} == {"COMPLETED"}
    return ready, done


def image_builds(cold: bool) -> tuple[float | None, float]:
    settings = Settings.from_env()
    cold_seconds = None
    if cold:
        client = docker_client()
        for recipe in local_recipes(settings, progress=lambda _l: None):
            with contextlib.suppress(Exception):
                client.images.remove(recipe.ref)
        t = time.monotonic()
        build_images(settings, progress=lambda _l: None)
        cold_seconds = time.monotonic() - t
    t = time.monotonic()
    build_images(settings, progress=lambda _l: None)
    return cold_seconds, time.monotonic() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--cold", action="store_true", help="also time a full image rebuild")
    args = parser.parse_args()

    cold, warm = image_builds(args.cold)
    results: dict[str, list[tuple[float, float]]] = {"processes": [], "containers": []}
    for i in range(args.starts):
        for backend in ("processes", "containers"):
            ready, done = start_and_run(backend, args.orders)
            results[backend].append((ready, done))
            print(
                f"  {i + 1}/{args.starts} {backend:10} ready {ready:.2f}s, "
                f"{args.orders} orders {done:.2f}s",
                flush=True,
            )

    def median(backend: str, index: int) -> float:
        return statistics.median(r[index] for r in results[backend])

    print()
    print("RESULTS")
    for backend in ("processes", "containers"):
        print(
            f"  {backend:10} start median {median(backend, 0):.2f}s, "
            f"{args.orders} orders median {median(backend, 1):.2f}s"
        )
    start_ratio = median("containers", 0) / median("processes", 0)
    orders_ratio = median("containers", 1) / median("processes", 1)
    print(f"  ratio containers/processes: start {start_ratio:.2f}x, orders {orders_ratio:.2f}x")
    if cold is not None:
        print(f"  images build: cold {cold:.2f}s, warm (all up to date) {warm:.2f}s")
    else:
        print(f"  images build: warm (all up to date) {warm:.2f}s (--cold for a full rebuild)")


if __name__ == "__main__":
    main()
