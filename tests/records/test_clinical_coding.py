"""SOAP notes linked to a visit, ICD-10 coded problems and their blind index, allergies verified or
not, and a doctor's search of the patients in their care by diagnosis (in SQL, nothing decrypted)."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select, text

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.core.crypto import keyring
from app.core.errors import DomainError
from app.extensions import db
from app.records import access, icd10, services
from app.records.models import EntryKind, EntryStatus
from tests.conftest import SET_UP

SOAP = {"subjective": "Cough for 3 days.", "objective": "Temp 38.2, chest clear.", "assessment": "URTI.",
        "plan": "Fluids, paracetamol; review if worse."}


@pytest.fixture
def doctor(make_user):
    return make_user(Role.DOCTOR, full_name="Dr Coding Wekesa")


def add(actor, patient_id, kind, **content):
    return services.entry_add(actor=actor, patient_id=patient_id, kind=kind, content=content)


def stored_index(entry_id: int) -> tuple:
    return db.session.execute(text("SELECT code_index, code_group_index FROM clinical_entries WHERE id = :id"),
                              {"id": entry_id}).one()


# -- SOAP notes -------------------------------------------------------------------------------------------

def test_a_soap_note_keeps_its_parts_and_needs_one_of_them(app_ctx, doctor, make_patient, care):
    patient = make_patient()
    care(doctor, patient)
    actor = Actor.for_user(doctor)
    note = add(actor, patient.id, EntryKind.NOTE, subjective="  Headache. ", objective="", assessment=None, plan="")
    assert note.content == {"subjective": "Headache."}
    with pytest.raises(DomainError) as error:
        add(actor, patient.id, EntryKind.NOTE, subjective=" ", objective="", assessment="", plan="")
    assert error.value.field == "subjective"


def test_a_note_belongs_to_a_visit_of_this_patient_with_this_doctor(app_ctx, doctor, make_user, make_patient, care):
    patient, other = make_patient(), make_patient(given_name="Zawadi")
    visit = care(doctor, patient, days_ago=1)
    others_visit = care(doctor, other, days_ago=1)
    colleague = make_user(Role.DOCTOR)
    colleagues_visit = care(colleague, patient, days_ago=2)
    actor = Actor.for_user(doctor)

    note = add(actor, patient.id, EntryKind.NOTE, appointment_id=str(visit), **SOAP)
    assert note.content["appointment_id"] == visit
    assert note.content["visit_date"] == services.visits.visit_get(visit).day.isoformat()
    for wrong in (others_visit, colleagues_visit, 999_999, "not a number"):
        with pytest.raises(DomainError) as error:
            add(actor, patient.id, EntryKind.NOTE, appointment_id=wrong, **SOAP)
        assert error.value.field == "appointment_id"
    # the choices the form offers: this doctor's visits with this patient, latest first
    assert [v.id for v in services.note_visits(actor=actor, patient_id=patient.id)] == [visit]


def test_an_amendment_keeps_the_visit_whoever_amends_and_old_text_notes_still_amend(
        app_ctx, doctor, make_user, make_patient, care):
    patient = make_patient()
    visit = care(doctor, patient, days_ago=1)
    note = add(Actor.for_user(doctor), patient.id, EntryKind.NOTE, appointment_id=visit, **SOAP)
    colleague = make_user(Role.DOCTOR)
    care(colleague, patient)
    amended = services.entry_amend(actor=Actor.for_user(colleague), patient_id=patient.id, entry_id=note.id,
                                   content={**SOAP, "plan": "Admit.", "appointment_id": visit}, reason="Worse.")
    assert amended.content["plan"] == "Admit." and amended.content["appointment_id"] == visit

    old = add(SET_UP, patient.id, EntryKind.NOTE, text="Written before SOAP.")
    amended = services.entry_amend(actor=Actor.for_user(doctor), patient_id=patient.id, entry_id=old.id,
                                   content={"text": "Written before SOAP, corrected."}, reason="Typo.")
    assert amended.content == {"text": "Written before SOAP, corrected."}


# -- allergies --------------------------------------------------------------------------------------------

def test_an_allergy_is_unverified_unless_said_verified(app_ctx, make_patient):
    patient = make_patient()
    assert add(SET_UP, patient.id, EntryKind.ALLERGY, substance="Latex", severity="mild").content["verified"] is False
    assert add(SET_UP, patient.id, EntryKind.ALLERGY, substance="Sulfa", severity="severe",
               verified="verified").content["verified"] is True


# -- ICD-10 codes -----------------------------------------------------------------------------------------

def test_the_seeded_codes_are_found_by_code_or_by_words(app_ctx):
    assert icd10.code_get("j459").label == "J45.9 Asthma, unspecified"
    assert [c.code for c in icd10.codes_search("J45")] == ["J45", "J45.0", "J45.9"]
    assert "B50.9" in [c.code for c in icd10.codes_search("falciparum mal")]
    assert icd10.codes_search("%") == [] and icd10.codes_search("  ") == []
    assert icd10.code_resolve("J45 Asthma").code == "J45"       # as picked from the list
    assert icd10.code_resolve("typhoid fever").code == "A01.0"  # words of one title only
    with pytest.raises(DomainError) as error:
        icd10.code_resolve("malaria")
    assert error.value.field == "code" and "B50" in error.value.message


def test_a_coded_problem_keeps_code_and_title_and_its_blind_index_follows_it(app_ctx, make_patient):
    patient = make_patient()
    problem = add(SET_UP, patient.id, EntryKind.PROBLEM, code="j45.9", onset="2019")
    db.session.flush()
    assert problem.content == {"code": "J45.9", "code_title": "Asthma, unspecified",
                               "condition": "Asthma, unspecified", "onset": "2019"}
    assert stored_index(problem.id) == (keyring.blind_index("J45.9"), keyring.blind_index("J45"))
    assert "J45" not in "".join(stored_index(problem.id))

    services.entry_amend(actor=SET_UP, patient_id=patient.id, entry_id=problem.id,
                         content={"code": "I10", "condition": "Hypertension"}, reason="Misclicked.")
    db.session.flush()
    assert stored_index(problem.id) == (keyring.blind_index("I10"), keyring.blind_index("I10"))
    services.entry_amend(actor=SET_UP, patient_id=patient.id, entry_id=problem.id,
                         content={"condition": "Hypertension"}, reason="Not coded yet.")
    db.session.flush()
    assert stored_index(problem.id) == (None, None)

    coded = add(SET_UP, patient.id, EntryKind.PROBLEM, code="B54")
    services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=coded.id,
                              status=EntryStatus.ENTERED_IN_ERROR, reason="Wrong patient.")
    db.session.flush()
    assert stored_index(coded.id) == (None, None)
    assert stored_index(add(SET_UP, patient.id, EntryKind.NOTE, subjective="x").id) == (None, None)


# -- finding patients by diagnosis -----------------------------------------------------------------------

@pytest.fixture
def cohort(app_ctx, doctor, make_user, make_patient, care):
    """Patients with asthma: two in the doctor's care (one resolved... no: one struck out), one not."""
    def patient(name, *, in_care=True, **problem):
        p = make_patient(given_name=name, family_name="Test")
        if in_care:
            care(doctor, p)
        if problem:
            add(SET_UP, p.id, EntryKind.PROBLEM, **problem)
        return p

    people = {
        "asthma": patient("Asha", code="J45.9"),
        "allergic": patient("Baraka", code="J45.0"),
        "struck": patient("Chege", code="J45.9"),
        "elsewhere": patient("Dalia", in_care=False, code="J45.9"),
        "hypertension": patient("Eli", code="I10"),
        "words only": patient("Fumo", condition="Asthma"),
    }
    struck = services.chart_read(actor=SET_UP, patient_id=people["struck"].id)[EntryKind.PROBLEM][0]
    services.entry_set_status(actor=SET_UP, patient_id=people["struck"].id, entry_id=struck.id,
                              status=EntryStatus.ENTERED_IN_ERROR, reason="Wrong chart.")
    db.session.commit()
    return people


