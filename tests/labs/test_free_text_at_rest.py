"""The lab's free text is clinical: the doctor's note for the lab, a rejected sample's note, the
lab's comment on results and an amendment's reason each go in with a canary, which is then looked
for in a dump of the database, in Redis and in the log (at DEBUG, SQL included). Zero hits."""
from __future__ import annotations

import uuid

from app.extensions import db
from app.labs import results
from app.labs.models import LabOrder
from tests.conftest import Browser
from tests.test_free_text_at_rest import _pg_dump, _redis_everything, debug_log  # noqa: F401 - a fixture


def test_lab_free_text_is_nowhere_in_the_clear(app, lab_clinic, test_id, database_url, debug_log):  # noqa: F811
    from app.extensions import jobs
    from app.notifications.tasks import notifications_sweep

    canary = f"zq{uuid.uuid4().hex[:10]}"
    doctor, tech = Browser(app.test_client()), Browser(app.test_client())
    assert doctor.login(lab_clinic["doctor"].email).status_code == 303
    assert tech.login(lab_clinic["technician"].email).status_code == 303
    form = f"/doctor/patients/{lab_clinic['patient'].id}/lab-orders/new"
    sent = doctor.post(form, {"test_ids": [test_id("MAL-RDT")], "urgency": "urgent", "site_id": lab_clinic["lab"],
                              "note": f"fever, travelled {canary}"}, page=form)
    assert sent.status_code == 303, sent.get_data(as_text=True)[:400]
    with app.app_context():
        order_id = db.session.query(LabOrder.id).scalar()
        order = db.session.get(LabOrder, order_id)
        field = results.field_name(results.analytes_of(order)[0][1])
    page = f"/lab/orders/{order_id}"
    for path, data in ((f"{page}/collect", {}), (f"{page}/reject", {"reason": "other", "note": f"spilt {canary}"}),
                       (f"{page}/collect", {}), (f"{page}/receive", {}), (f"{page}/start", {}),
                       (f"{page}/results", {field: "positive", "comment": f"heavy {canary}"}), (f"{page}/release", {}),
                       (f"{page}/amend", {field: "negative", "reason": f"wrong strip {canary}"})):
        response = tech.post(path, data, page=page)
        assert response.status_code == 303, (path, response.get_data(as_text=True)[:400])
    assert f"wrong strip {canary}" in tech.get(page).get_data(as_text=True)  # kept, and shown to the lab
    notifications_sweep()
    dump = _pg_dump(database_url)
    assert "lab_reports" in dump
    assert canary not in dump, "lab free text in the clear in the database dump"
    assert canary.encode() not in _redis_everything(jobs.redis), "lab free text in the clear in Redis"
    assert canary not in debug_log.read_text(encoding="utf-8"), "lab free text in the log"
