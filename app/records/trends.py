"""Vital-sign trends: the chart's vitals readings turned into one series per sign, and the geometry of
a small line chart for each, drawn on the server as inline SVG (templates/records/_trend.html) — no
chart library in the browser, nothing but numbers from here reaches the drawing.

BMI is computed, never typed: each reading with a weight, over the square of the latest height
recorded at or before that reading (a weight with no height yet has no BMI); rounded to one decimal.
Points are spaced evenly by reading, not by date: the shape of the trend is what a glance needs."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from app.records.vitals import SIGNS, Sign

# The latest readings drawn: enough for a trend, light enough for a phone; the chart's summary reads
# no more than these (services.chart_summary_read), and the page says so.
SERIES_LIMIT = 24
WIDTH, HEIGHT = 280, 60
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 34, 236, 8, 52

BMI = Sign("bmi", _l("BMI"), "kg/m²", 5, 150, (18.5, 25.0), decimals=1)
BP_SYSTOLIC, BP_DIASTOLIC = SIGNS["systolic"], SIGNS["diastolic"]
TRENDED = ("pulse", "temperature_c", "respiratory_rate", "spo2", "weight_kg")


def number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


@dataclass
class Line:
    """One sign's readings, oldest first, and where they fall on the drawing."""
    sign: Sign
    values: list[float]
    points: list[tuple[float, float]] = field(default_factory=list)
    band: tuple[float, float] | None = None  # the normal band as (top y, height)

    @property
    def last(self) -> str:
        return number(self.values[-1], self.sign.decimals)

    @property
    def low(self) -> str:
        return number(min(self.values), self.sign.decimals)

    @property
    def high(self) -> str:
        return number(max(self.values), self.sign.decimals)

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)

    def circles(self, colour: str) -> Markup:
        """The points as SVG circles, written here from numbers only: a template loop over every point
        of every trend cost more than the rest of the chart's vitals card."""
        fill = escape(colour)
        return Markup("".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{fill}"/>' for x, y in self.points))

    @property
    def label_at(self) -> tuple[str, str]:
        """Where the last value is written: just right of the last point."""
        x, y = self.points[-1]
        return f"{x + 6:.1f}", f"{y + 4:.1f}"


@dataclass
class Trend:
    """One chart: a sign (or blood pressure, two lines on one scale), with the scale's ends as labels."""
    key: str
    label: object
    unit: str
    lines: list[Line]
    scale_low: str = ""
    scale_high: str = ""
    scale_low_y: float = PLOT_BOTTOM
    scale_high_y: float = PLOT_TOP

    @property
    def count(self) -> int:
        return max(len(line.values) for line in self.lines)


def _readings(entries) -> list[dict]:
    """The readings' contents, oldest first (the chart lists entries newest first)."""
    # The chart keeps entries entered in error (struck through); a trend never draws them.
    return [entry.content for entry in sorted(entries, key=lambda entry: entry.recorded_at)
            if entry.status != "entered_in_error"]


def _values(readings: list[dict], name: str) -> list[float]:
    return [float(reading[name]) for reading in readings if reading.get(name) not in (None, "")]


def bmi_values(readings: list[dict]) -> list[float]:
    """BMI per reading with a weight, over the latest height recorded at or before it."""
    height_cm, values = None, []
    for reading in readings:
        if reading.get("height_cm") not in (None, ""):
            height_cm = float(reading["height_cm"])
        if reading.get("weight_kg") not in (None, "") and height_cm:
            values.append(round(float(reading["weight_kg"]) / (height_cm / 100) ** 2, 1))
    return values


def _draw(trend: Trend) -> Trend:
    """Place every line on one vertical scale wide enough for the values and the normal bands."""
    ends = [v for line in trend.lines for v in line.values]
    ends += [v for line in trend.lines if line.sign.normal for v in line.sign.normal]
    low, high = min(ends), max(ends)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    span = high - low

    def y(value: float) -> float:
        return PLOT_BOTTOM - (value - low) / span * (PLOT_BOTTOM - PLOT_TOP)

    for line in trend.lines:
        count = len(line.values)
        step = (PLOT_RIGHT - PLOT_LEFT) / (count - 1) if count > 1 else 0
        x0 = PLOT_LEFT if count > 1 else (PLOT_LEFT + PLOT_RIGHT) / 2
        line.points = [(x0 + i * step, y(value)) for i, value in enumerate(line.values)]
        if line.sign.normal:
            top, bottom = y(line.sign.normal[1]), y(line.sign.normal[0])
            line.band = (top, bottom - top)
    decimals = max(line.sign.decimals for line in trend.lines)
    trend.scale_low, trend.scale_high = number(min(v for line in trend.lines for v in line.values), decimals), \
        number(max(v for line in trend.lines for v in line.values), decimals)
    trend.scale_low_y, trend.scale_high_y = _apart(y(float(trend.scale_low)), y(float(trend.scale_high)))
    return trend


def _apart(low_y: float, high_y: float, gap: float = 11) -> tuple[float, float]:
    """The two scale labels' heights, moved apart so their text never overlaps."""
    if low_y - high_y >= gap:
        return low_y, high_y
    middle = min(max((low_y + high_y) / 2, PLOT_TOP + gap / 2), PLOT_BOTTOM - gap / 2)
    return middle + gap / 2, middle - gap / 2


def vitals_trends(entries, *, limit: int = SERIES_LIMIT) -> list[Trend]:
    """One trend per sign that has readings, from the chart's vitals entries (already read through
    the records gate; entries entered in error are left out here); each capped to its latest `limit`."""
    readings = _readings(entries)
    trends = []
    systolic = [r for r in readings if r.get("systolic") not in (None, "") and r.get("diastolic") not in (None, "")]
    if systolic:
        pairs = systolic[-limit:]
        trends.append(Trend("bp", _l("Blood pressure"), "mmHg", [
            Line(BP_SYSTOLIC, _values(pairs, "systolic")), Line(BP_DIASTOLIC, _values(pairs, "diastolic"))]))
    for name in TRENDED:
        values = _values(readings, name)[-limit:]
        if values:
            sign = SIGNS[name]
            trends.append(Trend(name, sign.label, sign.unit, [Line(sign, values)]))
    bmi = bmi_values(readings)[-limit:]
    if bmi:
        trends.append(Trend("bmi", BMI.label, BMI.unit, [Line(BMI, bmi)]))
    return [_draw(trend) for trend in trends]


def series_trend(key: str, label, unit: str, values: list[float], *, normal: tuple[float, float] | None = None,
                 decimals: int = 1, limit: int = SERIES_LIMIT) -> Trend:
    """A trend of any series of numbers, oldest first (a lab analyte's results), drawn like the
    vitals' (templates/records/_vitals_trends.html), capped to its latest `limit`."""
    values = [float(v) for v in values][-limit:]
    sign = Sign(key, label, unit, min(values), max(values), normal, decimals=decimals)
    return _draw(Trend(key, label, unit, [Line(sign, values)]))
