"""Encryption at rest, checked the way an attacker with a copy of the database would look:
every column of every table, as text, as bytes and as hex, must not hold clinical content."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.accounts.models import Role
from app.extensions import db
from app.notifications.models import Channel
from app.notifications.services import notification_queue
from app.records import services
from app.records.models import EntryKind
from tests.conftest import SET_UP

CANARY = "CANARY-7f3a"
NATIONAL_ID = "NID-CANARY-5e19"


def plaintext_hits(needle: str) -> set[str]:
    """Every `table.column` where `needle` can be read without a key: as text, as the raw bytes of a
    bytea, or hex-encoded in either. Reference data a migration seeds (the ICD-10 titles: public,
    tied to no patient) is left out."""
    from app.core.db import Base

    reference = {t.name for t in Base.metadata.tables.values() if t.info.get("reference_data")}
    needle_hex = needle.encode().hex()
    with db.engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote
        columns = conn.execute(text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position")).all()
        assert columns, "no tables found"
        hits = set()
        for table, column, data_type in columns:
            if table in reference:
                continue
            col = quote(column)
            if data_type == "bytea":
                condition = (f"position(convert_to(:needle, 'UTF8') in {col}) > 0 "
                             f"OR encode({col}, 'escape') ILIKE :pattern "
                             f"OR encode({col}, 'hex') ILIKE :hex_pattern "
                             f"OR position(convert_to(:needle_hex, 'UTF8') in {col}) > 0")
            else:
                condition = f"CAST({col} AS text) ILIKE :pattern OR CAST({col} AS text) ILIKE :hex_pattern"
            found = conn.execute(text(f"SELECT count(*) FROM {quote(table)} WHERE {condition}"), {
                "needle": needle, "needle_hex": needle_hex, "pattern": f"%{needle}%", "hex_pattern": f"%{needle_hex}%",
            }).scalar_one()
            if found:
                hits.add(f"{table}.{column}")
        return hits


@pytest.fixture
def full_chart(app, make_user):
    """A patient whose every clinical field, and an SMS about them, carries the canary."""
    doctor = make_user(Role.DOCTOR)
    with app.app_context():
        patient = services.patient_create(given_name="Canaryname", family_name="Kiprono", phone="+254 700 111 222",
                                          national_id=NATIONAL_ID)
        services.history_update(actor=SET_UP, patient_id=patient.id, history=f"Past history {CANARY}: TB treated 2015")
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.ALLERGY, recorded_by_id=doctor.id,
                           content={"substance": f"Sulfa {CANARY}", "reaction": f"hives {CANARY}", "severity": "severe"})
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.PROBLEM, recorded_by_id=doctor.id,
                           content={"condition": f"Hypertension {CANARY}", "notes": CANARY})
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.MEDICATION, recorded_by_id=doctor.id,
                           content={"drug": f"Amlodipine {CANARY}", "dose": "5 mg", "frequency": CANARY})
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.VITALS, recorded_by_id=doctor.id,
                           content={"systolic": 151, "diastolic": 97, "pulse": 77, "spo2": 98})
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE, recorded_by_id=doctor.id,
                           content={"text": f"Seen today. {CANARY} Plan: recheck BP."})
        notification_queue(dedupe_key=f"test-result:{patient.id}", channel=Channel.SMS, to_address="+254700111222",
                           body=f"Your result is ready: {CANARY}", user_id=None)
        services.chart_read(actor=SET_UP, patient_id=patient.id)
        db.session.commit()
        db.session.expunge_all()
        return patient, doctor


def test_no_clinical_content_is_readable_anywhere_in_the_database(app, full_chart, signed_in, care):
    patient, _ = full_chart
    # the same content also arrives the way a doctor enters it, through the page
    doctor_browser, doctor = signed_in(Role.DOCTOR)
    care(doctor, patient)
    page = f"/doctor/patients/{patient.id}"
    response = doctor_browser.post(f"{page}/entries/note", {"subjective": f"Typed at the desk {CANARY}"}, page=page)
    assert response.status_code == 303
    assert CANARY in doctor_browser.get(page).get_data(as_text=True)

    with app.app_context():
        assert plaintext_hits(CANARY) == set()
        assert plaintext_hits(NATIONAL_ID) == set()
        assert plaintext_hits("Hypertension") == set()


def test_identifiers_meant_to_be_plain_are_findable(app, full_chart):
    """The scan is not blind: what is stored plain by design shows up, where it is meant to."""
    patient, _ = full_chart
    with app.app_context():
        assert plaintext_hits("Canaryname") == {"patients.given_name", "patients.name_search"}
        assert plaintext_hits("+254700111222") == {"patients.phone"}
        assert plaintext_hits(patient.mrn) == {"patients.mrn"}


def test_the_scan_sees_plaintext_and_hex_hidden_in_bytes(app, full_chart):
    patient, _ = full_chart
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE patients SET history = :raw WHERE id = :id"),
                         {"raw": f"leaked {CANARY}".encode(), "id": patient.id})
            conn.execute(text("UPDATE clinical_entries SET content = :raw WHERE kind = 'note'"),
                         {"raw": f"leaked {CANARY}".encode().hex().encode()})
        assert plaintext_hits(CANARY) == {"patients.history", "clinical_entries.content"}


def test_encrypted_values_read_back_through_the_models(app, full_chart):
    patient, _ = full_chart
    with app.app_context():
        found = services.patient_find_by_national_id(NATIONAL_ID)
        assert found.id == patient.id and found.national_id == NATIONAL_ID
        assert CANARY in found.history
        chart = services.chart_read(actor=SET_UP, patient_id=patient.id)
        assert chart[EntryKind.NOTE][0].content["text"].startswith("Seen today. " + CANARY)
        assert chart[EntryKind.VITALS][0].content == {"systolic": 151, "diastolic": 97, "pulse": 77, "spo2": 98}
        db.session.rollback()


def test_the_same_value_encrypts_differently_each_time(app, full_chart):
    """Fernet tokens carry a random IV: equal plaintexts cannot be matched by comparing ciphertexts."""
    patient, _ = full_chart
    with app.app_context():
        other = services.patient_create(given_name="Other", family_name="Person", national_id=NATIONAL_ID + "-2")
        other.history = f"Past history {CANARY}: TB treated 2015"
        db.session.commit()
        tokens = db.session.execute(text("SELECT history FROM patients ORDER BY id")).scalars().all()
        assert len(tokens) == 2 and bytes(tokens[0]) != bytes(tokens[1])
