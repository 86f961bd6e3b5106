"""The live dashboard's content: a JSON snapshot of a stack's workflow instances and the
run's fault windows, and the HTML drawn from it. Pure: no I/O, no clock of its own.

The page (:func:`render_page`) is a shell whose script fetches ``view`` (the HTML of
:func:`render_view`) every ``interval_ms`` and keeps the instances a reader opened open.
Every value that came from the app or daprd is escaped here, on the server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from harness.record.survey import KNOWN, Survey, ids_in_flight
from harness.record.timeline import FaultWindow
from harness.report.html import CSS, history_table, table

SCHEMA = "dapr-chaos/dashboard/v1"

# How a workflow status is drawn, as the report's verdict badges.
_STATUS_CSS = {
    "COMPLETED": "pass",
    "FAILED": "fail",
    "TERMINATED": "error",
    "CANCELED": "error",
    "RUNNING": "known-upstream",
    "PENDING": "unknown",
    "SUSPENDED": "vacuous",
    "STALLED": "vacuous",
}

_EXTRA_CSS = """
.active{background:#cf222e}.past{background:#6e7781}
.instance{border-bottom:1px solid #e3e3e8;padding:2px 0}
.instance summary code{font-size:12px}
.faultmark{display:inline-block;border-radius:3px;padding:0 5px;margin-left:4px;
font-size:11px;background:#ffebe9;color:#82071e;border:1px solid #ff8182}
.warn{color:#9a6700}
"""


@dataclass(frozen=True)
class FaultRun:
    """The fault windows of one run (a test's ``chaos``, a scenario) on the stack."""

    label: str
    windows: Sequence[FaultWindow]


def _clock(ts: float | None) -> str:
    """``ts`` (epoch seconds) as UTC ``HH:MM:SS.mmm``; "-" for None."""
    if ts is None:
        return "-"
    return time.strftime("%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def snapshot(
    survey: Survey | None,
    runs: Sequence[FaultRun],
    *,
    app_id: str | None,
    daprd: str | None,
    now: float,
    problem: str | None = None,
) -> dict[str, Any]:
    """The dashboard's state at ``now`` (epoch seconds), JSON-serializable (schema
    ``dapr-chaos/dashboard/v1``): ``instances`` newest first, each with ``status``,
    ``name``, ``app_id``, ``created`` / ``last_updated`` (epoch seconds), ``input``,
    ``output``, ``failure``, ``history`` (rows) and ``faults`` (the numbers of the
    windows it was in flight during); ``windows`` numbered from 1 in start order, each
    with ``run``, ``kind``, ``target``, ``detail``, ``start``, ``end`` (None: active),
    ``active`` and ``in_flight`` (instance ids). ``survey`` None: no stack to read
    (``problem`` says why)."""
    views = survey.instances if survey is not None else []
    every = sorted(
        ((run.label, w) for run in runs for w in list(run.windows)), key=lambda rw: rw[1].start
    )
    windows = []
    marks: dict[str, list[int]] = {}
    for number, (label, w) in enumerate(every, start=1):
        ids = ids_in_flight(views, w.start, w.end, now)
        for instance_id in ids:
            marks.setdefault(instance_id, []).append(number)
        windows.append(
            {
                "number": number,
                "run": label,
                "kind": w.kind,
                "target": w.target,
                "detail": w.detail,
                "start": w.start,
                "end": w.end,
                "active": w.end is None,
                "in_flight": ids,
            }
        )
    instances: list[dict[str, Any]] = [
        {
            "instance_id": v.state.instance_id,
            "status": v.state.status,
            "name": v.state.name,
            "app_id": app_id,
            "created": v.state.created,
            "last_updated": v.state.last_updated,
            "input": v.state.input,
            "output": v.state.output,
            "custom_status": v.state.custom_status,
            "failure": v.state.failure,
            "history": v.history,
            "history_error": v.history_error,
            "faults": marks.get(v.state.instance_id, []),
        }
        for v in views
    ]
    counts: dict[str, int] = {}
    for v in views:
        counts[v.state.status] = counts.get(v.state.status, 0) + 1
    return {
        "schema": SCHEMA,
        "now": now,
        "app_id": app_id,
        "daprd": daprd,
        "source": survey.source if survey is not None else None,
        "listed": survey is not None and not survey.source.startswith(KNOWN),
        "total": survey.total if survey is not None else 0,
        "counts": counts,
        "errors": (survey.errors if survey is not None else [])[:20],
        "problem": problem,
        "windows": windows,
        "instances": instances,
    }


def _payload(label: str, value: str | None) -> str:
    if value is None:
        return ""
    shown = value if len(value) <= 2000 else value[:2000] + " …"
    return f'<p class="meta">{label}: <code class="{label}">{escape(shown)}</code></p>'


def _windows(data: dict[str, Any]) -> str:
    if not data["windows"]:
        return '<p class="meta">No fault injected in this run so far.</p>'
    rows = []
    for w in data["windows"]:
        state = "active" if w["active"] else "past"
        took = (w["end"] if w["end"] is not None else data["now"]) - w["start"]
        rows.append(
            [
                f"F{w['number']}",
                f'<span class="badge {state}">{state.upper()}</span>',
                escape(w["run"]),
                escape(w["kind"]),
                escape(w["target"]),
                escape(w["detail"]),
                _clock(w["start"]),
                _clock(w["end"]) if w["end"] is not None else "still active",
                f"{took:.1f}s",
                str(len(w["in_flight"])),
            ]
        )
    heads = ["#", "state", "run", "fault", "target", "detail", "from", "to", "for", "in flight"]
    return table(heads, rows, "windows").replace("<table", '<table id="fault-windows"', 1)


def _instance(item: dict[str, Any]) -> str:
    status = item["status"]
    marks = "".join(
        f'<span class="faultmark" title="in flight during fault F{n}">F{n}</span>'
        for n in item["faults"]
    )
    summary = (
        f'<span class="badge status {_STATUS_CSS.get(status, "unknown")}">{escape(status)}</span> '
        f"<code>{escape(item['instance_id'])}</code> · {escape(item['name'] or '-')} · "
        f"app {escape(item['app_id'] or '-')} · started {_clock(item['created'])} · "
        f"updated {_clock(item['last_updated'])}{marks}"
    )
    body = (
        _payload("input", item["input"])
        + _payload("output", item["output"])
        + _payload("custom-status", item["custom_status"])
        + _payload("failure", item["failure"])
        + history_table(item["history"], item["history_error"] or "not read yet")
    )
    return (
        f'<details class="instance" data-id="{escape(item["instance_id"])}" '
        f'data-status="{escape(status)}"><summary>{summary}</summary>{body}</details>'
    )


def render_view(data: dict[str, Any]) -> str:
    """The dashboard's live part as an HTML fragment, from a :func:`snapshot`."""
    parts = []
    where = (
        f"app {escape(data['app_id'] or '-')} · daprd {escape(data['daprd'] or '-')} · "
        f"updated {_clock(data['now'])} UTC"
    )
    parts.append(f'<p class="meta" id="where">{where}</p>')
    if data["problem"]:
        parts.append(f'<p class="warn" id="problem">{escape(data["problem"])}</p>')
    if data["source"] is not None and not data["listed"]:
        parts.append(f'<p class="warn" id="source">Instances: {escape(data["source"])}.</p>')
    for line in data["errors"]:
        parts.append(f'<p class="warn">{escape(line)}</p>')
    parts.append("<h2>Fault windows</h2>" + _windows(data))
    counts = ", ".join(f"{escape(k)} {v}" for k, v in sorted(data["counts"].items()))
    shown = len(data["instances"])
    more = f" (the newest {shown} shown)" if data["total"] > shown else ""
    parts.append(
        f'<h2>Workflow instances</h2><p class="meta" id="counts">{data["total"]} instance(s)'
        f"{more}{': ' + counts if counts else ''}</p>"
    )
    parts.append(
        '<div id="instances">' + "".join(_instance(i) for i in data["instances"]) + "</div>"
    )
    return "\n".join(parts)


_SCRIPT = """
const view = document.getElementById('view');
async function refresh() {
  const open = new Set([...view.querySelectorAll('details[open]')].map(d => d.dataset.id));
  try {
    const resp = await fetch('view', {cache: 'no-store'});
    if (!resp.ok) throw new Error('HTTP ' + resp.status);
    view.innerHTML = await resp.text();
    for (const d of view.querySelectorAll('details.instance')) {
      if (open.has(d.dataset.id) || location.hash === '#' + d.dataset.id) d.open = true;
    }
    document.getElementById('status').textContent = '';
  } catch (err) {
    document.getElementById('status').textContent = 'not refreshed: ' + err.message;
  }
}
refresh();
setInterval(refresh, INTERVAL);
"""


def render_page(*, title: str, interval_ms: int) -> str:
    """The page: a shell that draws :func:`render_view` and refreshes it every
    ``interval_ms`` milliseconds (``view`` and ``state.json`` are relative links)."""
    script = _SCRIPT.replace("INTERVAL", str(int(interval_ms)))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}{_EXTRA_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1>"
        f'<p class="meta">Refreshed every {interval_ms / 1000:g}s from daprd\'s workflow API '
        '· <a href="state.json">state.json</a> · times UTC · '
        '<span id="status" class="warn"></span></p></header>'
        '<main id="view"><p class="meta">loading…</p></main>'
        f"<script>{script}</script></body></html>\n"
    )


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, default=str)
