"""``index.html``: one static page a person reads when a chaos run failed.

Rendered from the journal alone (so ``dapr-chaos report JOURNAL`` can redraw it), with
inline CSS and SVG: it opens from disk, offline. It shows a verdict table, then per
scenario a timeline plot (fault windows shaded, failpoint hits and phases marked),
throughput and latency plots when load ran, the fault table, every check with its
evidence, the failing orders with their workflow history as a table, and links to the
slice of each process log written during the scenario.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from typing import Any

from harness.report.plots import Band, Line, Tick, line_plot

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1100px;color:#1d1d1f;padding:0 16px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 8px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}
th,td{border-bottom:1px solid #e3e3e8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f7;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:4px;padding:1px 8px;font-weight:700;color:#fff;
font-size:12px;letter-spacing:.03em}
.pass{background:#1a7f37}.fail{background:#cf222e}.error{background:#9a6700}
.unknown{background:#6e7781}.vacuous{background:#8250df}
.gap{color:#8250df;font-weight:600}
.known-upstream{background:#0969da}
.meta{color:#57606a;font-size:13px}
.scenario{border-top:2px solid #d0d7de;margin-top:26px}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12px;white-space:pre-wrap}
details{margin:4px 0}summary{cursor:pointer}
svg.plot{display:block;margin:8px 0;max-width:100%;height:auto}
svg .title{font:600 13px system-ui,sans-serif}
svg .xtick,svg .xlabel{font:11px system-ui,sans-serif;text-anchor:middle;fill:#444}
svg .ytick{font:11px system-ui,sans-serif;text-anchor:end;fill:#444}
svg .ylabel{font:11px system-ui,sans-serif;text-anchor:middle;fill:#444}
svg .legend,svg .band-label,svg .phase-label{font:11px system-ui,sans-serif;fill:#333}
svg .grid{stroke:#eee}svg .axis,svg .frame{stroke:#999}
svg .phase{stroke:#888;stroke-dasharray:4 3}
table.history td{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
"""


def badge(verdict: str) -> str:
    return f'<span class="badge {escape(verdict)}">{escape(verdict.upper())}</span>'


def anchor(label: str) -> str:
    return "sc-" + re.sub(r"[^A-Za-z0-9-]+", "-", label).strip("-")


