"""What every fault is: something injected into a stack and later healed.

Faults are small frozen values; ``inject`` acts on a running stack and raises FaultError
when it would hit nothing. ``heal`` undoes what can be undone (remove a toxic, resume a
paused process); a killed process is brought back by the stack-wide heal.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from harness.stack.stack import Stack

MEMBERS = ("app", "daprd", "placement", "scheduler", "valkey")
# Dapr's links; an app's own dependencies add links "app->NAME" (StackConfig).
LINK_NAMES = ("app->daprd", "daprd->valkey", "daprd->placement", "daprd->scheduler")
_DEPENDENCY_LINK = re.compile(r"^app->[a-z][a-z0-9_]{0,19}$")


def is_link(name: str) -> bool:
    """Whether ``name`` spells a link: one of Dapr's, or ``app->NAME`` (a dependency; a
    stack member's name is not a dependency's)."""
    if name in LINK_NAMES:
        return True
    return bool(_DEPENDENCY_LINK.match(name)) and name.removeprefix("app->") not in MEMBERS


# What a generated fault acts through: an app failpoint, a member process, a proxied link,
# or the app's code (a deploy of another version).
FAULT_KINDS = ("failpoint", "member", "link", "deploy")


class Fault(Protocol):
    """A fault: ``kind`` (e.g. "kill", "latency") and ``target`` (member or link)."""

    @property
    def kind(self) -> str: ...

    @property
    def target(self) -> str: ...

    def detail(self) -> str:
        """Parameters worth showing next to kind and target (e.g. "500ms")."""
        ...

    def inject(self, stack: Stack) -> None: ...

    def heal(self, stack: Stack) -> None: ...
