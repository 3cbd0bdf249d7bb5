"""Vitals: ranges refused beside the field and by the service, blanks not shown, and the trends drawn
as inline SVG on the doctor's chart and the patient's record (in the patient's language)."""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.clock import clock
from app.core.errors import DomainError
from app.extensions import db
from app.records import services
from app.records.models import ClinicalEntry, EntryKind, EntryStatus
from app.records.trends import SERIES_LIMIT, vitals_trends
from tests.conftest import SET_UP

SVG = "{http://www.w3.org/2000/svg}"
READINGS = [  # oldest first; blanks on purpose
    {"systolic": 118, "diastolic": 76, "pulse": 64, "weight_kg": 70.0, "height_cm": 175},
    {"systolic": 124, "diastolic": 80, "pulse": 72, "temperature_c": 36.8},
    {"pulse": 88, "spo2": 97},
    {"systolic": 142, "diastolic": 92, "pulse": 70, "weight_kg": 72.4},
    {"systolic": 130, "diastolic": 84, "temperature_c": 37.9, "spo2": 95},
    {"systolic": 128, "diastolic": 82, "pulse": 72, "weight_kg": 71.0, "temperature_c": 36.6},
]


def record(patient_id, readings=READINGS, *, by=None):
    start = clock.now() - dt.timedelta(days=len(readings))
    return [services.entry_add(actor=SET_UP, patient_id=patient_id, kind=EntryKind.VITALS, content=content,
                               recorded_at=start + dt.timedelta(days=i), recorded_by_id=by)
            for i, content in enumerate(readings)]


def vitals_of(patient_id):
    return services.chart_read(actor=SET_UP, patient_id=patient_id)[EntryKind.VITALS]


def by_key(trends):
    return {trend.key: trend for trend in trends}


def svgs(page: str) -> dict[str, ET.Element]:
    """Each trend's <svg>, parsed as XML (a malformed drawing fails here)."""
    found = re.findall(r'<figure class="trend" id="trend-(\w+)">.*?(<svg .*?</svg>)', page, re.S)
    return {key: ET.fromstring(svg) for key, svg in found}


def test_series_skip_blanks_pair_blood_pressure_and_compute_bmi(app_ctx, make_patient):
    patient = make_patient()
    record(patient.id)
    trends = by_key(vitals_trends(vitals_of(patient.id)))
    assert [line.values for line in trends["bp"].lines] == [[118, 124, 142, 130, 128], [76, 80, 92, 84, 82]]
    assert trends["pulse"].lines[0].values == [64, 72, 88, 70, 72]
    assert trends["temperature_c"].lines[0].values == [36.8, 37.9, 36.6]
    assert trends["spo2"].lines[0].values == [97, 95]
    assert trends["weight_kg"].lines[0].values == [70.0, 72.4, 71.0]
    # BMI: each weight over the latest height at or before it (1.75 m), one decimal.
    assert trends["bmi"].lines[0].values == [22.9, 23.6, 23.2]
    assert "respiratory_rate" not in trends and "height_cm" not in trends  # no readings / not trended


def test_a_weight_before_any_height_has_no_bmi_and_a_later_height_counts_from_then_on(app_ctx, make_patient):
    patient = make_patient()
    record(patient.id, [{"weight_kg": 20.0}, {"height_cm": 110}, {"weight_kg": 21.0},
                        {"weight_kg": 24.0, "height_cm": 120}])
    assert by_key(vitals_trends(vitals_of(patient.id)))["bmi"].lines[0].values == [17.4, 16.7]


def test_entered_in_error_readings_are_left_out_and_series_keep_the_latest_readings(app_ctx, make_patient):
    patient = make_patient()
    entries = record(patient.id, [{"pulse": 60 + i} for i in range(SERIES_LIMIT + 5)] + [{"pulse": 240}])
    services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=entries[-1].id,
                              status=EntryStatus.ENTERED_IN_ERROR, reason="Wrong cuff.")
    latest = [65 + i for i in range(SERIES_LIMIT)]
    pulse = by_key(vitals_trends(vitals_of(patient.id)))["pulse"].lines[0]
    assert pulse.values == latest
    assert len(pulse.points) == SERIES_LIMIT
    # The chart page reads only the readings the trends draw: the latest ones, the struck one left out.
    summary = services.chart_summary_read(actor=SET_UP, patient_id=patient.id)
    assert [entry.content["pulse"] for entry in summary.trend_readings] == latest
    assert by_key(vitals_trends(summary.trend_readings))["pulse"].lines[0].values == latest


@pytest.mark.parametrize("content, field", [
    ({"pulse": 900}, "pulse"), ({"temperature_c": 4}, "temperature_c"), ({"height_cm": 900}, "height_cm"),
    ({"spo2": 101}, "spo2"), ({"systolic": "nan"}, "systolic"), ({"weight_kg": float("inf")}, "weight_kg"),
    ({"respiratory_rate": 0}, "respiratory_rate")])
def test_the_service_refuses_an_out_of_range_reading_naming_the_range(app_ctx, make_patient, content, field):
    patient = make_patient()
    with pytest.raises(DomainError) as refused:
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.VITALS, content=content)
    assert refused.value.field == field and "between" in refused.value.message
    assert db.session.execute(select(ClinicalEntry).where(ClinicalEntry.patient_id == patient.id)).first() is None


def test_the_service_stores_numbers_not_what_was_posted(app_ctx, make_patient):
    patient = make_patient()
    entry = services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.VITALS,
                               content={"pulse": "72", "temperature_c": "36.84", "spo2": ""})
    assert entry.content == {"pulse": 72, "temperature_c": 36.8}


