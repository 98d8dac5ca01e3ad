"""Inline SVG charts for the report, drawn in Python (no JavaScript library, no CDN).

Every chart is one `<svg class="chart" data-chart="...">`; each drawn mark
carries `data-mark` and a `data-tip` (the report's small script shows it as
a tooltip, and counts the charts that drew). A `<title>` on each mark gives
the same text to browsers without scripts and to screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

STATUS_COLOURS = {
    "met": "#2e7d32",
    "on track": "#66bb6a",
    "at risk": "#f9a825",
    "missed": "#c62828",
    "not enough data": "#9e9e9e",
}
PROVINCE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
INK = "#333"
GRID = "#ddd"


def _attr(text: object) -> str:
    return escape(str(text), quote=True)


def _svg(name: str, width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg class="chart" data-chart="{_attr(name)}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
            f'role="img" aria-label="{_attr(label)}">' + "".join(body) + "</svg>")


def _mark(tag: str, tip: str, **attrs: object) -> str:
    """One data mark with its tooltip (data-tip + a <title> child)."""
    rendered = " ".join(f'{k.rstrip("_").replace("_", "-")}="{_attr(v)}"'
                        for k, v in attrs.items())
    return (f'<{tag} data-mark="1" data-tip="{_attr(tip)}" {rendered}>'
            f"<title>{escape(tip)}</title></{tag}>")


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start",
          fill: str = INK, weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}" font-weight="{weight}">{escape(text)}</text>')


def text_width(text: str, size: float) -> float:
    """Rough rendered width: CJK characters are about one em, others about 0.6 em."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on `background` (#rrggbb)."""
    r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#fff"


def nice_max(value: float) -> float:
    """A round axis top at or above `value` (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


# ------------------------------------------------------------------ status


def status_bars(rows: Sequence[tuple[str, dict[str, int]]], statuses: Sequence[str],
                labels: dict[str, str]) -> str:
    """Horizontal stacked bars: for each row label, the count of each status."""
    width, left, bar_h, gap = 560, 150, 22, 10
    body = []
    total_max = max([sum(c.values()) for _, c in rows] + [1])
    scale = (width - left - 20) / total_max
    for i, (label, counts) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        body.append(_text(left - 8, y + bar_h * 0.7, label, anchor="end", size=12))
        x = float(left)
        for status in statuses:
            n = counts.get(status, 0)
            if not n:
                continue
            w = n * scale
            body.append(_mark("rect", f"{label}: {n} {labels.get(status, status)}",
                              x=f"{x:.1f}", y=y, width=f"{w:.1f}", height=bar_h,
                              fill=STATUS_COLOURS[status]))
            if w > 18:
                body.append(_text(x + w / 2, y + bar_h * 0.7, str(n), anchor="middle",
                                  fill=text_colour(STATUS_COLOURS[status]), size=11))
            x += w
    y = 14 + len(rows) * (bar_h + gap)
    x = 10.0
    for status in statuses:
        label = labels.get(status, status)
        if x + 14 + text_width(label, 10) > width:
            x, y = 10.0, y + 16
        body.append(f'<rect x="{x:.0f}" y="{y}" width="10" height="10" '
                    f'fill="{STATUS_COLOURS[status]}"/>')
        body.append(_text(x + 13, y + 9, label, size=10))
        x += 14 + text_width(label, 10) + 12
    return _svg("status", width, y + 16, body, "indicator statuses")


# --------------------------------------------------------------- PM2.5 trend


@dataclass(frozen=True)
class TrendPanel:
    title: str
    days: Sequence[date]
    values: Sequence[float]
    month_means: Sequence[tuple[date, float]]  # (mid-month, mean)
    period_value: float | None  # the year's value to date (for the caption)
    status: str


def trend_small_multiple(panel: TrendPanel, first: date, last: date, target: float,
                         y_max: float, unit: str) -> str:
    """One city's daily PM2.5 (line), monthly means (dots) and the target (dashed)."""
    width, height = 230, 120
    left, right, top, bottom = 30, 8, 22, 18
    span = max((last - first).days, 1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(day: date) -> float:
        return left + (day - first).days / span * plot_w

    def y(value: float) -> float:
        return top + plot_h - min(value, y_max) / y_max * plot_h

    colour = STATUS_COLOURS.get(panel.status, INK)
    body = [_text(2, 13, panel.title, size=11, weight="bold"),
            _text(width - 2, 13, "" if panel.period_value is None
                  else f"{panel.period_value:.0f} {unit}", size=11, anchor="end", fill=colour)]
    for tick in (0, y_max / 2, y_max):
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="{GRID}" stroke-width="0.6"/>')
        body.append(_text(left - 3, y(tick) + 3, f"{tick:.0f}", size=8, anchor="end",
                          fill="#777"))
    body.append(_text(left, height - 4, f"{first:%m-%d}", size=8, fill="#777"))
    body.append(_text(width - right, height - 4, f"{last:%m-%d}", size=8, anchor="end",
                      fill="#777"))
    # Daily line, broken where a day is missing.
    segments: list[list[str]] = []
    previous: date | None = None
    for day, value in zip(panel.days, panel.values, strict=True):
        if previous is None or (day - previous).days > 1:
            segments.append([])
        segments[-1].append(f"{x(day):.1f},{y(value):.1f}")
        previous = day
    for points in segments:
        if len(points) == 1:
            cx, cy = points[0].split(",")
            body.append(f'<circle cx="{cx}" cy="{cy}" r="1.2" fill="#6d8fb3"/>')
        else:
            body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#6d8fb3" '
                        f'stroke-width="1"/>')
    body.append(_mark("line", f"target {target:g} {unit}", x1=left, x2=width - right,
                      y1=f"{y(target):.1f}", y2=f"{y(target):.1f}", stroke="#c62828",
                      stroke_width="1.2", stroke_dasharray="4 3"))
    for mid, mean in panel.month_means:
        body.append(_mark("circle", f"{panel.title} {mid:%Y-%m} mean {mean:.1f} {unit} "
                                    f"(target {target:g})",
                          cx=f"{x(mid):.1f}", cy=f"{y(mean):.1f}", r="3.2",
                          fill=STATUS_COLOURS["missed"] if mean > target
                          else STATUS_COLOURS["met"], stroke="#fff", stroke_width="0.8"))
    return _svg("pm25-trend", width, height, body, f"PM2.5 trend {panel.title}")


