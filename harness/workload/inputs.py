"""Where a workflow workload's inputs come from: a list (cycled), a callable of the
instance number, or a Hypothesis strategy (drawn reproducibly from a seed).

Every input must serialize to JSON (what a workflow receives); one that does not is bad
input (ConfigError naming the input), found before anything is started.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from harness.errors import ConfigError

InputSpec = Sequence[Any] | Callable[[int], Any] | Any  # a list, a callable, or a strategy


def _check(value: Any, where: str) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where} does not serialize to JSON ({exc}); inputs must be JSON data"
        ) from None
    return value


def draw_examples(strategy: Any, count: int, seed: int) -> list[Any]:
    """``count`` examples of a Hypothesis ``strategy``, the same ones for the same seed
    (a tiny derandomized Hypothesis run; examples repeat when the strategy has fewer)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    found: list[Any] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    if not found:
        raise ConfigError(f"the input strategy {strategy!r} produced no example")
    return [found[i % len(found)] for i in range(count)]


class Inputs:
    """The ``n``-th input (0-based) of a workload, from ``spec``. A strategy is drawn in
    blocks of ``block`` examples from ``seed``."""

    def __init__(self, spec: InputSpec, *, seed: int = 0, block: int = 64) -> None:
        self.spec = spec
        self.seed = seed
        self.block = block
        self._drawn: list[Any] = []
        if _is_strategy(spec):
            self.kind = "strategy"
        elif callable(spec):
            self.kind = "callable"
        elif isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
            if not spec:
                raise ConfigError("the input list is empty; give at least one input")
            for i, value in enumerate(spec):
                _check(value, f"input #{i} ({value!r})")
            self.kind = "list"
        else:
            raise ConfigError(
                f"inputs must be a list, a callable of the instance number, or a Hypothesis "
                f"strategy; got {type(spec).__name__}"
            )

    def __getitem__(self, n: int) -> Any:
        if self.kind == "list":
            assert isinstance(self.spec, Sequence)
            return self.spec[n % len(self.spec)]
        if self.kind == "callable":
            assert callable(self.spec)
            return _check(self.spec(n), f"the input of instance #{n}")
        while n >= len(self._drawn):
            more = draw_examples(self.spec, self.block, self.seed + len(self._drawn))
            self._drawn += [_check(v, f"a drawn input ({v!r})") for v in more]
        return self._drawn[n]

    def describe(self) -> str:
        if self.kind == "list":
            assert isinstance(self.spec, Sequence)
            return f"{len(self.spec)} input(s), cycled"
        return f"inputs from a {self.kind}"


def _is_strategy(value: Any) -> bool:
    try:
        from hypothesis.strategies import SearchStrategy
    except ImportError:  # pragma: no cover - hypothesis is a dependency
        return False
    return isinstance(value, SearchStrategy)
