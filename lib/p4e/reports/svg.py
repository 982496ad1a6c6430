"""Inline SVG charts for the reports: no scripts, no fonts or files from the network.

Two charts: a dot plot of rates with CI bars, one row per subgroup (with an
optional hollow marker for a second period), and a gap-over-time chart with CI
bars per year against a shaded baseline band. Both return an `<svg>` string.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

INK, MUTED, ACCENT, REFERENCE, BAND = "#1f2933", "#9aa5b1", "#1f6feb", "#d9480f", "#fff1e6"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:12px"


@dataclass(frozen=True)
class Dot:
    """One row of a dot plot.

    Attributes:
        label: row label.
        value: point estimate (None: no dot; `note` is written instead).
        low, high: CI bounds (None: no bar).
        note: text at the right of the row (e.g. "n = 412" or "suppressed, n < 11").
        is_reference: drawn in the reference colour.
        previous: a second period's value, drawn as a hollow marker (e.g. the baseline).
    """

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""
    is_reference: bool = False
    previous: float | None = None


@dataclass(frozen=True)
class GapPoint:
    """One year of a gap-over-time chart."""

    year: int
    gap: float | None
    low: float | None = None
    high: float | None = None


def dot_plot(dots: Sequence[Dot], *, title: str, previous_label: str | None = None) -> str:
    """Rates (0-100 %) per row with CI bars; a legend when `previous` markers are drawn."""
    left, plot, right, row, top = 310, 330, 130, 24, 34
    height = top + row * len(dots) + (52 if previous_label else 30)
    x = _scale(0.0, 1.0, left, left + plot)
    parts = [_title(title), *_x_grid(x, top, top + row * len(dots), percent=True)]
    for i, dot in enumerate(dots):
        y = top + row * i + row / 2
        colour = REFERENCE if dot.is_reference else ACCENT
        weight = "600" if dot.is_reference else "400"
        parts.append(_text(left - 8, y + 4, dot.label, anchor="end", weight=weight))
        if dot.low is not None and dot.high is not None:
            parts.append(_line(x(dot.low), y, x(dot.high), y, colour, 2))
            parts += [_line(x(v), y - 5, x(v), y + 5, colour, 2) for v in (dot.low, dot.high)]
        if dot.previous is not None:
            parts.append(
                f'<circle cx="{x(dot.previous):.1f}" cy="{y:.1f}" r="5" fill="white" '
                f'stroke="{MUTED}" stroke-width="2"/>'
            )
        if dot.value is not None:
            parts.append(f'<circle cx="{x(dot.value):.1f}" cy="{y:.1f}" r="5" fill="{colour}"/>')
        parts.append(_text(left + plot + 10, y + 4, dot.note, fill=MUTED))
    if previous_label:
        y = height - 8
        parts.append(f'<circle cx="{left + 6}" cy="{y - 4}" r="5" fill="{ACCENT}"/>')
        parts.append(_text(left + 16, y, "this year"))
        parts.append(
            f'<circle cx="{left + 96}" cy="{y - 4}" r="5" fill="white" stroke="{MUTED}" '
            'stroke-width="2"/>'
        )
        parts.append(_text(left + 106, y, previous_label))
    return _svg(left + plot + right, height, title, parts)


def gap_trend(
    points: Sequence[GapPoint],
    *,
    title: str,
    band: tuple[float, float, float] | None = None,
    band_label: str = "baseline",
) -> str:
    """Gap (percentage points) per year with CI bars, zero line and an optional band.

    Args:
        points: one per year, in order.
        title: chart title (also the accessible name).
        band: (gap, low, high) drawn as a shaded band with its centre line, e.g. the
            baseline gap and its CI.
        band_label: legend of the band.
    """
    left, plot_w, plot_h, top = 60, 440, 180, 34
    values = [v for p in points for v in (p.gap, p.low, p.high) if v is not None]
    values += [*list(band or ()), 0.0]
    low, high = _nice_range(min(values), max(values))
    y = _scale(high, low, top, top + plot_h)
    step = plot_w / max(len(points), 1)
    parts = [_title(title)]
    if band is not None:
        parts.append(
            f'<rect x="{left}" y="{y(band[2]):.1f}" width="{plot_w}" '
            f'height="{max(y(band[1]) - y(band[2]), 1):.1f}" fill="{BAND}"/>'
        )
        parts.append(_line(left, y(band[0]), left + plot_w, y(band[0]), REFERENCE, 1, dash=True))
        parts.append(_text(left + plot_w + 6, y(band[0]) + 4, band_label, fill=REFERENCE))
    for tick in _ticks(low, high):
        parts.append(_line(left, y(tick), left + plot_w, y(tick), "#e4e7eb", 1))
        parts.append(_text(left - 6, y(tick) + 4, f"{tick * 100:+.0f}", anchor="end", fill=MUTED))
    parts.append(_line(left, y(0.0), left + plot_w, y(0.0), INK, 1))
    for i, p in enumerate(points):
        cx = left + step * (i + 0.5)
        parts.append(_text(cx, top + plot_h + 16, str(p.year), anchor="middle"))
        if p.low is not None and p.high is not None:
            parts.append(_line(cx, y(p.low), cx, y(p.high), ACCENT, 2))
            parts += [_line(cx - 5, y(v), cx + 5, y(v), ACCENT, 2) for v in (p.low, p.high)]
        if p.gap is not None:
            parts.append(f'<circle cx="{cx:.1f}" cy="{y(p.gap):.1f}" r="5" fill="{ACCENT}"/>')
        else:
            parts.append(_text(cx, y(0.0) - 6, "n/a", anchor="middle", fill=MUTED))
    parts.append(
        _text(14, top + plot_h / 2, "gap (points)", anchor="middle", fill=MUTED,
              rotate=(14, top + plot_h / 2))
    )  # fmt: skip
    return _svg(left + plot_w + 80, top + plot_h + 28, title, parts)


def _scale(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    return lambda v: r0 + (v - d0) * (r1 - r0) / (d1 - d0)


def _nice_range(low: float, high: float) -> tuple[float, float]:
    """Bounds rounded out to 5 points, at least 10 points apart."""
    low, high = math.floor(min(low, 0.0) * 20) / 20, math.ceil(max(high, 0.0) * 20) / 20
    if high - low < 0.10:
        high = low + 0.10
    return low, high


def _ticks(low: float, high: float) -> list[float]:
    step = 0.05 if high - low <= 0.4 else 0.10
    n = round((high - low) / step)
    return [round(low + step * i, 4) for i in range(n + 1)]


def _x_grid(x: Callable[[float], float], top: float, bottom: float, *, percent: bool) -> list[str]:
    parts = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(_line(x(tick), top, x(tick), bottom, "#e4e7eb", 1))
        label = f"{tick * 100:.0f}%" if percent else f"{tick:g}"
        parts.append(_text(x(tick), bottom + 14, label, anchor="middle", fill=MUTED))
    return parts


def _title(title: str) -> str:
    return _text(0, 16, title, weight="600", size=13)


def _line(
    x1: float, y1: float, x2: float, y2: float, colour: str, width: float, *, dash: bool = False
) -> str:
    extra = ' stroke-dasharray="5 4"' if dash else ""
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
        f'stroke-width="{width}"{extra}/>'
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    fill: str = INK,
    weight: str = "400",
    size: int = 12,
    rotate: tuple[float, float] | None = None,
) -> str:
    transform = f' transform="rotate(-90 {rotate[0]:.1f} {rotate[1]:.1f})"' if rotate else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" '
        f'font-weight="{weight}" font-size="{size}"{transform}>{escape(text)}</text>'
    )


def _svg(width: float, height: float, title: str, parts: list[str]) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(title)}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" style="{FONT}">' + "".join(parts) + "</svg>"
    )
