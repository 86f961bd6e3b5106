"""A known upstream defect read from daprd's own words: a workflow instance whose state
daprd can no longer load.

dapr 1.18.3 counts a fired timer in a workflow's inbox in the metadata it saves
(``inboxLength``) but never writes a timer as an ``inbox-NNNNNN`` row, and in 1.18.3 a
metadata entry that names a missing key is a hard load error (``GetSaveRequest`` and the
loader in the pinned ``pkg/runtime/wfengine/state/state.go``). Any save taken while a
timer event sat in the inbox (the upstream fix names a stall on a timer wake) leaves the
instance unloadable for good: status reads fail on every try (seen here, also after the
worker was cycled), and per the upstream fix so do purges and its own reminders.
Upstream: dapr/dapr#10242, fixed by dapr/dapr#10155 (after 1.18.3). In this project it is
seen during overlap deploys; which timer it was is inferred, not seen.
"""

from __future__ import annotations

import re

UNLOADABLE_STATE = (
    "known upstream (dapr 1.18.3, dapr/dapr#10242): daprd saved workflow metadata that "
    "counts an inbox row it never wrote (a timer event), and cannot load the instance again"
)
_SIGNATURE = re.compile(
    r"inbox key 'inbox-\d+' declared in metadata \(inboxLength=\d+\) but missing from "
    r"state store"
)


def unloadable(reason: str | None) -> bool:
    """Whether a failed read of an instance (daprd's error text) is this defect."""
    return reason is not None and _SIGNATURE.search(reason) is not None
