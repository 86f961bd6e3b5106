"""The run's timeline: fault windows, phases and observations, in wall-clock seconds.

Checks use it to name the fault that preceded a violation; reports draw it. Thread-safe:
faults are injected and healed from timer threads.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class FaultWindow:
    """One fault, active from ``start`` until ``end`` (None: still active)."""

    kind: str
    target: str
    start: float
    end: float | None = None
    detail: str = ""
    # For a link fault: the connections through the link's proxy when it was injected
    # and when it was healed (None: not a link fault, or not counted).
    touched: int | None = None

    def describe(self) -> str:
        span = f" for {self.end - self.start:.1f}s" if self.end is not None else ", still active"
        what = f"{self.kind} {self.target}" + (f" ({self.detail})" if self.detail else "")
        touched = ""
        if self.touched is not None:
            touched = (
                f", {self.touched} connection(s) through it"
                if self.touched
                else (", touched no connection")
            )
        return f"{what} at {time.strftime('%H:%M:%S', time.localtime(self.start))}{span}{touched}"


@dataclass(frozen=True)
class Mark:
    """Something observed or decided at ``ts``: a phase change, a worker count, a note."""

    ts: float
    kind: str
    text: str


@dataclass
class Timeline:
    windows: list[FaultWindow] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def open(
        self, kind: str, target: str, detail: str = "", *, start: float | None = None
    ) -> FaultWindow:
        """A window from ``start`` (epoch seconds; default now) until :meth:`close`."""
        window = FaultWindow(kind, target, time.time() if start is None else start, None, detail)
        with self._lock:
            self.windows.append(window)
        return window

    def close(self, window: FaultWindow) -> None:
        with self._lock:
            if window.end is None:
                window.end = time.time()

    def mark(self, kind: str, text: str) -> None:
        with self._lock:
            self.marks.append(Mark(time.time(), kind, text))

    def active(self) -> list[FaultWindow]:
        with self._lock:
            return [w for w in self.windows if w.end is None]

    def last_change(self) -> float | None:
        """When a fault last began or ended (epoch seconds; now while one is active; None:
        no fault yet)."""
        with self._lock:
            if any(w.end is None for w in self.windows):
                return time.time()
            ends = [w.end for w in self.windows if w.end is not None]
        return max(ends) if ends else None

    def preceding(self, ts: float) -> FaultWindow | None:
        """The latest fault that started at or before ``ts``."""
        with self._lock:
            before = [w for w in self.windows if w.start <= ts]
        return max(before, key=lambda w: w.start) if before else None

    def save(self, path: Path) -> None:
        with self._lock:
            data = {
                "windows": [asdict(w) for w in self.windows],
                "marks": [asdict(m) for m in self.marks],
            }
        path.write_text(json.dumps(data, indent=1))
