"""``-k EXPR``: choose scenarios by name, as pytest's ``-k`` chooses tests.

EXPR is made of words (each true when it is a substring of the scenario name), ``and``,
``or``, ``not`` and parentheses, e.g. ``-k "daprd or valkey and not latency"``.
"""

from __future__ import annotations

import re

from harness.errors import ConfigError

_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z0-9_.\-]+)")


class _Parser:
    def __init__(self, expr: str, name: str) -> None:
        self.expr = expr
        self.name = name
        self.tokens: list[str] = []
        pos = 0
        text = expr.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match:
                raise ConfigError(f"-k {expr!r}: unexpected character at {text[pos:]!r}")
            self.tokens.append(match.group(1))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ConfigError(f"-k {self.expr!r}: the expression ends too early")
        self.pos += 1
        return token

    def parse(self) -> bool:
        value = self.or_expr()
        if self.peek() is not None:
            raise ConfigError(f"-k {self.expr!r}: unexpected {self.peek()!r}")
        return value

    def or_expr(self) -> bool:
        value = self.and_expr()
        while self.peek() == "or":
            self.take()
            right = self.and_expr()
            value = value or right
        return value

    def and_expr(self) -> bool:
        value = self.not_expr()
        while self.peek() == "and":
            self.take()
            right = self.not_expr()
            value = value and right
        return value

    def not_expr(self) -> bool:
        if self.peek() == "not":
            self.take()
            return not self.not_expr()
        token = self.take()
        if token == "(":
            value = self.or_expr()
            if self.take() != ")":
                raise ConfigError(f"-k {self.expr!r}: missing ')'")
            return value
        if token in ("and", "or", ")"):
            raise ConfigError(f"-k {self.expr!r}: unexpected {token!r}")
        return token in self.name


def matches(expr: str | None, name: str) -> bool:
    """Whether scenario ``name`` is selected by ``expr`` (None or empty selects all)."""
    if not expr or not expr.strip():
        return True
    return _Parser(expr, name).parse()
