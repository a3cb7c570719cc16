"""Report charts drawn on the server: horizontal stacked bars (a label above each bar, so they read on a
phone's narrow screen) and the rows of the hour × weekday heatmap."""
from __future__ import annotations

from dataclasses import dataclass

from ivr.reports.calls import Cell

WIDTH, ROW, BAR = 360, 40, 16         # SVG units; the chart scales to the screen's width
COLOURS = ("#1e8449", "#c0392b", "#9aa5b1")


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    value: float
    colour: str


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    total: float
    segments: tuple[Segment, ...]


def bars(rows: list[tuple[str, list[tuple[float, str]]]]) -> dict:
    """rows: (label, [(value, kind), ...]); kind picks the colour: the first kind green, the second red."""
    kinds: list[str] = []
    for _, parts in rows:
        kinds += [k for _, k in parts if k not in kinds]
    biggest = max((sum(v or 0 for v, _ in parts) for _, parts in rows), default=0) or 1
    scale = (WIDTH - 40) / biggest
    laid = []
    for i, (label, parts) in enumerate(rows):
        x, segments = 0.0, []
        for value, kind in parts:
            width = max(0.0, (value or 0) * scale)
            segments.append(Segment(x, width, value or 0, COLOURS[kinds.index(kind) % len(COLOURS)]))
            x += width
        laid.append(Bar(label, i * ROW, sum(v or 0 for v, _ in parts), tuple(segments)))
    return {"width": WIDTH, "height": max(ROW, len(rows) * ROW), "bars": laid, "bar": BAR,
            "legend": [(k, COLOURS[i % len(COLOURS)]) for i, k in enumerate(kinds)]}


def heat_rows(cells: dict[tuple[int, int], Cell]) -> list[tuple[int, list[Cell | None]]]:
    """One row per hour (the working day 08-19 always, any other hour with calls), a cell per weekday."""
    hours = {h for _, h in cells} | set(range(8, 20))
    return [(h, [cells.get((d, h)) for d in range(7)]) for h in range(min(hours), max(hours) + 1)]
