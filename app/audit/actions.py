"""What an audit row's action means, in plain words for the people who read the trail (a patient
reading who looked at their record, an administrator reviewing). The trail stores short codes
("allergy.create", "chart.emergency_access"); a code no phrase knows falls back to its family
(".read" is a look, ".create" an addition) and then to the code itself, so a new action is never
hidden, only less well worded until it gets its phrase."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

PHRASES = {
    "chart.read": _l("Opened the record"),
    "chart.emergency_access": _l("Opened the record in an emergency"),
    "access.denied": _l("Was refused access"),
    "audit.export": _l("Exported the audit trail"),
    "allergy.read": _l("Looked at allergies"),
    "problem.read": _l("Looked at conditions"),
    "medication.read": _l("Looked at medicines"),
    "vitals.read": _l("Looked at vital signs"),
    "note.read": _l("Looked at notes"),
    "history.read": _l("Looked at past history"),
    "allergy.create": _l("Added an allergy"),
    "problem.create": _l("Added a condition"),
    "medication.create": _l("Added a medicine"),
    "vitals.create": _l("Recorded vital signs"),
    "note.create": _l("Wrote a note"),
    "history.update": _l("Updated past history"),
    "document.read": _l("Looked at a document"),
    "document.open": _l("Opened a document"),
    "document.create": _l("Added a document"),
    "problem.search": _l("Found your record in a search by diagnosis"),
    "chat.read": _l("Read the chat of a video visit"),
    "chat.list.read": _l("Looked at the list of video visit chats"),
    "appointment.create": _l("Booked an appointment"),
    "appointment.cancel": _l("Cancelled an appointment"),
    "appointment.move": _l("Moved an appointment"),
    "appointment.check_in": _l("Checked in for an appointment"),
    "appointment.start": _l("Started a consultation"),
    "appointment.complete": _l("Completed a consultation"),
    "appointment.no_show": _l("Marked an appointment as missed"),
    "appointment.reason.read": _l("Read the reason for a visit"),
    "recording.consent": _l("Agreed to record a video visit"),
    "recording.refuse": _l("Refused to record a video visit"),
    "recording.withdraw": _l("Stopped recording a video visit"),
    "recording.write": _l("Recorded part of a video visit"),
    "recording.list": _l("Looked at video visit recordings"),
    "recording.play": _l("Played a video visit recording"),
    "recording.purge": _l("Deleted a video visit recording at the end of its retention time"),
    "patient.merge": _l("Joined two records of the same person into one"),
    "patient.merge.undo": _l("Separated two records that had been joined"),
    "patient.register_despite_duplicates": _l("Registered a new record beside a similar one"),
    "patient.update": _l("Changed personal details (name, date of birth, sex, phone or ID)"),
    "patient.not_duplicate": _l("Judged two similar records to be two different people"),
    "patient.not_duplicate.undo": _l("Listed two similar records again as possibly one person"),
    "lab_order.cancel": _l("Cancelled a lab order"),
    "account.invite": _l("Invited a colleague"),
    "account.invite.resend": _l("Sent an invitation again"),
    "account.invite.revoke": _l("Withdrew an invitation"),
    "account.deactivate": _l("Deactivated an account"),
    "account.reactivate": _l("Reactivated an account"),
    "account.role_change": _l("Changed an account's role"),
    "account.sessions_end": _l("Signed an account out everywhere"),
}
STATUS_PHRASES = {
    "active": _l("Marked an entry as current again"),
    "resolved": _l("Marked an entry as resolved"),
    "entered_in_error": _l("Marked an entry as entered in error"),
}
FAMILY_PHRASES = {
    "read": _l("Looked at the record"),
    "create": _l("Added to the record"),
    "update": _l("Changed the record"),
    "amend": _l("Corrected an entry in the record"),
}


def action_phrase(action: str) -> str:
    """A short phrase for `action`, in the reader's language."""
    if action in PHRASES:
        return str(PHRASES[action])
    family, _, verb = action.rpartition(".")
    if verb in STATUS_PHRASES and family:
        return str(STATUS_PHRASES[verb])
    if verb in FAMILY_PHRASES and family:
        return str(FAMILY_PHRASES[verb])
    return action