# ------------------------------------------------------------- AQI calendar


@dataclass(frozen=True)
class Category:
    level: int
    low: float
    high: float | None
    name_zh: str
    name_en: str
    colour: str


def category_of(aqi: float, categories: Sequence[Category]) -> Category:
    for cat in categories:
        if cat.high is None or aqi <= cat.high:
            return cat
    return categories[-1]


def aqi_calendar(rows: Sequence[tuple[str, dict[date, tuple[float, str]]]],
                 days: Sequence[date], categories: Sequence[Category]) -> str:
    """Cities x days, each day coloured by its HJ 633 AQI category (grey: no AQI)."""
    label_w, gap = 150, 2
    cell = 24 if len(days) <= 31 else 17
    width = max(label_w + len(days) * (cell + gap) + 10, 760)
    height = 34 + len(rows) * (cell + gap) + 50
    body = []
    for j, day in enumerate(days):
        x = label_w + j * (cell + gap)
        weekend = day.weekday() >= 5
        body.append(_text(x + cell / 2, 24, f"{day.day}", size=9, anchor="middle",
                          fill="#c62828" if weekend else "#555"))
    for i, (label, by_day) in enumerate(rows):
        y = 32 + i * (cell + gap)
        body.append(_text(label_w - 6, y + cell * 0.75, label, size=10, anchor="end"))
        for j, day in enumerate(days):
            x = label_w + j * (cell + gap)
            if day in by_day:
                aqi, primary = by_day[day]
                cat = category_of(aqi, categories)
                tip = (f"{label} {day:%Y-%m-%d}: AQI {aqi:.0f} {cat.name_zh} {cat.name_en}"
                       + (f", primary {primary}" if primary else ""))
                body.append(_mark("rect", tip, x=x, y=y, width=cell, height=cell, rx=2,
                                  fill=cat.colour))
            else:
                body.append(_mark("rect", f"{label} {day:%Y-%m-%d}: no daily AQI", x=x, y=y,
                                  width=cell, height=cell, rx=2, fill="#fff", stroke="#bbb",
                                  stroke_dasharray="2 2"))
    y = 40 + len(rows) * (cell + gap)
    x = float(label_w)
    for cat in categories:
        rng = f"{cat.low:.0f}-{cat.high:.0f}" if cat.high is not None else f">{cat.low - 1:.0f}"
        label = f"{cat.name_zh} {cat.name_en} {rng}"
        if x + 16 + text_width(label, 10) > width:
            x, y = float(label_w), y + 18
        body.append(f'<rect x="{x:.0f}" y="{y}" width="12" height="12" rx="2" '
                    f'fill="{cat.colour}" stroke="#999" stroke-width="0.4"/>')
        body.append(_text(x + 16, y + 10, label, size=10))
        x += 28 + text_width(label, 10)
    return _svg("aqi-calendar", width, max(height, y + 24), body, "daily AQI calendar")


