"""A live page re-fetching itself is not the person: it never keeps an idle session alive."""
from __future__ import annotations

from app.accounts.models import Role


def test_a_live_refresh_is_served_but_does_not_count_as_activity(signed_in):
    b, _ = signed_in(Role.RECEPTION)
    with b.client.session_transaction() as s:
        s["last_seen"] -= 600
        last_seen = s["last_seen"]
    live = {"HX-Request": "true", "X-Live-Refresh": "1"}
    response = b.get("/reception/appointments/queue", headers=live)
    assert response.status_code == 200 and 'id="clinic-queue"' in response.get_data(as_text=True)
    with b.client.session_transaction() as s:
        assert s["last_seen"] == last_seen
    b.get("/reception/appointments/queue", headers={"HX-Request": "true"})  # the person's own request
    with b.client.session_transaction() as s:
        assert s["last_seen"] > last_seen


def test_an_idle_session_is_still_signed_out_by_a_live_refresh(signed_in):
    b, _ = signed_in(Role.DOCTOR)
    with b.client.session_transaction() as s:
        s["last_seen"] -= 10_000
    response = b.get("/doctor/appointments/day", headers={"HX-Request": "true", "X-Live-Refresh": "1"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/login?reason=idle"
