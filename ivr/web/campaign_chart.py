"""The console's chart of a campaign's outcomes over time: stacked bars per time bucket, laid out
here and drawn as inline SVG by templates/campaign_chart.html (no JavaScript chart library)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from ivr.campaigns.progress import Timeline, label

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 26
# Answers green/blue, the dispatcher amber, unreached greys and reds.
COLOURS = {"confirm": "#1e8449", "understood": "#2e86c1", "cancel": "#c0392b", "dispatcher": "#d68910",
           "marked": "#7d3c98", "machine": "#5d6d7e", "no_input": "#af7ac5", "busy": "#e67e22", "declined": "#ca6f1e",
           "no_answer": "#95a5a6", "congestion": "#873600", "unreachable": "#34495e", "interrupted": "#f1948a",
           "lost": "#17202a"}
OTHER = "#bdc3c7"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str                    # the tooltip: bucket time, outcome, count


@dataclass(frozen=True)
class Tick:
    at: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    legend: tuple[tuple[str, str, str], ...]      # (outcome, label, colour)
    baseline: float
    left: int

    @property
    def empty(self) -> bool:
        return not self.bars


def layout(t: Timeline, tz: tzinfo) -> Chart:
    """Bars stacked in the timeline's outcome order; times shown in `tz` (the plan's zone)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    peak = max(t.peak, 1)
    slot = plot_w / max(len(t.starts), 1)
    gap = min(2.0, slot * 0.15)
    fmt = "%d.%m" if t.step.total_seconds() >= 86400 else "%H:%M"
    bars = []
    for i, (start, counts) in enumerate(zip(t.starts, t.counts)):
        y = float(base)
        when = start.astimezone(tz).strftime("%d.%m %H:%M")
        for outcome in t.outcomes:
            n = counts.get(outcome, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            bars.append(Bar(round(LEFT + i * slot + gap / 2, 2), round(y, 2), round(slot - gap, 2), round(h, 2),
                            COLOURS.get(outcome, OTHER), f"{when} {label(outcome)}: {n}"))
    every = max(1, -(-len(t.starts) // 8))           # at most about 8 time labels
    x_ticks = tuple(Tick(round(LEFT + (i + 0.5) * slot, 2), s.astimezone(tz).strftime(fmt))
                    for i, s in enumerate(t.starts) if i % every == 0)
    marks = {0, peak} | ({peak // 2} if peak >= 4 else set())       # a middle line only where it helps
    y_ticks = tuple(Tick(round(base - plot_h * v / peak, 2), str(v)) for v in sorted(marks))
    legend = tuple((o, label(o), COLOURS.get(o, OTHER)) for o in t.outcomes)
    return Chart(WIDTH, HEIGHT, tuple(bars), y_ticks, x_ticks, legend, float(base), LEFT)
