"""The quality ladder's samples on the server: what a browser may send (numbers in their ranges), the
cap per consultation, and the administrator's "Call quality" page computed from them."""
from __future__ import annotations

import datetime as dt

import pytest

from app.accounts.models import Role
from app.consultations import services, signals
from app.consultations.models import QUALITY_SAMPLES_MAX, CallQualitySample
from app.core.clock import clock
from app.core.errors import NotFound
from app.extensions import db
from tests.consultations.conftest import actor_of

GOOD = {"rtt": 80, "loss": 0.5, "bitrate": 600, "fps": 15, "level": 0, "audioOnly": False}


@pytest.mark.parametrize("bad", [
    {"rtt": -1}, {"rtt": 60_001}, {"loss": 101}, {"loss": "3"}, {"bitrate": True}, {"fps": float("nan")},
    {"fps": float("inf")}, {"level": 4}, {"level": 1.5}, {"level": None}, {"audioOnly": "yes"},
])
def test_a_sample_outside_its_ranges_is_refused(bad):
    assert signals.quality_clean({**GOOD, **bad}) is None
    assert signals.quality_clean([GOOD]) is None


def test_a_sample_may_leave_out_what_the_browser_cannot_measure():
    assert signals.quality_clean({"level": 3, "audioOnly": True}) == {
        "rtt": None, "loss": None, "bitrate": None, "fps": None, "level": 3, "audioOnly": True}
    assert signals.quality_clean(GOOD) == GOOD


def _room(visit):
    room = services.room_enter(actor=actor_of(visit.doctor), token=visit.token)
    services.patient_admit(actor=actor_of(visit.doctor), consultation_id=room.consultation.id)
    return room.consultation.id


def test_samples_are_kept_up_to_the_cap_and_only_for_the_rooms_members(app_ctx, visit, make_user):
    consultation_id = _room(visit)
    patient = actor_of(visit.patient_user)
    assert services.quality_record(actor=patient, consultation_id=consultation_id, sample=GOOD) is True
    kept = db.session.query(CallQualitySample).one()
    assert (kept.member, kept.rtt_ms, kept.level, kept.audio_only) == ("patient", 80, 0, False)
    with pytest.raises(NotFound):
        services.quality_record(actor=actor_of(make_user(Role.DOCTOR)), consultation_id=consultation_id, sample=GOOD)
    db.session.add_all(CallQualitySample(consultation_id=consultation_id, member="doctor", level=0, audio_only=False)
                       for _ in range(QUALITY_SAMPLES_MAX - 1))
    db.session.flush()
    assert services.quality_record(actor=patient, consultation_id=consultation_id, sample=GOOD) is False
    assert db.session.query(CallQualitySample).count() == QUALITY_SAMPLES_MAX


def test_the_admin_sees_calls_median_rtt_loss_and_time_audio_only_per_doctor_and_day(app, visit, signed_in):
    with app.app_context():
        consultation_id = _room(visit)
        at = clock.now()
        for i, (rtt, loss, audio_only) in enumerate([(100, 1.0, False), (300, 4.0, False), (900, 12.0, True),
                                                     (700, 9.0, True)]):
            db.session.add(CallQualitySample(consultation_id=consultation_id, member="patient", rtt_ms=rtt,
                                             loss_pct=loss, level=3 if audio_only else 0, audio_only=audio_only,
                                             measured_at=at + dt.timedelta(seconds=4 * i)))
        db.session.commit()
    admin, _ = signed_in(Role.ADMIN)
    assert 'href="/admin/call-quality/"' in admin.client.get("/admin/").get_data(as_text=True)
    page = admin.client.get("/admin/call-quality/").get_data(as_text=True)
    row = page.split('id="call-quality"')[1].split("</tr>")[1]
    assert "Dr. Amina Odhiambo" in row
    assert ">1<" in row and "500 ms" in row and "6.5 %" in row and "50 %" in row
    doctor, _ = signed_in(Role.DOCTOR)
    assert doctor.client.get("/admin/call-quality/").status_code in (403, 404)