def table(headers: list[str], rows: list[list[str]], css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fault_text(w: dict[str, Any]) -> str:
    return f"{w['kind']} {w['target']}" + (f" ({w['detail']})" if w["detail"] else "")


def _timeline_plot(sc: dict[str, Any]) -> str:
    series = sc.get("series") or {}
    end = sc["duration_s"]
    xs = series.get("t", [])
    lines = [
        Line("activity runs/s", xs, series.get("activity_executions_per_s", [])),
        Line("orders finishing/s", xs, series.get("orders_finishing_per_s", [])),
    ]
    bands = [
        Band(w["start_s"], w["end_s"] if w["end_s"] is not None else end, _fault_text(w))
        for w in sc["timeline"]["windows"]
    ]
    ticks = [
        Tick(h["t_s"], f"{h['name']} hit {h['hit']}: {h['action']} in {h['workflow_id']}")
        for h in sc["failpoint_hits"]
        if h["fired"]
    ]
    ticks += [
        Tick(m["t_s"], m["text"], kind="phase")
        for m in sc["timeline"]["marks"]
        if m["kind"] == "phase"
    ]
    return line_plot(
        kind="timeline",
        title=f"{sc['label']}: activity and completion rate, faults shaded",
        y_label="per second",
        lines=lines,
        bands=bands,
        ticks=ticks,
        x_max=end,
    )


def _load_plots(sc: dict[str, Any]) -> str:
    """Throughput and latency per second of a load run (``load.series``: a list of
    per-second records with t, completions, p50_ms and p99_ms)."""
    load = sc.get("load") or {}
    points = load.get("series") or []
    if not points:
        return ""
    offset = float(load.get("started_offset_s", 0.0))
    xs = [offset + float(p["t"]) for p in points]
    bands = [
        Band(
            w["start_s"], w["end_s"] if w["end_s"] is not None else sc["duration_s"], _fault_text(w)
        )
        for w in sc["timeline"]["windows"]
    ]
    throughput = line_plot(
        kind="throughput",
        title="completed workflows per second under load",
        y_label="workflows/s",
        lines=[Line("completed/s", xs, [p.get("completions") for p in points])],
        bands=bands,
        x_max=sc["duration_s"],
    )
    latency = line_plot(
        kind="latency",
        title="end-to-end workflow latency",
        y_label="milliseconds",
        lines=[
            Line("p50", xs, [p.get("p50_ms") for p in points]),
            Line("p99", xs, [p.get("p99_ms") for p in points]),
        ],
        bands=bands,
        x_max=sc["duration_s"],
    )
    lat = load.get("latency_ms") or {}
    dip = load.get("dip") or {}

    def num(value: Any, fmt: str = "{:.1f}") -> str:
        return fmt.format(value) if isinstance(value, (int, float)) else "-"

    rows = [
        ["completed workflows/s", num(load.get("workflows_per_s"))],
        ["HTTP requests/s", num(load.get("requests_per_s"))],
        [
            "end-to-end latency p50 / p95 / p99 (ms)",
            " / ".join(num(lat.get(k), "{:.0f}") for k in ("p50", "p95", "p99")),
        ],
        ["baseline before the first fault (workflows/s)", num(load.get("baseline_wps"))],
        [
            "dip (workflows/s, share of baseline)",
            f"{num(dip.get('wps'))} ({num(dip.get('ratio'), '{:.0%}')})" if dip else "-",
        ],
        [
            "recovery to 90% of baseline",
            f"{load.get('recovery', '-')}"
            + (f" in {load['recovery_s']:.1f}s" if load.get("recovery_s") is not None else ""),
        ],
        [
            "orders submitted / accepted / completed",
            " / ".join(str(load.get(k, "-")) for k in ("submitted", "accepted", "completed")),
        ],
        ["failures by kind", escape(json.dumps(load.get("failures") or {}))],
    ]
    numbers = table(["load", "measured"], rows, "load")
    return throughput + latency + numbers


def _checks(sc: dict[str, Any]) -> str:
    rows = []
    for c in sc["checks"]:
        evidence = ""
        if c["evidence"]:
            opened = " open" if c["verdict"] != "pass" else ""
            items = "".join(f"<li>{escape(line)}</li>" for line in c["evidence"][:200])
            more = len(c["evidence"]) - 200
            tail = f"<li>… and {more} more (journal.json has all)</li>" if more > 0 else ""
            evidence = (
                f"<details{opened}><summary>{len(c['evidence'])} finding(s)</summary>"
                f"<ul>{items}{tail}</ul></details>"
            )
        rows.append([escape(c["name"]), badge(c["verdict"]), escape(c["summary"]) + evidence])
    return table(["check", "verdict", "summary and evidence"], rows, "checks")


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{escape(k)} {v}" for k, v in sorted(counts.items())) or "none"


def _coverage(cov: dict[str, Any] | None) -> str:
    """One scenario's coverage: activities run, paths taken, failpoints reached, and
    each fault's overlap with work in flight; what it missed is listed first."""
    if cov is None:
        return ""
    rows = [
        ["activity executions", _counts(cov["executions"])],
        ["re-executions", _counts(cov["reexecuted"])],
        ["paths taken (instances)", _counts(cov["paths"])],
        [
            "failpoints reached",
            ", ".join(
                f"{escape(n)} {c['hits']} hit(s), {c['fired']} fired"
                for n, c in sorted(cov["failpoints"].items())
            )
            or "none armed",
        ],
    ]
    for fault in cov["faults"]:
        work = (
            f"{fault['instances']} instance(s) in flight; activities running: "
            f"{_counts(fault['activities'])}"
            if fault["instances"] or fault["executions"]
            else '<span class="gap">no instance in flight</span>'
        )
        rows.append([f"fault: {escape(fault['kind'])} {escape(fault['target'])}", work])
    missed = cov.get("missed") or []
    gaps = (
        '<p class="gap">Not exercised, so unproven by this run: '
        + "; ".join(escape(m) for m in missed)
        + "</p>"
        if missed
        else ""
    )
    drawn = table(["exercised", "count"], rows, "coverage")
    return "<h3>Coverage</h3>" + gaps + drawn


def _run_coverage(cov: dict[str, Any] | None) -> str:
    """The whole run's coverage: counts over every scenario, paths no scenario took."""
    if not cov:
        return ""
    missed = cov.get("missed_paths") or []
    rows = [
        ["instances", str(cov["instances"])],
        ["activity executions", _counts(cov["executions"])],
        ["re-executions", _counts(cov["reexecuted"])],
        ["paths taken (instances)", _counts(cov["paths"])],
        [
            "paths no scenario took",
            '<span class="gap">' + escape(", ".join(missed)) + "</span>" if missed else "none",
        ],
        [
            "failpoints reached",
            ", ".join(
                f"{escape(n)} {c.get('hits', 0)} hit(s), {c.get('fired', 0)} fired"
                for n, c in sorted(cov["failpoints"].items())
            )
            or "none armed",
        ],
        ["faults that hit work in flight", f"{cov['faults_hitting_work']} of {cov['faults']}"],
    ]
    drawn = table(["exercised", "over the run"], rows, "coverage")
    return drawn.replace("<table", '<table id="run-coverage"', 1)


def history_table(rows: list[dict[str, str]], error: str | None = None) -> str:
    """A workflow history as a ``table.history``, one row per event (rows as
    :func:`harness.record.recorder.history_rows` makes them), every value escaped; or a
    line saying why there is none (``error``, or "empty")."""
    if not rows:
        return f"<p>history unavailable: {escape(error or 'empty')}</p>"
    cells = [
        [
            escape(r["index"]),
            escape(r["time"][11:23] if len(r["time"]) > 23 else r["time"]),
            escape(r["event"]),
            escape(r["name"]),
            escape(r["id"]),
            escape(r["detail"]),
        ]
        for r in rows
    ]
    return table(["#", "time (UTC)", "event", "name", "event id", "detail"], cells, "history")


def _failing_orders(sc: dict[str, Any]) -> str:
    if not sc["failing_orders"]:
        return ""
    parts = ["<h3>Failing orders and their workflow histories</h3>"]
    for order in sc["failing_orders"]:
        named = ", ".join(order["named_by"]) or "not terminal"
        out = json.dumps(order.get("output") or order.get("failure"), default=str)
        drawn = history_table(order["history"], order.get("history_error"))
        parts.append(
            f'<details open class="order"><summary><code>{escape(order["order_id"])}</code> '
            f"{escape(order['runtime_status'])}: named by {escape(named)}</summary>"
            f"<p class=meta>output: <code>{escape(out[:400])}</code></p>{drawn}</details>"
        )
    return "".join(parts)


def _scenario(sc: dict[str, Any]) -> str:
    meta = (
        f"file <code>{escape(sc['file'] or '-')}</code> · seed {sc['seed']} · "
        f"app {escape(str(sc['stack'].get('app', '-')))} · instance ids "
        f"<code>{escape(sc['instance_prefix'])}*</code> · {sc['duration_s']:.1f}s"
    )
    parts = [
        f'<section class="scenario" id="{anchor(sc["label"])}">',
        f"<h2>{escape(sc['label'])} {badge(sc['verdict'])}</h2>",
        f"<p>{escape(sc['description'])}</p>" if sc["description"] else "",
        f'<p class="meta">{meta}</p>',
    ]
    if sc["error"]:
        parts.append(f"<h3>Harness error</h3><pre>{escape(sc['error'])}</pre>")
    parts.append(_timeline_plot(sc))
    parts.append(_load_plots(sc))
    windows = sc["timeline"]["windows"]
    if windows:
        rows = [
            [
                f"{w['start_s']:.2f}",
                f"{w['end_s']:.2f}" if w["end_s"] is not None else "-",
                escape(w["kind"]),
                escape(w["target"]),
                escape(w["detail"]),
            ]
            for w in windows
        ]
        parts.append(
            "<h3>Faults</h3>" + table(["from s", "to s", "fault", "target", "detail"], rows)
        )
    fired = [h for h in sc["failpoint_hits"] if h["fired"]]
    if fired:
        rows = [
            [
                f"{h['t_s']:.2f}",
                escape(h["name"]),
                str(h["hit"]),
                escape(str(h["action"])),
                f"<code>{escape(str(h['workflow_id']))}</code>",
            ]
            for h in fired
        ]
        parts.append(
            "<h3>Failpoints fired</h3>"
            + table(["at s", "failpoint", "hit", "action", "order"], rows)
        )
    if sc["checks"]:
        parts.append("<h3>Checks</h3>" + _checks(sc))
    parts.append(_coverage(sc.get("coverage")))
    metrics = sc.get("metrics") or {}
    findings = metrics.get("known_findings", []) + metrics.get("worker_findings", [])
    if findings:
        items = "".join(f"<li>{escape(f)}</li>" for f in findings)
        parts.append(
            "<h3>Upstream findings</h3><p class=meta>Misbehaviour of the Dapr runtime or SDK "
            f"that the harness recognised (not blamed on the app):</p><ul>{items}</ul>"
        )
    if metrics:
        parts.append(
            "<details><summary>metrics</summary>"
            f"<pre>{escape(json.dumps(metrics, indent=1))}</pre></details>"
        )
    parts.append(_failing_orders(sc))
    if sc["logs"]:
        links = " · ".join(
            f'<a href="{escape(path)}">{escape(name)}</a>'
            for name, path in sorted(sc["logs"].items())
        )
        parts.append(f"<h3>Logs written during this scenario</h3><p>{links}</p>")
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def render(journal: dict[str, Any]) -> str:
    """The whole page for ``journal`` (schema dapr-chaos/journal/v1)."""
    rows = []
    for sc in journal["scenarios"]:
        checks = " ".join(
            f'<span title="{escape(c["summary"])}">'
            f"{escape(c['name'])}&nbsp;{badge(c['verdict'])}</span>"
            for c in sc["checks"]
        )
        faults = "; ".join(escape(_fault_text(w)) for w in sc["timeline"]["windows"]) or "none"
        m = sc.get("metrics") or {}
        rows.append(
            [
                f'<a href="#{anchor(sc["label"])}">{escape(sc["label"])}</a>',
                badge(sc["verdict"]),
                f"{sc['duration_s']:.1f}s",
                faults,
                checks or escape((sc["error"] or "").splitlines()[0] if sc["error"] else ""),
                str(m.get("orders_accepted", "-"))
                + (f" (+{m['orders_uncertain']} unanswered)" if m.get("orders_uncertain") else ""),
            ]
        )
    versions = journal["versions"]
    sdk = versions.get("sdk", {})
    summary = journal["summary"]
    head = (
        f"<h1>dapr-chaos: {escape(journal['name'])} {badge(journal['verdict'])}</h1>"
        f'<p class="meta">{summary["scenarios"]} scenario run(s): {summary["passed"]} passed, '
        f"{summary['failed']} failed, {summary['errors']} error(s) · status "
        f"{escape(journal['status'])} · deviated {str(journal['deviated']).lower()} · "
        f"started {escape(journal['started'])} · {journal['duration_s']:.1f}s</p>"
        f'<p class="meta">Dapr runtime {escape(str(versions.get("dapr_runtime")))} · '
        f"SDK dapr {escape(str(sdk.get('dapr')))} / dapr-ext-workflow "
        f"{escape(str(sdk.get('dapr-ext-workflow')))} · harness "
        f"{escape(str(versions.get('harness')))} · Valkey {escape(str(versions.get('valkey')))}"
        f" · Toxiproxy {escape(str(versions.get('toxiproxy')))} · Python "
        f"{escape(str(versions.get('python')))}</p>"
        f'<p class="meta">command: <code>{escape(" ".join(journal["command"]))}</code> · '
        '<a href="journal.json">journal.json</a> · <a href="junit.xml">junit.xml</a></p>'
    )
    verdicts = table(["scenario", "verdict", "took", "faults", "checks", "orders accepted"], rows)
    verdicts = verdicts.replace("<table>", '<table id="verdicts">', 1)
    body = "\n".join(_scenario(sc) for sc in journal["scenarios"])
    title = f"dapr-chaos: {journal['name']}: {journal['verdict'].upper()}"
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<header>{head}</header><section id="summary"><h2>Verdicts</h2>{verdicts}'
        f"<h2>Coverage</h2>{_run_coverage(journal.get('coverage'))}</section>"
        f"{body}</body></html>\n"
    )


def write_html(journal: dict[str, Any], report: Path) -> Path:
    path = report / "index.html"
    path.write_text(render(journal))
    return path
