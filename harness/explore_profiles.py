"""How hard ``dapr-chaos explore`` searches: the ``ci`` and ``deep`` profiles.

Kept apart from the engine so the CLI can offer the choices without importing
Hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hypothesis import settings


@dataclass(frozen=True)
class ExploreProfile:
    """``examples``: generated examples (the sweep comes on top); ``sweep``: try a crash
    at each failpoint alone first; ``shrink_runs``: most runs spent shrinking;
    ``seed=None``: a random seed (always printed)."""

    name: str
    examples: int
    sweep: bool
    shrink_runs: int
    seed: int | None

    def hypothesis(self) -> settings:
        """The Hypothesis settings profile ``dapr-chaos-<name>``."""
        from harness.strategies import PROFILES

        return PROFILES[self.name]


EXPLORE_PROFILES = {
    # Derandomized: seed 0 unless one is given, so CI runs the same schedules every time.
    "ci": ExploreProfile("ci", examples=10, sweep=True, shrink_runs=40, seed=0),
    "deep": ExploreProfile("deep", examples=200, sweep=True, shrink_runs=300, seed=None),
}
