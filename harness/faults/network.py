"""Network faults on a link's Toxiproxy proxy: toxics, and the link going down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import ConfigError, FaultError, ToxiproxyError
from harness.faults.fault import LINK_NAMES, is_link
from harness.stack.toxiproxy import Toxic

if TYPE_CHECKING:
    from harness.stack.stack import Stack

TOXIC_TYPES = ("latency", "timeout", "reset_peer", "bandwidth", "slicer", "limit_data")


def _check_link(link: str) -> None:
    if not is_link(link):
        raise ConfigError(
            f"unknown link {link!r}; choose one of {', '.join(LINK_NAMES)}, or app->NAME for "
            "a dependency the app declares"
        )


def _proxied(stack: Stack, link: str) -> None:
    if stack.topology is None or link not in stack.topology.proxied:
        raise FaultError(
            f"link {link} has no proxy in this stack (started with proxies=False, or a "
            "dependency the app does not declare?): a network fault there would do nothing"
        )


@dataclass(frozen=True)
class LinkToxic:
    """Add ``toxic`` to ``link``'s proxy; heal removes it."""

    link: str
    toxic: Toxic

    def __post_init__(self) -> None:
        _check_link(self.link)
        if self.toxic.type not in TOXIC_TYPES:
            raise ConfigError(
                f"unknown toxic {self.toxic.type!r}; choose one of " + ", ".join(TOXIC_TYPES)
            )
        if not 0 < self.toxic.toxicity <= 1:
            raise ConfigError(f"toxicity must be in (0, 1], got {self.toxic.toxicity}")

    @property
    def kind(self) -> str:
        return self.toxic.type

    @property
    def target(self) -> str:
        return self.link

    def detail(self) -> str:
        attrs = ", ".join(f"{k}={v}" for k, v in self.toxic.attributes.items())
        tox = f", toxicity={self.toxic.toxicity}" if self.toxic.toxicity < 1 else ""
        return f"{self.toxic.stream}: {attrs}{tox}"

    def inject(self, stack: Stack) -> None:
        _proxied(stack, self.link)
        try:
            stack.toxiproxy.add_toxic(self.link, self.toxic)
        except ToxiproxyError as exc:
            raise FaultError(f"could not add {self.kind} to {self.link}: {exc}") from exc

    def heal(self, stack: Stack) -> None:
        names = {t["name"] for t in stack.toxiproxy.toxics(self.link)}
        if self.toxic.key in names:
            stack.toxiproxy.remove_toxic(self.link, self.toxic.key)


@dataclass(frozen=True)
class LinkDown:
    """Disable ``link``'s proxy: open connections close, new ones are refused."""

    link: str
    kind: str = "down"

    def __post_init__(self) -> None:
        _check_link(self.link)

    @property
    def target(self) -> str:
        return self.link

    def detail(self) -> str:
        return "connections refused"

    def inject(self, stack: Stack) -> None:
        _proxied(stack, self.link)
        stack.toxiproxy.set_enabled(self.link, False)

    def heal(self, stack: Stack) -> None:
        stack.toxiproxy.set_enabled(self.link, True)
