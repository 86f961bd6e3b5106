"""The reference order app, except that it refuses every order as malformed (400): a
run against it starts no instance at all, so it has nothing to judge. Its verdict must
say VACUOUS, never PASS."""

from __future__ import annotations

from typing import Any

from harness.reference_apps.orders import api
from harness.reference_apps.orders.__main__ import main


def refuse(body: bytes) -> dict[str, Any]:
    raise api.BadOrder("this app takes no orders")


api.parse_order = refuse

if __name__ == "__main__":
    main()
