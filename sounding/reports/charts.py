"""Charts drawn on the server as inline SVG: no image files, no JavaScript.

Widths and positions are percentages of the chart's width, so a chart fills a phone or a
desktop column while its text keeps its real size. Colours are CSS classes (report.css), which
follow the app's palette in light and dark mode. Each chart is an image with a title and a
description for screen readers; the page puts the same numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from sounding.reports.results import Row, show_percent

ROW_HEIGHT = 40  # px: a line of text, then the bar under it
BAR_HEIGHT = 12
LABEL_CHARS = 30  # longer labels are cut in the chart (the table has them whole)
STACK_HEIGHT = 28
LEGEND_ROW = 24


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _value(row: Row) -> str:
    return f"{row.count:,} · {show_percent(row.share)}"


def _width(share: float) -> str:
    return f"{max(0.0, min(100.0, share)):.2f}%"


def _open(chart_id: str, css: str, height: int, title: str, description: str) -> list[str]:
    return [
        f'<svg class="chart {css}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'width="100%" height="{height}" focusable="false" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]


def bar_chart(chart_id: str, title: str, rows: Sequence[Row], description: str = "") -> SafeString:
    """Horizontal bars, one per row, as long as the row's share (of 100%)."""
    description = description or "; ".join(f"{r.label}: {_value(r)}" for r in rows)
    parts = _open(chart_id, "chart-bars", ROW_HEIGHT * len(rows), title, description)
    for i, row in enumerate(rows):
        top = i * ROW_HEIGHT
        parts += [
            f'<g class="chart-row{" chart-" + row.key if row.key else ""}">',
            f'<text class="chart-label" x="0" y="{top + 15}">{escape(_short(row.label))}</text>',
            f'<text class="chart-value" x="100%" y="{top + 15}" text-anchor="end">'
            f"{escape(_value(row))}</text>",
            f'<rect class="chart-track" x="0" y="{top + 22}" width="100%" '
            f'height="{BAR_HEIGHT}" rx="3"/>',
            f'<rect class="chart-bar" x="0" y="{top + 22}" width="{_width(row.share)}" '
            f'height="{BAR_HEIGHT}" rx="3"/>',
            "</g>",
        ]
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def stacked_bar(
    chart_id: str, title: str, rows: Sequence[Row], description: str = ""
) -> SafeString:
    """One bar split into the rows' shares (which add up to 100%), with a legend under it."""
    description = description or "; ".join(f"{r.label}: {_value(r)}" for r in rows)
    height = STACK_HEIGHT + 12 + LEGEND_ROW * len(rows)
    parts = _open(chart_id, "chart-stack", height, title, description)
    parts.append(f'<rect class="chart-track" x="0" y="0" width="100%" height="{STACK_HEIGHT}"/>')
    start = 0.0
    for row in rows:
        if row.share > 0:
            parts.append(
                f'<rect class="chart-seg chart-{row.key}" x="{_width(start)}" y="0" '
                f'width="{_width(row.share)}" height="{STACK_HEIGHT}"/>'
            )
        start += row.share
    for i, row in enumerate(rows):
        top = STACK_HEIGHT + 12 + i * LEGEND_ROW
        parts += [
            f'<rect class="chart-seg chart-{row.key}" x="0" y="{top + 3}" width="14" '
            'height="14" rx="2"/>',
            f'<text class="chart-label" x="22" y="{top + 15}">{escape(row.label)}</text>',
            f'<text class="chart-value" x="100%" y="{top + 15}" text-anchor="end">'
            f"{escape(_value(row))}</text>",
        ]
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


TREND_HEIGHT = 160  # px: the plot, then a line for the first and last bucket's names
TREND_TOP = 18  # px above the plot, for a value over the highest column
AXIS_ROW = 22
LABELLED_COLUMNS = 16  # more columns than this are too narrow for their values


def figure_bars(
    chart_id: str, title: str, bars: Sequence[tuple[str, float, str]], description: str = ""
) -> SafeString:
    """Horizontal bars (label, fraction of the scale from 0 to 1, value as text): a score per
    group, where the bar's length places the score on the question's scale."""
    description = description or "; ".join(f"{label}: {text}" for label, _, text in bars)
    parts = _open(chart_id, "chart-bars", ROW_HEIGHT * len(bars), title, description)
    for i, (label, fraction, text) in enumerate(bars):
        top = i * ROW_HEIGHT
        parts += [
            '<g class="chart-row">',
            f'<text class="chart-label" x="0" y="{top + 15}">{escape(_short(label))}</text>',
            f'<text class="chart-value" x="100%" y="{top + 15}" text-anchor="end">'
            f"{escape(text)}</text>",
            f'<rect class="chart-track" x="0" y="{top + 22}" width="100%" '
            f'height="{BAR_HEIGHT}" rx="3"/>',
            f'<rect class="chart-bar" x="0" y="{top + 22}" width="{_width(100 * fraction)}" '
            f'height="{BAR_HEIGHT}" rx="3"/>',
            "</g>",
        ]
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def trend_chart(
    chart_id: str,
    title: str,
    points: Sequence[tuple[str, float | None, str]],
    low: float,
    high: float,
) -> SafeString:
    """Columns, one per bucket (name, value or None for a bucket without answers, value as
    text), on a scale from `low` to `high`; a scale below zero (NPS) grows from a zero line."""
    description = "; ".join(f"{name}: {text}" for name, _, text in points)
    height = TREND_TOP + TREND_HEIGHT + 2 + AXIS_ROW
    parts = _open(chart_id, "chart-trend", height, title, description)
    span = (high - low) or 1.0
    zero = min(max(0.0, low), high)

    def y(value: float) -> float:
        return TREND_TOP + TREND_HEIGHT * (high - value) / span

    parts.append(
        f'<line class="chart-axis" x1="0" x2="100%" y1="{y(zero):.1f}" y2="{y(zero):.1f}"/>'
    )
    n = max(1, len(points))
    slot = 100 / n
    for i, (_, value, text) in enumerate(points):
        if value is None:
            continue
        top, bottom = sorted((y(value), y(zero)))
        parts.append(
            f'<rect class="chart-bar" x="{i * slot + slot * 0.15:.3f}%" y="{top:.1f}" '
            f'width="{slot * 0.7:.3f}%" height="{max(bottom - top, 1.5):.1f}" rx="2"/>'
        )
        if len(points) <= LABELLED_COLUMNS:
            # Over a column that grows up, under one that grows down (a negative NPS).
            at = top - 5 if value >= zero else bottom + 14
            parts.append(
                f'<text class="chart-value" x="{(i + 0.5) * slot:.3f}%" y="{at:.1f}" '
                f'text-anchor="middle">{escape(text.split(",")[0])}</text>'
            )
    if points:
        base = TREND_TOP + TREND_HEIGHT + 18
        parts.append(f'<text class="chart-label" x="0" y="{base}">{escape(points[0][0])}</text>')
        if len(points) > 1:
            parts.append(
                f'<text class="chart-label" x="100%" y="{base}" text-anchor="end">'
                f"{escape(points[-1][0])}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
