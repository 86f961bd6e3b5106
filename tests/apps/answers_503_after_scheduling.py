"""The reference order app, except that it answers 503 to every order after it has
scheduled the workflow: what a client sees when the gRPC deadline of the scheduling call
expires after daprd saved the instance. The workflow runs and charges all the same, so
the harness must read the order back and judge it though it was never acknowledged.

Any ``ORDER_APP_VARIANT`` applies on top (the app's own ``main`` installs it).
"""

from __future__ import annotations

from typing import Any

import grpc

from harness.reference_apps.orders.__main__ import main
from harness.reference_apps.orders.api import OrderAPI

_schedule = OrderAPI.schedule


class LateDeadline(grpc.RpcError):
    """The error a client's expired deadline raises after the call went through."""

    def details(self) -> str:
        return "Deadline Exceeded (after daprd saved the instance)"


def schedule_then_fail(self: OrderAPI, order: dict[str, Any]) -> None:
    _schedule(self, order)
    raise LateDeadline()


OrderAPI.schedule = schedule_then_fail  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
