"""The business store the example apps share the code of: a Redis/Valkey database at
``$STORE_URL`` (default ``redis://127.0.0.1:6379/0``), one key prefix per app.

An effect is applied at most once per *idempotency key*, the workflow instance id plus
the logical step (``<instance>:<step>``): a re-executed activity (a crash re-dispatch, a
retry, a daprd restart that schedules the activity again under a new task execution id)
finds the effect applied and applies nothing. Each application is numbered, so an
activity can report the effect on every execution with the same identity
(``<key>#<n>``): that closes the window between the commit and the report.

Nothing here knows of dapr-chaos; the apps report effects with ``harness.app.effect``,
which does nothing outside it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import redis

STORE_URL_ENV = "STORE_URL"
DEFAULT_URL = "redis://127.0.0.1:6379/0"

# KEYS: idempotency hash, target hash. ARGV: field, increment.
# Returns {applied now (0/1), application number}: a repeat returns the first number.
_APPLY_ONCE = """
local n = redis.call('HGET', KEYS[1], 'applied')
if n then
  return {0, tonumber(n)}
end
redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
return {1, redis.call('HINCRBY', KEYS[1], 'applied', 1)}
"""


@dataclass(frozen=True)
class Applied:
    """One application of an effect: ``now`` when this call applied it; ``application``
    identifies it (``<key>#<n>``), the same for every repeat that found it applied."""

    now: bool
    application: str


class Store:
    """The app's store under ``prefix`` (keys ``<prefix>:...``). Connection errors
    surface as ``redis.ConnectionError``: the activity fails and the workflow's retry
    policy runs it again."""

    def __init__(self, url: str, prefix: str) -> None:
        # Short timeouts: a cut link must fail the activity (and let the workflow retry
        # it), not hang it past daprd's patience.
        self.client = redis.Redis.from_url(url, socket_timeout=3.0, socket_connect_timeout=2.0)
        self.prefix = prefix
        self._apply_once = self.client.register_script(_APPLY_ONCE)

    @classmethod
    def from_env(cls, prefix: str) -> Store:
        return cls(os.environ.get(STORE_URL_ENV) or DEFAULT_URL, prefix)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def apply_once(self, idempotency_key: str, target: str, field: str, amount: int) -> Applied:
        """Add ``amount`` to ``field`` of hash ``target`` once per ``idempotency_key``."""
        idem = self.key("idem", idempotency_key)
        now, number = self._apply_once(keys=[idem, self.key(target)], args=[field, amount])
        return Applied(bool(now), f"{idempotency_key}#{number}")

    def add(self, target: str, field: str, amount: int) -> int:
        """Add ``amount`` to ``field`` of hash ``target``, every time it is called."""
        return int(self.client.hincrby(self.key(target), field, amount))

    def put(self, name: str, value: Any) -> None:
        """Store ``value`` (JSON) under ``name``, overwriting: repeats are harmless."""
        self.client.set(self.key(name), json.dumps(value))

    def get(self, name: str) -> Any:
        """The JSON value stored under ``name``, or None."""
        raw = self.client.get(self.key(name))
        return None if raw is None else json.loads(raw)
