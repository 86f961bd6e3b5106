"""How hard ``dapr-chaos explore`` searches: the ``ci`` and ``deep`` profiles, and the
Hypothesis settings profiles ``dapr-chaos-ci`` / ``dapr-chaos-deep`` behind them.

Importing this module does not import Hypothesis, so the CLI can offer the choices
cheaply; the Hypothesis settings are built on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis import settings

_PROFILES: dict[str, Any] = {}


def register_hypothesis_profiles() -> dict[str, settings]:
    """Build (once) and register the Hypothesis profiles ``dapr-chaos-ci`` (derandomized,
    10 examples) and ``dapr-chaos-deep`` (200 examples); returns them by short name. Both:
    no deadline, no example database (a search depends on its seed only), no explain
    phase (it would re-run variations of a failure, each a real run of the stack)."""
    if not _PROFILES:
        from hypothesis import HealthCheck, Phase
        from hypothesis import settings as hsettings

        slow = hsettings(
            deadline=None,
            database=None,
            print_blob=False,
            report_multiple_bugs=False,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
            phases=(Phase.explicit, Phase.generate, Phase.shrink),
        )
        _PROFILES["ci"] = hsettings(slow, max_examples=10, derandomize=True)
        _PROFILES["deep"] = hsettings(slow, max_examples=200)
        for name, profile in _PROFILES.items():
            hsettings.register_profile(f"dapr-chaos-{name}", profile)
    return dict(_PROFILES)


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
        return register_hypothesis_profiles()[self.name]


EXPLORE_PROFILES = {
    # Derandomized: seed 0 unless one is given, so CI runs the same schedules every time.
    "ci": ExploreProfile("ci", examples=10, sweep=True, shrink_runs=40, seed=0),
    "deep": ExploreProfile("deep", examples=200, sweep=True, shrink_runs=300, seed=None),
}
