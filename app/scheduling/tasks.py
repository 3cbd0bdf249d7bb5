"""Appointment reminders: a sweep that queues each one once, when it falls due.

The sweep, not a timer per appointment, decides: after a restart, a Redis flush or a moved
appointment it simply finds what is due now. Each reminder advances `reminder_stage` in the same
transaction that writes its outbox row, and rows are claimed with SKIP LOCKED, so two workers
sweeping at once never queue the same reminder twice.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.core.clock import clock
from app.extensions import db, jobs
from app.scheduling import notices
from app.scheduling.models import Appointment, AppointmentStatus

BATCH = 200


def reminder_offsets() -> list[tuple[int, str, dt.timedelta]]:
    """(stage, name, how long before the start), earliest first."""
    lead = dt.timedelta(minutes=current_app.config["REMINDER_LEAD_MINUTES"])
    return [(1, "day-before", dt.timedelta(hours=24)), (2, "soon", lead)]


def _text(appointment: Appointment):
    """Whole sentences for each kind of visit: translations need the sentence, not a word to slot in."""
    if appointment.is_video:
        return _l("Reminder: your video visit with %(doctor)s is on %(when)s.", doctor=appointment.doctor.full_name,
                  when=notices.when_text(appointment))
    return _l("Reminder: your appointment with %(doctor)s is on %(when)s.", doctor=appointment.doctor.full_name,
              when=notices.when_text(appointment))


def reminders_due_queue() -> int:
    now = clock.now()
    queued = 0
    offsets = reminder_offsets()
    longest = max(offset for _, _, offset in offsets)
    due = db.session.execute(
        select(Appointment).where(
            Appointment.status == AppointmentStatus.BOOKED.value, Appointment.reminder_stage < len(offsets),
            Appointment.starts_at > now, Appointment.starts_at <= now + longest)
        .order_by(Appointment.starts_at).limit(BATCH).with_for_update(skip_locked=True)
        .options(selectinload(Appointment.patient), selectinload(Appointment.doctor))
    ).scalars().all()
    for appointment in due:
        # Only the latest reminder now due: a sweep that runs late (a worker was down) sends one, not a pair.
        reached = [(stage, name, appointment.starts_at - offset) for stage, name, offset in offsets
                   if appointment.reminder_stage < stage and now >= appointment.starts_at - offset]
        if not reached:
            continue
        stage, name, remind_at = reached[-1]
        appointment.reminder_stage = stage
        if appointment.created_at <= remind_at:  # booked later than this, the confirmation said it all
            notices.notify_patient(appointment, event=f"reminder-{name}", subject=_l("Appointment reminder"),
                                   text=_text(appointment), inbox=False)
            queued += 1
    db.session.flush()
    return queued


@jobs.task
def reminders_sweep() -> int:
    return reminders_due_queue()
