"""Line plots as inline SVG, with fault windows shaded and events marked.

Static and dependency-free so a report opens from disk in any browser, offline, and
tests can find the plots in the DOM (each ``<svg>`` has ``class="plot <kind>"``). The x
axis is seconds since the scenario started.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
WINDOW_FILL = "#f28e8e"  # fault windows: a red wash readers know from Jepsen's plots
HIT_COLOR = "#d62728"


@dataclass(frozen=True)
class Line:
    """One series: ``ys[i]`` at ``xs[i]``; None leaves a gap."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]


@dataclass(frozen=True)
class Band:
    """A shaded span [start, end] seconds (a fault window), labelled."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Tick:
    """A vertical marker at ``x`` seconds (a failpoint hit, a phase change)."""

    x: float
    label: str
    kind: str = "hit"  # "hit" (red, short) or "phase" (grey dashed, full height)


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(1, target)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        if value >= lo - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.2e}"


def line_plot(
    *,
    kind: str,
    title: str,
    y_label: str,
    lines: Sequence[Line],
    bands: Sequence[Band] = (),
    ticks: Sequence[Tick] = (),
    x_max: float | None = None,
    width: int = 860,
    height: int = 260,
) -> str:
    """An SVG line plot. ``kind`` names the plot in its class (e.g. "timeline")."""
    left, right, top, bottom = 58, 150, 28, 38
    pw, ph = width - left - right, height - top - bottom
    xs_all = [x for ln in lines for x in ln.xs] + [b.end for b in bands] + [t.x for t in ticks]
    xmax = x_max if x_max is not None else max(xs_all, default=1.0)
    xmax = max(xmax, 1e-3)
    ys_all = [y for ln in lines for y in ln.ys if y is not None]
    ymax = max(ys_all, default=1.0) * 1.1 or 1.0
    xt = nice_ticks(0, xmax)
    yt = nice_ticks(0, ymax, 4)
    ymax = max(ymax, yt[-1])
    xmax = max(xmax, xt[-1])

    def sx(x: float) -> float:
        return left + pw * x / xmax

    def sy(y: float) -> float:
        return top + ph - ph * y / ymax

    out = [
        f'<svg class="plot {escape(kind)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" class="title">{escape(title)}</text>',
    ]
    for index, band in enumerate(bands):
        x0, x1 = sx(max(0.0, band.start)), sx(min(xmax, band.end))
        out.append(
            f'<rect class="fault-window" x="{x0:.1f}" y="{top}" width="{max(2.0, x1 - x0):.1f}" '
            f'height="{ph}" fill="{WINDOW_FILL}" fill-opacity="0.45">'
            f"<title>{escape(band.label)}</title></rect>"
        )
        out.append(
            # Overlapping faults: stagger their labels.
            f'<text x="{x0 + 3:.1f}" y="{top + 11 + 12 * (index % 3)}" class="band-label">'
            f"{escape(band.label[:28])}</text>"
        )
    for value in yt:
        y = sy(value)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="ytick">{_fmt(value)}</text>')
    for value in xt:
        x = sx(value)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + ph}" y2="{top + ph + 4}" class="axis"/>'
        )
        out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" class="xtick">{_fmt(value)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="frame" fill="none"/>')
    out.append(
        f'<text x="{left + pw / 2:.1f}" y="{height - 4}" class="xlabel">'
        "seconds since the scenario started</text>"
    )
    out.append(
        f'<text transform="translate(14 {top + ph / 2:.1f}) rotate(-90)" class="ylabel">'
        f"{escape(y_label)}</text>"
    )
    phases = 0
    for tick in ticks:
        x = sx(tick.x)
        if tick.kind == "phase":
            # Phases often follow each other closely: stagger their labels.
            label_y = top + ph - 4 - 12 * (phases % 3)
            phases += 1
            out.append(
                f'<line class="phase" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}">'
                f"<title>{escape(tick.label)}</title></line>"
            )
            out.append(
                f'<text x="{x + 2:.1f}" y="{label_y}" class="phase-label">'
                f"{escape(tick.label)}</text>"
            )
        else:
            out.append(
                f'<path class="failpoint-hit" d="M{x:.1f} {top + ph} l-4 8 h8 z" '
                f'fill="{HIT_COLOR}"><title>{escape(tick.label)}</title></path>'
            )
    for i, ln in enumerate(lines):
        color = PALETTE[i % len(PALETTE)]
        segments: list[list[str]] = [[]]
        for x, maybe_y in zip(ln.xs, ln.ys, strict=False):
            if maybe_y is None:
                segments.append([])
                continue
            segments[-1].append(f"{sx(x):.1f},{sy(maybe_y):.1f}")
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{color}"/>')
            elif seg:
                out.append(
                    f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.8" '
                    f'points="{" ".join(seg)}"/>'
                )
        ly = top + 10 + 16 * i
        out.append(
            f'<line x1="{left + pw + 10}" x2="{left + pw + 26}" y1="{ly}" y2="{ly}" '
            f'stroke="{color}" stroke-width="2.5"/>'
        )
        out.append(
            f'<text x="{left + pw + 30}" y="{ly + 4}" class="legend">{escape(ln.label)}</text>'
        )
    legend_y = top + 10 + 16 * len(lines)
    if bands:
        out.append(
            f'<rect x="{left + pw + 10}" y="{legend_y - 6}" width="16" height="10" '
            f'fill="{WINDOW_FILL}" fill-opacity="0.45"/>'
        )
        out.append(f'<text x="{left + pw + 30}" y="{legend_y + 4}" class="legend">fault</text>')
        legend_y += 16
    if any(t.kind == "hit" for t in ticks):
        out.append(f'<path d="M{left + pw + 18} {legend_y - 6} l-4 8 h8 z" fill="{HIT_COLOR}"/>')
        out.append(
            f'<text x="{left + pw + 30}" y="{legend_y + 4}" class="legend">failpoint hit</text>'
        )
    out.append("</svg>")
    return "\n".join(out)
