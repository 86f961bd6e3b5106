"""Arm and disarm the app's failpoints (harness side of :func:`harness.app.failpoint`).

The arming file is replaced atomically, so the app never reads half of it. Durations are
seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.app._failpoints import ACTIONS, ARMED_FILE, EVERY
from harness.errors import ConfigError


@dataclass(frozen=True)
class Failpoint:
    """What to do at failpoint ``name``.

    Fires from the ``nth`` hit on (1-based; hits counted across app restarts), at most
    ``count`` times (None: every eligible hit), each eligible hit with ``probability``
    (decided deterministically from ``seed``). ``seconds`` is the pause or delay length.
    ``instances``: a workflow instance id prefix; when set, only hits inside an activity
    of an instance whose id starts with it are counted and may fire (a straggling
    instance of an earlier test on a shared stack neither fires it nor uses up its
    ``count``); "" (default): every instance's.
    """

    name: str
    action: str = "crash"
    nth: int = 1
    count: int | None = 1
    probability: float = 1.0
    seconds: float = 0.0
    seed: int = 0
    instances: str = ""

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in "/\\\0") or self.name.startswith("."):
            raise ConfigError(
                f"failpoint name {self.name!r} is invalid; use names like "
                "'charge_payment.after_effect'"
            )
        if self.name == EVERY and self.action != "trace":
            raise ConfigError(
                f"failpoint {EVERY!r} (every failpoint) can only be armed to trace, not "
                f"{self.action!r}: arm a name to act on it"
            )
        if self.action not in ACTIONS:
            raise ConfigError(
                f"failpoint action {self.action!r} is unknown; choose one of " + ", ".join(ACTIONS)
            )
        if self.nth < 1:
            raise ConfigError(f"failpoint nth must be >= 1 (the first hit is 1), got {self.nth}")
        if self.count is not None and self.count < 1:
            raise ConfigError(f"failpoint count must be >= 1 or None (every hit), got {self.count}")
        if not 0 < self.probability <= 1:
            raise ConfigError(f"failpoint probability must be in (0, 1], got {self.probability}")
        if self.seconds < 0 or (self.action in ("pause", "delay") and self.seconds == 0):
            raise ConfigError(f"failpoint {self.action} needs seconds > 0, got {self.seconds}")


class Failpoints:
    """The arming of one stack's failpoints (``directory`` is the app's
    ``DAPR_CHAOS_FAILPOINTS``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._armed: dict[str, Failpoint] = {}

    def arm(self, failpoint: Failpoint) -> None:
        self._armed[failpoint.name] = failpoint
        self._write()

    def disarm(self, name: str) -> None:
        self._armed.pop(name, None)
        self._write()

    def clear(self) -> None:
        """Disarm everything and forget hit counts (a fresh start for the next test)."""
        self._armed.clear()
        self._write()
        for path in self.directory.glob("*.hits"):
            path.unlink(missing_ok=True)
        for path in self.directory.glob("*.fired"):
            path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Disarm everything for the duration of the block, then arm it all again as it
        was: a fault-free run in between (the baseline of ``same-as-fault-free``) neither
        fires a failpoint nor counts a hit (unarmed failpoints are not counted), so "the
        Nth hit" still means the Nth of the chaos phase."""
        armed = dict(self._armed)
        self._armed.clear()
        self._write()
        try:
            yield
        finally:
            self._armed.update(armed)
            self._write()

    @property
    def armed(self) -> dict[str, Failpoint]:
        return dict(self._armed)

    def hits(self, name: str) -> int:
        """Hits of ``name`` so far (armed hits only: unarmed ones are not counted)."""
        path = self.directory / f"{name}.hits"
        return path.stat().st_size if path.exists() else 0

    def _write(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        spec = {
            name: {k: v for k, v in asdict(fp).items() if k != "name"}
            for name, fp in self._armed.items()
        }
        tmp = self.directory / f".{ARMED_FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(spec))
        tmp.replace(self.directory / ARMED_FILE)