@pytest.fixture
def doctor_chart(signed_in, make_patient, care):
    def open_chart(readings=READINGS):
        browser, doctor = signed_in(Role.DOCTOR)
        patient = make_patient()
        care(doctor, patient)
        with browser.client.application.app_context():
            record(patient.id, readings, by=doctor.id)
            db.session.commit()
        return browser, patient

    return open_chart


def test_the_doctor_sees_each_trend_as_well_formed_inline_svg(doctor_chart):
    browser, patient = doctor_chart()
    page = browser.get(f"/doctor/patients/{patient.id}").get_data(as_text=True)
    drawn = svgs(page)
    assert set(drawn) == {"bp", "pulse", "temperature_c", "spo2", "weight_kg", "bmi"}
    pulse = drawn["pulse"]
    assert pulse.get("role") == "img" and pulse.get("viewBox") == "0 0 280 60"
    assert pulse.get("aria-label") == "Pulse: 72 /min, from 64 to 88 over 5 readings"
    assert pulse.find(f"{SVG}title").text == pulse.get("aria-label")
    assert len(pulse.findall(f"{SVG}circle")) == 5 and len(pulse.findall(f"{SVG}polyline")) == 1
    assert len(pulse.find(f"{SVG}polyline").get("points").split()) == 5
    assert len(pulse.findall(f"{SVG}rect")) == 1  # the normal band
    assert "72" in [t.text for t in pulse.findall(f"{SVG}text")]  # the last value
    bp = drawn["bp"]
    assert len(bp.findall(f"{SVG}polyline")) == 2 and len(bp.findall(f"{SVG}circle")) == 10
    assert bp.get("aria-label").startswith("Blood pressure: 128/82 mmHg, systolic from 118 to 142")
    assert "BMI: 23.2 kg/m²" in drawn["bmi"].get("aria-label")
    for svg in drawn.values():  # the CSP (style-src 'self') blocks style attributes; and no script
        assert all("style" not in el.attrib for el in svg.iter()) and svg.find(f".//{SVG}script") is None
    assert "<script" not in page.split('id="vitals"')[1].split("</section>")[0]


def test_a_single_reading_draws_one_point_and_no_line(doctor_chart):
    browser, patient = doctor_chart([{"pulse": 80}])
    pulse = svgs(browser.get(f"/doctor/patients/{patient.id}").get_data(as_text=True))["pulse"]
    assert len(pulse.findall(f"{SVG}circle")) == 1 and pulse.find(f"{SVG}polyline") is None
    assert pulse.get("aria-label") == "Pulse: 80 /min, one reading"


def test_a_blank_field_is_simply_not_shown(doctor_chart):
    browser, patient = doctor_chart([{"pulse": 88, "spo2": 97}, {"systolic": 120}])
    page = browser.get(f"/doctor/patients/{patient.id}").get_data(as_text=True)
    vitals = page.split('id="vitals"')[1].split("</section>")[0]
    readings = [re.sub(r"\s+", " ", li) for li in re.findall(r'<li id="entry-\d+">(.*?)<div class="entry-meta">',
                                                             vitals, re.S)]
    assert [r.strip() for r in readings] == ["systolic 120 mmHg", "pulse 88/min · SpO₂ 97%"]
    listed = re.sub(r"<form.*?</form>", "", vitals.split('<ul class="list">')[1].split("</ul>")[0], flags=re.S)
    assert "None" not in listed and "?" not in listed and " 0 " not in listed
    assert set(svgs(page)) == {"pulse", "spo2"}  # a lone systolic is no blood pressure trend


@pytest.mark.parametrize("field, typed", [("pulse", "900"), ("temperature_c", "4")])
def test_an_out_of_range_reading_is_refused_beside_its_field_and_what_was_typed_stays(
        signed_in, make_patient, care, field, typed):
    browser, doctor = signed_in(Role.DOCTOR)
    patient = make_patient()
    care(doctor, patient)
    chart = f"/doctor/patients/{patient.id}"
    response = browser.post(f"{chart}/entries/vitals", {field: typed, "spo2": "98"}, page=chart)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    expected = {"pulse": "Expected between 20 and 250.", "temperature_c": "Expected between 30.0 and 44.0."}[field]
    assert re.search(rf'id="{field}"[^>]*value="{typed}"', page) or re.search(rf'value="{typed}"[^>]*id="{field}"', page)
    assert f'<p class="error" id="{field}-error">{expected}</p>' in page
    with browser.client.application.app_context():
        assert vitals_of(patient.id) == []


def test_the_patient_sees_the_trends_in_swahili(signed_in, app):
    browser, user = signed_in(Role.PATIENT, language="sw")
    with app.app_context():
        patient = services.patient_create(given_name="Amani", family_name="Otieno", user_id=user.id)
        record(patient.id)
        db.session.commit()
    page = browser.get("/patient/record/").get_data(as_text=True)
    drawn = svgs(page)
    assert set(drawn) == {"bp", "pulse", "temperature_c", "spo2", "weight_kg", "bmi"}
    assert drawn["pulse"].get("aria-label") == "Mapigo ya moyo: 72 /min, kutoka 64 hadi 88 katika vipimo 5"
    assert drawn["bp"].get("aria-label").startswith("Shinikizo la damu: 128/82 mmHg")
    assert "Blood pressure" not in page and "readings" not in page
