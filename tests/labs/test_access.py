"""The "lab order" purpose in the records gate: who may read and write the lab part of whose chart
for it (a doctor in care; a technician at the lab the patient's order went to), audited with the
purpose, and nothing else of the chart opened by it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.extensions import db
from app.labs.purposes import LAB_ORDER
from app.records import access, services
from app.records.access import ChartAccessDenied, ChartPart
from tests.labs.conftest import actor_for


@pytest.fixture
def people(app, lab_clinic, place, make_user, make_patient, technician_at):
    place("FBC")  # the clinic's patient has an order at our lab
    other_patient = make_patient(given_name="Baraka", family_name="Mwangi")
    return {"doctor": lab_clinic["doctor"], "technician": lab_clinic["technician"],
            "other lab's technician": lab_clinic["other_technician"],
            "unassigned technician": technician_at(None), "stranger doctor": make_user(Role.DOCTOR),
            "pharmacist": make_user(Role.PHARMACIST), "reception": make_user(Role.RECEPTION),
            "admin": make_user(Role.ADMIN), "patient": lab_clinic["patient_user"],
            "patients": {"own": lab_clinic["patient"].id, "other": other_patient.id}}


# who -> (own patient, other patient): allowed for "lab order"?
MATRIX = {
    "doctor": (True, False),
    "stranger doctor": (False, False),
    "technician": (True, False),
    "other lab's technician": (False, False),
    "unassigned technician": (False, False),
    "pharmacist": (False, False),
    "reception": (False, False),
    "admin": (False, False),
    "patient": (False, False),
}


@pytest.mark.parametrize("who", list(MATRIX))
@pytest.mark.parametrize("write", [False, True])
def test_the_lab_order_purpose_matrix(app, people, who, write):
    actor = actor_for(people[who])
    for index, whose in enumerate(("own", "other")):
        patient_id = people["patients"][whose]
        with app.app_context():
            allowed = MATRIX[who][index]
            if allowed:
                decision = services.clinical_access(actor=actor, patient_id=patient_id, part=ChartPart.LAB,
                                                    action="lab_order.read", write=write, purpose=LAB_ORDER)
                assert decision.reason == LAB_ORDER
            else:
                with pytest.raises(ChartAccessDenied):
                    services.clinical_access(actor=actor, patient_id=patient_id, part=ChartPart.LAB,
                                             action="lab_order.read", write=write, purpose=LAB_ORDER)
            db.session.commit()
            row = db.session.execute(select(AuditEvent).where(AuditEvent.patient_id == patient_id)
                                     .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
            assert (row.outcome, row.reason) == (("allowed", LAB_ORDER) if allowed else ("denied", f"not for {LAB_ORDER}"))


@pytest.mark.parametrize("part", [p for p in ChartPart if p != ChartPart.LAB])
def test_the_purpose_opens_nothing_else_of_the_chart(app, people, part):
    with app.app_context():
        for who in ("technician", "doctor"):
            decision = access.decide(actor=actor_for(people[who]), patient_id=people["patients"]["own"], part=part,
                                     purpose=LAB_ORDER)
            assert not decision.allowed
        assert not access.decide(actor=actor_for(people["technician"]), patient_id=people["patients"]["own"],
                                 purpose=LAB_ORDER).allowed  # the whole chart


def test_a_technician_never_reads_the_chart(app, people):
    with app.app_context():
        with pytest.raises(ChartAccessDenied):
            services.chart_read(actor=actor_for(people["technician"]), patient_id=people["patients"]["own"])
        with pytest.raises(ChartAccessDenied):
            services.chart_read(actor=actor_for(people["technician"]), patient_id=people["patients"]["own"],
                                purpose=LAB_ORDER)