# ------------------------------------------------------------ water sections


@dataclass(frozen=True)
class SectionRow:
    label: str
    target: str
    classes: dict[str, tuple[str, bool | None]]  # month -> (class, compliant)


def water_grid(rows: Sequence[SectionRow], months: Sequence[str],
               colours: dict[str, str]) -> str:
    """Sections x months: the monthly class, coloured; a thick red frame when off target."""
    label_w, target_w, cell_w, cell_h, gap = 290, 56, 46, 20, 3
    width = max(label_w + target_w + len(months) * (cell_w + gap) + 10, 720)
    height = 36 + len(rows) * (cell_h + gap) + 34
    body = [_text(label_w + target_w / 2, 24, "target 目标", size=10, anchor="middle",
                  fill="#555")]
    for j, month in enumerate(months):
        x = label_w + target_w + j * (cell_w + gap)
        body.append(_text(x + cell_w / 2, 24, month, size=9, anchor="middle", fill="#555"))
    for i, row in enumerate(rows):
        y = 32 + i * (cell_h + gap)
        body.append(_text(label_w - 6, y + cell_h * 0.72, row.label, size=10, anchor="end"))
        body.append(_text(label_w + target_w / 2, y + cell_h * 0.72, row.target, size=11,
                          anchor="middle", weight="bold"))
        for j, month in enumerate(months):
            x = label_w + target_w + j * (cell_w + gap)
            if month not in row.classes:
                body.append(_mark("rect", f"{row.label} {month}: no monthly class", x=x, y=y,
                                  width=cell_w, height=cell_h, fill="#fff", stroke="#bbb",
                                  stroke_dasharray="2 2"))
                continue
            water_class, compliant = row.classes[month]
            fill = colours.get(water_class, "#bbb")
            verdict = {True: "meets", False: "MISSES", None: "no target for"}[compliant]
            tip = f"{row.label} {month}: class {water_class}, {verdict} target {row.target}"
            extra = ({"stroke": "#b71c1c", "stroke_width": "3"} if compliant is False else {})
            body.append(_mark("rect", tip, x=x, y=y, width=cell_w, height=cell_h, rx=2,
                              fill=fill, **extra))
            body.append(_text(x + cell_w / 2, y + cell_h * 0.72,
                              water_class + (" ✗" if compliant is False else ""), size=11,
                              anchor="middle", fill=text_colour(fill), weight="bold"))
    y = 40 + len(rows) * (cell_h + gap)
    x = 10.0
    for name in ("I", "II", "III", "IV", "V", "劣V"):
        if name in colours:
            body.append(f'<rect x="{x:.0f}" y="{y}" width="12" height="12" '
                        f'fill="{colours[name]}"/>')
            body.append(_text(x + 16, y + 10, name, size=10))
            x += 46
    body.append(_text(x + 10, y + 10, "✗ / red frame: worse than target 未达到目标", size=10,
                      fill="#b71c1c"))
    return _svg("water-sections", width, height, body, "cross-boundary sections by month")


# ------------------------------------------------------------ waste flows


