"""A small typed client for toxiproxy-server's REST API, with timeouts.

Why not toxiproxy-python (0.1.1): it keeps the server address in class attributes (one
per interpreter, so two stacks in one process would fight over it) and passes no timeout
to its HTTP calls (a stalled toxiproxy would hang a test forever). This client is
per-server and every call is bounded by ``timeout`` seconds.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.errors import ToxiproxyError

Stream = Literal["upstream", "downstream"]


@dataclass(frozen=True)
class Toxic:
    """One toxic as toxiproxy defines it.

    ``stream``: "downstream" acts on server→client bytes, "upstream" on client→server.
    ``toxicity``: probability (0..1) that a connection gets the toxic.
    """

    type: str
    attributes: dict[str, int] = field(default_factory=dict)
    stream: Stream = "downstream"
    toxicity: float = 1.0
    name: str = ""

    @property
    def key(self) -> str:
        return self.name or f"{self.type}_{self.stream}"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.key,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.attributes,
        }

    # -- the toxics toxiproxy offers (``kw``: ``stream``, ``toxicity``, ``name``) ---------

    @classmethod
    def latency(cls, ms: int, jitter_ms: int = 0, **kw: Any) -> Toxic:
        """Delay every chunk by ``ms`` ± ``jitter_ms`` milliseconds."""
        return cls("latency", {"latency": ms, "jitter": jitter_ms}, **kw)

    @classmethod
    def timeout(cls, ms: int, **kw: Any) -> Toxic:
        """Black hole: stop all data; close after ``ms`` milliseconds (0 = never)."""
        return cls("timeout", {"timeout": ms}, **kw)

    @classmethod
    def reset_peer(cls, after_ms: int = 0, **kw: Any) -> Toxic:
        """Reset connections (TCP RST) after ``after_ms`` milliseconds."""
        return cls("reset_peer", {"timeout": after_ms}, **kw)

    @classmethod
    def bandwidth(cls, kb_per_s: int, **kw: Any) -> Toxic:
        """Limit throughput to ``kb_per_s`` KB/s."""
        return cls("bandwidth", {"rate": kb_per_s}, **kw)

    @classmethod
    def slicer(
        cls, average_bytes: int, size_variation: int = 0, delay_us: int = 0, **kw: Any
    ) -> Toxic:
        """Slice data into small chunks, optionally delaying each by ``delay_us``
        microseconds."""
        return cls(
            "slicer",
            {"average_size": average_bytes, "size_variation": size_variation, "delay": delay_us},
            **kw,
        )

    @classmethod
    def limit_data(cls, nbytes: int, **kw: Any) -> Toxic:
        """Close each connection after ``nbytes`` bytes."""
        return cls("limit_data", {"bytes": nbytes}, **kw)


class ToxiproxyClient:
    """Talks to one toxiproxy-server on 127.0.0.1:``port``."""

    def __init__(self, port: int, *, timeout: float = 5.0) -> None:
        self.port = port
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload else {}
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise ToxiproxyError(
                f"toxiproxy on 127.0.0.1:{self.port} did not answer {method} {path}: {exc}"
            ) from exc
        finally:
            conn.close()
        if resp.status >= 300:
            raise ToxiproxyError(
                f"toxiproxy refused {method} {path}: {resp.status} "
                f"{data.decode('utf-8', 'replace').strip()}"
            )
        return json.loads(data) if data else None

    def create_proxy(self, name: str, listen: str, upstream: str) -> None:
        self._call(
            "POST",
            "/proxies",
            {"name": name, "listen": listen, "upstream": upstream, "enabled": True},
        )

    def proxies(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self._call("GET", "/proxies")
        return result

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Disabling a proxy closes its connections and refuses new ones ("down")."""
        self._call("POST", f"/proxies/{name}", {"enabled": enabled})

    def add_toxic(self, proxy: str, toxic: Toxic) -> None:
        self._call("POST", f"/proxies/{proxy}/toxics", toxic.as_json())

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/proxies/{proxy}/toxics")
        return result

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset")
