"""What the prescriptions pages of every role share."""
from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from app.core.actor import Actor
from app.core.errors import NotFound
from app.extensions import db
from app.prescriptions.models import Prescription
from app.records import services as records
from app.records.access import ChartPart


def prescription_for_reader(*, actor: Actor, prescription_id: int) -> Prescription:
    """A prescription for its patient or a doctor who may read their medicines (the records gate
    decides and audits). Who may not read that patient's chart gets "no such prescription" (404)."""
    prescription = db.session.get(Prescription, prescription_id)
    if prescription is None:
        raise NotFound(_("No such prescription."))
    try:
        records.clinical_access(actor=actor, patient_id=prescription.patient_id, part=ChartPart.MEDICATION,
                                action="prescription.read", target=f"prescription:{prescription.id}")
    except records.access.ChartAccessDenied:
        raise NotFound(_("No such prescription.")) from None
    return prescription


def no_pharmacy_page(error):
    """A pharmacist whose account no admin has assigned to a pharmacy: say so, on every pharmacy page."""
    return render_template("prescriptions/pharmacy/no_pharmacy.html", message=error.message)


def print_prescription(prescription: Prescription):
    """The printable prescription: prescriber, patient, items, the verification code and its QR."""
    from app.prescriptions.printing import verification_qr, verification_url

    return render_template("prescriptions/print.html", prescription=prescription, qr=verification_qr(prescription),
                           check_url=verification_url(prescription))
