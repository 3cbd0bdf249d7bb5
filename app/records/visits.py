"""What records asks about a patient's visits, answered by the domain that books them.

Scheduling depends on records (an appointment is a patient's), so records never imports it: it
names its questions here and create_app registers scheduling's answers (register_hooks). The rules
stay here, in records: access.py decides what counts as a care relationship, scheduling only says
whether such an appointment exists.
"""
from __future__ import annotations

from app.core.hooks import Hook

# (doctor_id=, patient_id=, since=, until=) -> bool: an appointment of this doctor with this patient,
# not cancelled, starting between since and until (inclusive).
appointment_together = Hook("does this doctor have an appointment with this patient in this window")
# (patient_id) -> (upcoming, past): the front desk's view of a patient's appointments, nearest first.
patient_appointments = Hook("a patient's upcoming and past appointments")
# ([patient_id, ...]) -> {patient_id: how many appointments they missed}
no_show_counts = Hook("how many appointments each of these patients missed")