def names(patients) -> set[str]:
    return {p.given_name for p in patients}


def test_a_doctor_finds_the_patients_in_their_care_with_a_code_or_its_category(cohort, doctor):
    actor = Actor.for_user(doctor)
    assert names(services.patients_with_diagnosis(actor=actor, code=icd10.code_get("J45.9"))) == {"Asha"}
    assert names(services.patients_with_diagnosis(actor=actor, code=icd10.code_get("J45"))) == {"Asha", "Baraka"}
    assert names(services.patients_with_diagnosis(actor=actor, code=icd10.code_get("I10"))) == {"Eli"}
    # the same patients, by the rule the chart's gate uses
    for patient in services.patients_with_diagnosis(actor=actor, code=icd10.code_get("J45")):
        assert access.decide(actor=actor, patient_id=patient.id).reason == access.CARE
    assert not access.care_relationship(doctor_id=doctor.id, patient_id=cohort["elsewhere"].id)


def test_each_patient_listed_is_audited_for_care_without_naming_the_diagnosis(cohort, doctor):
    found = services.patients_with_diagnosis(actor=Actor.for_user(doctor), code=icd10.code_get("J45"))
    db.session.commit()
    rows = db.session.execute(select(AuditEvent).where(AuditEvent.action == "problem.search")).scalars().all()
    assert sorted((r.patient_id, r.actor_user_id, r.reason, r.outcome) for r in rows) == \
        sorted((p.id, doctor.id, "care", "allowed") for p in found)
    assert all(r.target is None for r in rows)  # "J45" next to a patient id would disclose it in plain


def test_the_search_reads_no_clinical_content_and_decrypts_nothing(cohort, doctor, monkeypatch):
    decrypted, statements = [], []
    real_decrypt = keyring.decrypt
    monkeypatch.setattr(keyring, "decrypt", lambda token: decrypted.append(1) or real_decrypt(token))

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        found = services.patients_with_diagnosis(actor=Actor.for_user(doctor), code=icd10.code_get("J45"))
        assert names(found) == {"Asha", "Baraka"}
        [patient.full_name for patient in found]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert decrypted == []
    assert statements and all("content" not in statement for statement in statements)
    assert any("code_group_index" in statement for statement in statements)


def test_only_a_doctor_searches_by_diagnosis(app_ctx, make_user):
    for role in (Role.RECEPTION, Role.PATIENT, Role.ADMIN):
        with pytest.raises(access.ChartAccessDenied):
            services.patients_with_diagnosis(actor=Actor.for_user(make_user(role)), code=icd10.code_get("I10"))
