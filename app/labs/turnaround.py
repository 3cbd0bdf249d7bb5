"""Turnaround for the admin: each order's time at every step (ordered → sample taken → received →
testing → results released), against its target (received → released, the longest of its tests'
targets when ordered). Plain columns only: no patient, no test, nothing decrypted."""
from __future__ import annotations

import dataclasses
import datetime as dt
import statistics

from sqlalchemy import select

from app.accounts.models import Site
from app.core.clock import clock
from app.extensions import db
from app.labs.models import LabOrder, LabOrderStatus

# (key, from column, to column): the steps, in order.
STEPS = (("collect", "ordered_at", "collected_at"), ("receive", "collected_at", "received_at"),
         ("start", "received_at", "started_at"), ("result", "started_at", "completed_at"))
ROWS_MAX = 5000


def minutes(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds() / 60


@dataclasses.dataclass(frozen=True)
class StepStats:
    key: str
    count: int
    median: float | None
    p90: float | None


@dataclasses.dataclass(frozen=True)
class Summary:
    days: int
    completed: int
    within_target: int
    steps: list[StepStats]
    over_target: list  # the latest completed orders that took longer than their target: rows


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def turnaround_summary(*, days: int = 30, site_id: int | None = None) -> Summary:
    since = clock.now() - dt.timedelta(days=days)
    query = (select(LabOrder.id, LabOrder.urgency, LabOrder.ordered_at, LabOrder.collected_at, LabOrder.received_at,
                    LabOrder.started_at, LabOrder.completed_at, LabOrder.target_minutes, Site.name.label("site"))
             .join(Site, Site.id == LabOrder.site_id)
             .where(LabOrder.status == LabOrderStatus.COMPLETED.value, LabOrder.completed_at >= since)
             .order_by(LabOrder.completed_at.desc()).limit(ROWS_MAX))
    if site_id is not None:
        query = query.where(LabOrder.site_id == site_id)
    rows = db.session.execute(query).all()
    steps = []
    for key, start, end in STEPS:
        values = [m for m in (minutes(getattr(r, start), getattr(r, end)) for r in rows) if m is not None]
        steps.append(StepStats(key, len(values), statistics.median(values) if values else None,
                               _percentile(values, 0.9)))
    over, within = [], 0
    for row in rows:
        actual = minutes(row.received_at, row.completed_at)
        if actual is None or not row.target_minutes:
            continue
        if actual <= row.target_minutes:
            within += 1
        elif len(over) < 30:
            over.append((row, actual))
    return Summary(days=days, completed=len(rows), within_target=within, steps=steps, over_target=over)
