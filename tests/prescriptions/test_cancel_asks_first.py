"""A doctor cancelling a prescription is asked first (issue 12 item 1): one tap only asks."""
from __future__ import annotations

from app.extensions import db
from app.prescriptions.models import Prescription
from tests.conftest import Browser
from tests.prescriptions.test_prescribing import item, sign


def _status(app, prescription_id: int) -> str:
    with app.app_context():
        return db.session.get(Prescription, prescription_id).status


def test_cancelling_a_prescription_asks_first(app, clinic):
    prescription_id = sign(app, clinic, [item(clinic, "Paracetamol", "tablet")])
    doctor = Browser(app.test_client())
    assert doctor.login(clinic["doctor"].email).status_code == 303
    page_url = f"/doctor/prescriptions/{prescription_id}"
    page = doctor.get(page_url).get_data(as_text=True)
    assert 'data-confirm="Cancel this prescription? The pharmacy will not dispense it."' in page

    cancel = f"{page_url}/cancel"
    asked = doctor.post(cancel, page=page_url)
    assert asked.status_code == 303 and asked.headers["Location"] == cancel
    assert _status(app, prescription_id) != "cancelled"
    question = doctor.get(cancel).get_data(as_text=True)
    assert "Cancel this prescription?" in question and clinic["patient"].full_name in question

    done = doctor.post(cancel, {"confirmed": "yes"}, page=page_url)
    assert done.status_code == 303 and _status(app, prescription_id) == "cancelled"