def flow_diagram(flows: Sequence[tuple[str, str, float, int]],
                 provinces: Sequence[tuple[str, str]]) -> str:
    """Cross-province hazardous-waste flows: origins left, destinations right,
    band width proportional to tonnes. `flows`: (origin, destination, tonnes,
    manifests); `provinces`: (code, label) in display order."""
    width, height = 640, 300
    left_x, right_x, node_w, top, pad = 150, 490, 14, 28, 14
    total = sum(t for _, _, t, _ in flows) or 1.0
    usable = height - top - 20 - pad * (len(provinces) - 1)
    scale = usable / total
    out_t = {c: sum(t for o, _, t, _ in flows if o == c) for c, _ in provinces}
    in_t = {c: sum(t for _, d, t, _ in flows if d == c) for c, _ in provinces}
    colour = {c: PROVINCE_COLOURS[i % len(PROVINCE_COLOURS)] for i, (c, _) in enumerate(provinces)}
    label = dict(provinces)
    body = [_text(left_x, 16, "from 移出", size=11, anchor="end", weight="bold"),
            _text(right_x + node_w, 16, "to 移入", size=11, weight="bold")]

    def stack(totals: dict[str, float]) -> dict[str, float]:
        y, starts = float(top), {}
        for code, _ in provinces:
            starts[code] = y
            y += max(totals[code] * scale, 2) + pad
        return starts

    out_y, in_y = stack(out_t), stack(in_t)
    out_off = dict(out_y)
    in_off = dict(in_y)
    for origin, dest, tonnes, manifests in sorted(flows, key=lambda f: (f[0], f[1])):
        h = tonnes * scale
        y0, y1 = out_off[origin], in_off[dest]
        out_off[origin] += h
        in_off[dest] += h
        x0, x1 = left_x + node_w, right_x
        mid = (x0 + x1) / 2
        path = (f"M{x0},{y0:.1f} C{mid},{y0:.1f} {mid},{y1:.1f} {x1},{y1:.1f} "
                f"L{x1},{y1 + h:.1f} C{mid},{y1 + h:.1f} {mid},{y0 + h:.1f} {x0},{y0 + h:.1f} Z")
        tip = f"{label[origin]} → {label[dest]}: {tonnes:,.1f} t, {manifests:,} manifests"
        body.append(_mark("path", tip, d=path, fill=colour[origin], fill_opacity="0.45",
                          stroke=colour[origin], stroke_width="0.5"))
    for code, name in provinces:
        for side, starts, totals, x in (("out", out_y, out_t, left_x), ("in", in_y, in_t, right_x)):
            h = max(totals[code] * scale, 2)
            verb = "sent out 移出" if side == "out" else "received 移入"
            body.append(_mark("rect", f"{name}: {totals[code]:,.1f} t {verb}", x=x,
                              y=f"{starts[code]:.1f}", width=node_w, height=f"{h:.1f}",
                              fill=colour[code]))
            if side == "out":
                body.append(_text(x - 6, starts[code] + h / 2 + 4, f"{name} {totals[code]:,.0f} t",
                                  size=11, anchor="end"))
            else:
                body.append(_text(x + node_w + 6, starts[code] + h / 2 + 4,
                                  f"{name} {totals[code]:,.0f} t", size=11))
    return _svg("hw-flows", width, height, body, "hazardous-waste flows between provinces")


# ------------------------------------------------------------------- alerts


def alert_bars(rows: Sequence[tuple[str, str, int]], severity_colours: dict[str, str]) -> str:
    """Open alerts per rule: (rule label, severity, count) as horizontal bars."""
    left, bar_h, gap, width = 300, 16, 6, 620
    height = 12 + max(len(rows), 1) * (bar_h + gap) + 8
    top = max([n for _, _, n in rows] + [1])
    scale = (width - left - 60) / top
    body = []
    if not rows:
        body.append('<text data-mark="1" data-tip="no open alerts" x="10" y="24" '
                    f'font-size="13" fill="{INK}">No open alerts 无未关闭告警</text>')
        return _svg("alerts", width, 40, body, "open alerts by rule")
    for i, (label, severity, n) in enumerate(rows):
        y = 8 + i * (bar_h + gap)
        body.append(_text(left - 8, y + bar_h * 0.8, label, size=11, anchor="end"))
        w = max(n * scale, 2)
        body.append(_mark("rect", f"{label}: {n} open ({severity})", x=left, y=y,
                          width=f"{w:.1f}", height=bar_h,
                          fill=severity_colours.get(severity, "#777")))
        body.append(_text(left + w + 5, y + bar_h * 0.8, f"{n} {severity}", size=10))
    return _svg("alerts", width, height, body, "open alerts by rule")
