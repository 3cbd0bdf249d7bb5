from __future__ import annotations

import datetime as dt

import pytest

from app.accounts.models import Role, SiteKind
from app.core.actor import Actor
from app.extensions import db
from app.prescriptions.models import StockBatch
from app.records.models import EntryKind
from app.records.services import entry_add
from tests.conftest import actor_for  # noqa: F401  (the domain's tests import it from here)


@pytest.fixture
def formulary(app):
    from app.prescriptions.services import formulary_ensure

    with app.app_context():
        formulary_ensure()
        db.session.commit()


@pytest.fixture
def pharmacy(formulary, make_sites):
    """Two pharmacies: (ours, theirs) site ids."""
    return make_sites(SiteKind.PHARMACY, "Ngong Road Pharmacy", "Westlands Pharmacy")


@pytest.fixture
def pharmacist_at(staff_at):
    return lambda site_id: staff_at(Role.PHARMACIST, site_id)


@pytest.fixture
def medicine_id(app, formulary):
    """medicine_id("Amoxicillin", "capsule")"""
    from sqlalchemy import select

    from app.prescriptions.models import Medicine

    def find(name: str, form: str | None = None) -> int:
        with app.app_context():
            query = select(Medicine.id).where(Medicine.name == name)
            if form:
                query = query.where(Medicine.form == form)
            return db.session.execute(query.order_by(Medicine.id)).scalars().first()

    return find


def days(n: int) -> dt.date:
    """n days from the clinic's today (inside an app context)."""
    from app.scheduling.clinic_time import local_today

    return local_today() + dt.timedelta(days=n)


@pytest.fixture
def day(app):
    """day(n): n days from the clinic's today, outside an app context."""
    def at(n: int) -> dt.date:
        with app.app_context():
            return days(n)

    return at


@pytest.fixture
def clinic(app, make_user, make_patient, care, pharmacy, pharmacist_at, medicine_id):
    """A doctor in care of a patient (with an account and a phone) who has a severe penicillin
    allergy, a mild sulfa allergy, and takes warfarin; a pharmacist at our pharmacy with stock."""
    doctor = make_user(Role.DOCTOR)
    patient_user = make_user(Role.PATIENT, language="sw")
    patient = make_patient(user_id=patient_user.id, phone="+254712000555")
    care(doctor, patient)
    system = Actor.system("test")
    stock = [(medicine_id(name, form), name, quantity) for name, form, quantity in [
        ("Paracetamol", "tablet", 100), ("Sulfamethoxazole + trimethoprim", None, 10), ("Ibuprofen", None, 30)]]
    with app.app_context():
        for kind, content in [(EntryKind.ALLERGY, {"substance": "Penicillin", "severity": "severe", "reaction": "Anaphylaxis"}),
                              (EntryKind.ALLERGY, {"substance": "Sulfa drugs", "severity": "mild"}),
                              (EntryKind.MEDICATION, {"drug": "Warfarin 5 mg", "frequency": "daily"})]:
            entry_add(actor=system, patient_id=patient.id, kind=kind, content=content)
        for medicine, name, quantity in stock:
            db.session.add(StockBatch(site_id=pharmacy[0], medicine_id=medicine, batch_number=f"{name[:3]}-1",
                                      expires_on=days(200), quantity=quantity))
        db.session.commit()
    return {"doctor": doctor, "patient": patient, "patient_user": patient_user, "pharmacy": pharmacy[0],
            "other_pharmacy": pharmacy[1], "pharmacist": pharmacist_at(pharmacy[0]), "medicine": medicine_id}
