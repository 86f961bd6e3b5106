"""The versions dapr-chaos pins, in one place.

The Dapr runtime and the Python SDK move together: the SDK's workflow protos must match
what daprd sends. Change them together and re-run `make test`.
"""

from __future__ import annotations

DAPR_RUNTIME = "1.18.3"
"""daprd, placement and scheduler, built from github.com/dapr/dapr at this tag."""

DURABLETASK_GO = "0.12.1"
"""The workflow engine daprd is linked against.

dapr v1.18.3 asks for durabletask-go v0.12.4, which the Go module proxy reachable here
refuses to serve (403); v0.12.1 is the newest it serves and compiles against v1.18.3.
"""

TOXIPROXY = "2.12.0"
"""toxiproxy-server, built from github.com/Shopify/toxiproxy/v2."""

DAPR_SDK = "1.18.3"
"""dapr and dapr-ext-workflow on PyPI (pinned in pyproject.toml)."""
