from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.accounts.models import Role, SiteKind
from app.extensions import db
from tests.conftest import actor_for


@pytest.fixture
def catalogue(app):
    from app.labs.services import catalogue_ensure

    with app.app_context():
        catalogue_ensure()
        db.session.commit()


@pytest.fixture
def labs(catalogue, make_sites):
    """Two labs: (ours, theirs) site ids."""
    return make_sites(SiteKind.LAB, "Ngong Road Lab", "Westlands Lab")


@pytest.fixture
def technician_at(staff_at):
    return lambda site_id: staff_at(Role.LAB, site_id)


@pytest.fixture
def test_id(app, catalogue):
    """test_id("FBC")"""
    from app.labs.models import LabTest

    def find(code: str) -> int:
        with app.app_context():
            return db.session.execute(select(LabTest.id).where(LabTest.code == code)).scalar_one()

    return find


@pytest.fixture
def lab_clinic(app, make_user, make_patient, care, labs, technician_at):
    """A doctor in care of a patient (with an account in Swahili and a phone), a technician at our lab
    and one at the other lab."""
    doctor = make_user(Role.DOCTOR, full_name="Dr Wanjiru Kamau")
    patient_user = make_user(Role.PATIENT, language="sw")
    patient = make_patient(given_name="Amani", family_name="Otieno", user_id=patient_user.id, phone="+254712000555",
                           date_of_birth=dt.date(1985, 3, 14), sex="female")
    care(doctor, patient)
    return {"doctor": doctor, "patient": patient, "patient_user": patient_user, "lab": labs[0], "other_lab": labs[1],
            "technician": technician_at(labs[0]), "other_technician": technician_at(labs[1])}


@pytest.fixture
def place(app, lab_clinic, test_id):
    """place("FBC", "HIV", urgency="urgent", note=...) -> order id, ordered by the clinic's doctor at our lab."""
    from app.labs import ordering

    def make(*codes: str, urgency: str = "routine", note: str | None = "Fever 3 days; query anaemia.",
             site_id: int | None = None) -> int:
        with app.app_context():
            order = ordering.lab_order_place(actor=actor_for(lab_clinic["doctor"]), patient_id=lab_clinic["patient"].id,
                                             site_id=site_id or lab_clinic["lab"], test_ids=[test_id(c) for c in codes],
                                             urgency=urgency, note=note)
            db.session.commit()
            return order.id

    return make
