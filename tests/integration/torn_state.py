"""Whether an app's ``GET /state`` is one moment: reservations are made straight into its
Valkey (by the reference app's own script, which keeps the store-wide invariant at every
moment) while the state is read again and again through the app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from threading import Event, Thread

from harness.reference_apps.orders.store import OrderStore


def torn_snapshots(
    valkey_url: str,
    state: Callable[[], Mapping[str, Mapping[str, int]]],
    prefix: str,
    looks: int = 100,
) -> int:
    """How many of ``looks`` snapshots broke ``initial - remaining = reserved`` while two
    writers reserved one unit at a time of a product of their own (``<prefix>p-001``)."""
    store = OrderStore(valkey_url)
    done = Event()

    def reserve() -> None:
        n = 0
        while not done.is_set():
            key = f"{prefix}r{n}"
            store.reserve(key, key, f"{prefix}p-001", 1)
            n += 1

    writers = [Thread(target=reserve) for _ in range(2)]
    for writer in writers:
        writer.start()
    torn = 0
    try:
        for _ in range(looks):
            seen = state()
            reserved = sum(seen["reservations"].values())
            taken = sum(seen["initial_stock"].get(p, 0) - n for p, n in seen["stock"].items())
            torn += reserved != taken
    finally:
        done.set()
        for writer in writers:
            writer.join()
    return torn
