"""The links between a stack's members and the ports each side uses.

Clients dial the *link* port of what they talk to (``Topology.dial``), which is the
server's own port, or a Toxiproxy listener when the link is proxied; the server binds its
own port.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from harness.stack.ports import HOST, PortBlock

LINKS = {
    # link name: (client, server port role, proxy listener role)
    "app->daprd": ("app", "daprd_grpc", "proxy_app_daprd"),
    "daprd->valkey": ("daprd", "valkey", "proxy_daprd_valkey"),
    "daprd->placement": ("daprd", "placement", "proxy_daprd_placement"),
    "daprd->scheduler": ("daprd", "scheduler", "proxy_daprd_scheduler"),
}


@dataclass(frozen=True)
class Link:
    """A client→server connection that a proxy may sit on.

    ``upstream`` is the server's port; ``listen`` is what the client dials (equal to
    ``upstream`` when the link is not proxied).
    """

    name: str
    upstream: int
    listen: int

    @property
    def proxied(self) -> bool:
        return self.listen != self.upstream


def dependency_link(name: str) -> str:
    """The link from the app to its dependency ``name``."""
    return f"app->{name}"


@dataclass(frozen=True)
class Topology:
    """Ports of one stack and the links between its members. ``dependencies`` maps each
    of the app's own dependencies to the port it listens on (127.0.0.1); their links are
    ``app->NAME``, proxied whenever Dapr's are."""

    ports: PortBlock
    proxied: frozenset[str] = frozenset()
    dependencies: tuple[tuple[str, int], ...] = ()

    def link(self, name: str) -> Link:
        for index, (dep, port) in enumerate(self.dependencies):
            if name == dependency_link(dep):
                listen = self.ports[f"proxy_dep_{index}"] if name in self.proxied else port
                return Link(name, port, listen)
        if name not in LINKS:
            raise KeyError(name)
        _client, server_role, proxy_role = LINKS[name]
        upstream = self.ports[server_role]
        listen = self.ports[proxy_role] if name in self.proxied else upstream
        return Link(name, upstream, listen)

    @property
    def links(self) -> tuple[str, ...]:
        """Every link of the stack: Dapr's, then the app's dependencies'."""
        return (*LINKS, *(dependency_link(dep) for dep, _port in self.dependencies))

    def dial(self, name: str) -> str:
        """``127.0.0.1:port`` a client of link ``name`` connects to."""
        return f"{HOST}:{self.link(name).listen}"


@dataclass
class Secrets:
    """Per-run credentials: Valkey's password and daprd's API token."""

    valkey_password: str
    api_token: str

    @classmethod
    def new(cls) -> Secrets:
        """Fresh credentials for one run: 192 random bits each, as 48 hex digits.

        Hex, not URL-safe base64: a base64 value begins with "-" once in 64 runs, and a
        value that begins with "-" reads as an option wherever it is passed on a command
        line (`dapr-chaos history export --api-token VALUE` refused one so in CI).
        """
        return cls(secrets.token_hex(24), secrets.token_hex(24))
