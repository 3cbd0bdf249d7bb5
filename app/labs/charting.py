"""A patient's repeated lab results as trends, drawn like the vitals' (records/trends.py): one small
inline-SVG line per analyte measured more than once, its reference band shaded."""
from __future__ import annotations

from app.records.trends import Trend, series_trend


def _decimals(shown: str) -> int:
    return len(shown.split(".", 1)[1]) if "." in shown else 0


def result_trends(reports) -> list[Trend]:
    """`reports`: released reports, any order; numbers only, oldest first per analyte."""
    series: dict[str, list[dict]] = {}
    for report in sorted(reports, key=lambda r: (r.released_at, r.id)):
        for key, result in report.results.items():
            if result.get("number") is not None:
                series.setdefault(key, []).append(result)
    trends = []
    for key, results in series.items():
        if len(results) < 2:
            continue
        latest = results[-1]
        normal = (latest["low"], latest["high"]) if latest.get("low") is not None else None
        trends.append(series_trend(f"lab-{key.replace('.', '-')}", latest["name"], latest.get("unit") or "",
                                   [r["number"] for r in results], normal=normal,
                                   decimals=_decimals(latest["value"])))
    return trends
