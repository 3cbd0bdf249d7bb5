"""Redis is down (nothing listens on its port) while the lab works: the doctor orders, the technician
takes the order to a critical result and releases it, the patient reads it. Every request succeeds
quickly, everything is saved, and what was to be sent waits in the outbox: the sweep sends each
message once when Redis is back. Live refreshes are lost (pages catch up when they reconnect)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.labs import results
from app.labs.models import LabOrder
from app.notifications.models import Notification
from tests.conftest import signed_in_as
from tests.core.apps import another_app
from tests.notifications.peers import answered_quickly, free_port


def test_the_lab_works_with_redis_down_and_the_messages_go_once_when_it_is_back(app, lab_clinic, test_id):
    from app.notifications import tasks

    patient_id = lab_clinic["patient"].id
    with another_app(app, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0") as offline:
        doctor = signed_in_as(offline, lab_clinic["doctor"])
        form_url = f"/doctor/patients/{patient_id}/lab-orders/new"
        ordered = answered_quickly(lambda: doctor.post(form_url, {"test_ids": [test_id("FBC")], "urgency": "urgent",
                                                        "site_id": lab_clinic["lab"], "note": "Pale."}, page=form_url))
        assert ordered.status_code == 303
        with offline.app_context():
            order = db.session.execute(select(LabOrder).where(LabOrder.patient_id == patient_id)).scalar_one()
            order_id = order.id
            fields = {results.field_name(a): a.code for _t, a in results.analytes_of(order)}

        technician = signed_in_as(offline, lab_clinic["technician"])
        page = f"/lab/orders/{order_id}"
        assert answered_quickly(lambda: technician.get("/lab/")).status_code == 200
        for step in ("collect", "receive", "start"):
            assert answered_quickly(lambda: technician.post(f"{page}/{step}", page=page)).status_code == 303
        typed = {name: "5" for name in fields}  # Hb 5 g/dL: critical
        assert answered_quickly(lambda: technician.post(f"{page}/results", typed, page=page)).status_code == 303
        released = answered_quickly(lambda: technician.post(f"{page}/release", page=page, follow_redirects=True))
        assert "Results released" in released.get_data(as_text=True)

        patient = signed_in_as(offline, lab_clinic["patient_user"])
        assert "5" in answered_quickly(lambda: patient.get("/patient/lab-results")).get_data(as_text=True)

    with app.app_context():
        assert db.session.get(LabOrder, order_id).status == "completed"
        rows = dict(db.session.execute(select(Notification.dedupe_key, Notification.status)).all())
    # The inbox is written with the change itself; what leaves by SMS or email waits for a queue.
    assert rows[f"lab:{order_id}:critical:doctor"] == "sent"
    pending = {key for key, status in rows.items() if status == "pending"}
    assert {f"lab:{order_id}:ordered:sms", f"lab:{order_id}:released1:sms"} <= pending

    assert tasks.notifications_sweep() == len(pending)
    assert tasks.notifications_sweep() == 0  # each message sent once
    with app.app_context():
        sent = dict(db.session.execute(select(Notification.dedupe_key, Notification.status)).all())
    assert all(sent[key] == "sent" for key in pending)
