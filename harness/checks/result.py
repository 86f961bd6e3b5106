"""The result every check returns: a verdict and the evidence behind it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"  # the history cannot tell (e.g. an outcome lost in a crash)


@dataclass(frozen=True)
class CheckResult:
    """``evidence`` lists one line per finding (an order, an effect, a count)."""

    name: str
    verdict: Verdict
    summary: str
    evidence: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.verdict.value.upper()}: {self.summary}"]
        lines += [f"  - {line}" for line in self.evidence[:20]]
        if len(self.evidence) > 20:
            lines.append(f"  ... and {len(self.evidence) - 20} more")
        return "\n".join(lines)
