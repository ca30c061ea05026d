#!/usr/bin/env python3
"""Draws REPORT.md's picture: horizontal bar charts on a log scale, one panel per metric.

Usage: chart.py DATA.tsv OUT.svg
DATA.tsv lines: panel<TAB>label<TAB>value<TAB>ours|peer|limit  (a limit is drawn as a dashed
vertical line, e.g. a budget; panels are drawn in order of first
appearance; a value is a positive number measured by size-report/run, or "NA" for a row
that could not be measured, drawn as a label with "not measured" and no bar).
Hand-rolled SVG on purpose: no plotting library to install in CI.
"""
import math
import sys
from xml.sax.saxutils import escape

WIDTH = 820
LABEL_WIDTH = 300
VALUE_WIDTH = 90
BAR_HEIGHT = 22
BAR_GAP = 8
PANEL_TITLE = 44
PANEL_GAP = 26
AXIS = 24
COLORS = {"ours": "#2b7a3d", "peer": "#8a8f98", "limit": "#b00020"}


def tick(value):
    """Compact decade label: 1, 10, 100, 1k, 10k, 100k, 1M, 10M..."""
    for divisor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= divisor:
            return f"{value / divisor:g}{suffix}"
    return f"{value:g}"


def main():
    data_path, out_path = sys.argv[1], sys.argv[2]
    panels = []
    rows = {}
    limits = {}
    with open(data_path, encoding="utf-8") as data:
        for line in data:
            if not line.strip():
                continue
            panel, label, value, kind = line.rstrip("\n").split("\t")
            value = None if value == "NA" else float(value)
            if (value is not None and value <= 0) or kind not in COLORS:
                sys.exit(f"chart: bad row {line!r}")
            if panel not in rows:
                panels.append(panel)
                rows[panel] = []
                limits[panel] = []
            if kind == "limit":
                limits[panel].append((label, value))
            else:
                rows[panel].append((label, value, kind))
    if not panels:
        sys.exit("chart: no data")

    plot_left = LABEL_WIDTH
    plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 10
    parts = []
    y = 10
    for panel in panels:
        entries = rows[panel]
        measured = [v for _, v, _ in entries if v is not None] + [v for _, v in limits[panel]]
        measured = measured or [1, 10]
        smallest = min(measured)
        low = 10 ** math.floor(math.log10(smallest))
        if low >= smallest:
            low /= 10  # keep the smallest bar visible
        high = 10 ** math.ceil(math.log10(max(measured) * 1.0001))
        if high <= low:
            high = low * 10
        span = math.log10(high) - math.log10(low)

        def x_of(value):
            return plot_left + plot_width * (math.log10(value) - math.log10(low)) / span

        parts.append(f'<text x="10" y="{y + 20}" class="title">{escape(panel)}</text>')
        top = y + PANEL_TITLE
        bottom = top + len(entries) * (BAR_HEIGHT + BAR_GAP)
        decade = low
        while decade <= high * 1.0001:
            x = x_of(decade)
            parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" class="grid"/>')
            parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" class="tick">{tick(decade)}</text>')
            decade *= 10
        for index, (label, value, kind) in enumerate(entries):
            bar_y = top + index * (BAR_HEIGHT + BAR_GAP)
            parts.append(
                f'<text x="{plot_left - 8}" y="{bar_y + 15}" class="label">{escape(label)}</text>')
            if value is None:
                parts.append(f'<text x="{plot_left + 6}" y="{bar_y + 15}" class="missing">not measured</text>')
                continue
            bar_end = max(x_of(value), plot_left + 2)
            parts.append(
                f'<rect x="{plot_left}" y="{bar_y}" width="{bar_end - plot_left:.1f}" '
                f'height="{BAR_HEIGHT}" fill="{COLORS[kind]}"/>')
            parts.append(f'<text x="{bar_end + 6:.1f}" y="{bar_y + 15}" class="value">{value:,.0f}</text>')
        for label, value in limits[panel]:
            x = x_of(value)
            parts.append(f'<line x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{bottom}" class="limit"/>')
            parts.append(f'<text x="{x + 4:.1f}" y="{top - 10}" class="limitlabel">{escape(label)}</text>')
        y = bottom + AXIS + PANEL_GAP
    height = y
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">',
        "<style>.title{font-weight:bold;font-size:15px}.label{text-anchor:end}"
        ".tick{text-anchor:middle;fill:#555;font-size:11px}.grid{stroke:#ddd}"
        ".value{fill:#222}.missing{fill:#b00020;font-style:italic}"
        ".limit{stroke:#b00020;stroke-width:1.5;stroke-dasharray:5,3}.limitlabel{fill:#b00020;font-size:11px}</style>",
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        *parts,
        "</svg>",
    ]
    with open(out_path, "w", encoding="utf-8") as out:
        out.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
