"""The admin's people page and invitations (issue 12 item 8): one status, the same on the list and
the person's page (invited, with when the link expires; active; deactivated), filtered by status;
invitations resent (a new link, the old one dead, one email per click however fast the clicks) and
withdrawn (asked first; the link dead, the never-used account deactivated); each audited."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.accounts import services
from app.accounts.models import Role, User
from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.core.clock import clock
from app.extensions import db
from tests.accounts.conftest import link_in, text
from tests.conftest import Browser, second_waits_on_first

CONFIRMED = {"confirmed": "yes"}
NEW_PASSWORD = "a brand new sentence"
INVITE = {"full_name": "Dr Wanjiku Kamau", "email": "w.kamau@clinic.test", "role": "doctor"}
NOON = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.timezone.utc)  # 12:00 in Nairobi


@pytest.fixture
def invited(app, signed_in, db_user, outbox):
    """An admin (browser) who invited Dr Wanjiku Kamau at noon: (admin browser, admin, invitee id, link)."""
    clock.freeze(NOON)
    admin, admin_user = signed_in(Role.ADMIN, full_name="Achieng Otieno")
    assert admin.post("/admin/people/invite", INVITE).status_code == 303
    [email] = outbox()
    return admin, admin_user, db_user(INVITE["email"]).id, link_in(email["body"], "/invite/")


def status_cell(page: str, user_id: int) -> str:
    row = re.search(rf'<tr id="user-{user_id}">.*?</tr>', page, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", row.rsplit("<td>", 1)[1]).split())


def status_on_person_page(page: str) -> str:
    block = re.search(r'<p id="account-status">(.*?)</p>', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", block).split())


def audited(app, action: str) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.target).where(AuditEvent.action == action)).scalars())


def accept(app, link: str):
    invitee = Browser(app.test_client())
    return invitee.post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=link)


# -- one status ---------------------------------------------------------------------------------------

def test_an_invited_person_reads_invited_on_the_list_and_on_their_page_until_they_accept(app, invited):
    admin, _, user_id, link = invited
    listed = status_cell(text(admin.get("/admin/people/")), user_id)
    own = status_on_person_page(text(admin.get(f"/admin/people/{user_id}")))
    assert listed == own == "invited link valid until 08 Mar 2027 12:00"  # 7 days, in clinic time
    clock.advance(dt.timedelta(days=8))
    assert status_on_person_page(text(admin.get(f"/admin/people/{user_id}"))) == \
        "invited link expired 08 Mar 2027 12:00"
    clock.freeze(NOON)
    assert accept(app, link).status_code == 303
    assert status_cell(text(admin.get("/admin/people/")), user_id) == "active"
    assert status_on_person_page(text(admin.get(f"/admin/people/{user_id}"))) == "active"


def test_the_people_list_filters_by_status(app, invited, make_user):
    admin, admin_user, invitee_id, _ = invited
    gone = make_user(Role.RECEPTION, full_name="Gone Away")
    with app.app_context():
        db.session.get(User, gone.id).is_active_account = False
        db.session.commit()

    def names(query: str, **headers) -> list[str]:
        page = text(admin.get(f"/admin/people/?{query}", headers=headers))
        return re.findall(r'<tr id="user-\d+">\s*<td><a [^>]*>([^<]+)</a>', page)

    assert names("status=invited") == ["Dr Wanjiku Kamau"]
    assert names("status=active") == ["Achieng Otieno"]
    assert names("status=deactivated") == ["Gone Away"]
    assert names("status=invited&role=lab") == []
    assert names("status=nonsense") == ["Achieng Otieno", "Dr Wanjiku Kamau", "Gone Away"]  # ignored, not a 500
    assert names("status=deactivated", **{"HX-Request": "true"}) == ["Gone Away"]
    page = text(admin.get("/admin/people/?status=invited"))
    assert re.search(r'<option value="invited"\s+selected>invited</option>', page), page


# -- resending ----------------------------------------------------------------------------------------

def test_resend_emails_a_new_link_and_the_old_one_stops_working(app, invited, outbox):
    admin, _, user_id, old_link = invited
    page = text(admin.get(f"/admin/people/{user_id}"))
    assert "Resend invitation" in page and "Withdraw invitation" in page
    assert "End all sessions" not in page and ">Deactivate<" not in page  # nothing to end, withdraw instead
    clock.advance(dt.timedelta(minutes=2))
    response = admin.post(f"/admin/people/{user_id}/invitation/resend")
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/people/{user_id}"
    assert "A new invitation was sent" in text(admin.get(response.headers["Location"]))
    first, second = outbox()
    assert first["to"] == second["to"] == INVITE["email"] and "Achieng Otieno" in second["body"]
    new_link = link_in(second["body"], "/invite/")
    assert new_link != old_link

    refused = Browser(app.test_client()).get(old_link)
    assert refused.status_code == 410
    assert "A newer invitation was sent to you since: use the link in the latest email." in text(refused)
    assert "Ask for a new link" not in text(refused)  # "forgot password" is no way in for an invitation
    assert accept(app, new_link).status_code == 303
    assert audited(app, "account.invite.resend") == [f"user:{user_id}"]


def test_a_double_click_on_resend_sends_one_email(app, invited, outbox):
    admin, _, user_id, _ = invited
    clock.advance(dt.timedelta(minutes=2))
    assert admin.post(f"/admin/people/{user_id}/invitation/resend").status_code == 303
    again = admin.post(f"/admin/people/{user_id}/invitation/resend")
    assert again.status_code == 303
    assert "a moment ago: nothing more was sent" in text(admin.get(again.headers["Location"]))
    assert len(outbox()) == 2  # the invitation and one resend


def test_two_resends_at_the_same_instant_send_one_email(app, invited, outbox):
    """Two administrators (or two tabs) at once: the second waits for the first, then sends nothing."""
    _, admin_user, user_id, _ = invited
    clock.advance(dt.timedelta(minutes=2))
    with app.app_context():
        _resend_racing_another(app, admin_user, user_id)
    assert len(outbox()) == 2


def _resend_racing_another(app, admin_user, user_id: int) -> None:
    resend = lambda: services.staff_invite_resend(actor=Actor.for_user(admin_user), user_id=user_id)  # noqa: E731
    result = second_waits_on_first(app, resend, resend)
    assert isinstance(result, services.InvitationJustSent), result


# -- withdrawing --------------------------------------------------------------------------------------

def test_withdrawing_asks_first_then_the_link_stops_working_and_the_account_is_deactivated(
        app, invited, db_user, outbox, browser):
    admin, _, user_id, link = invited
    unconfirmed = admin.post(f"/admin/people/{user_id}/invitation/revoke")
    assert unconfirmed.status_code == 303 and unconfirmed.headers["Location"].endswith("/invitation/revoke")
    question = text(admin.get(unconfirmed.headers["Location"]))
    assert "Withdraw this invitation? Its link stops working and the account is deactivated." in question
    assert db_user(INVITE["email"]).is_active_account  # asking changed nothing

    done = admin.post(f"/admin/people/{user_id}/invitation/revoke", CONFIRMED)
    assert done.status_code == 303 and done.headers["Location"] == f"/admin/people/{user_id}"
    page = text(admin.get(done.headers["Location"]))
    assert "Invitation withdrawn" in page and status_on_person_page(page) == "deactivated"
    assert "Reactivate" in page and "Resend invitation" not in page
    assert not db_user(INVITE["email"]).is_active_account
    assert audited(app, "account.invite.revoke") == [f"user:{user_id}"]

    refused = Browser(app.test_client()).get(link)
    assert refused.status_code == 410 and "This invitation was withdrawn by the clinic." in text(refused)
    assert accept(app, link).status_code == 410
    assert db_user(INVITE["email"]).password_hash is None
    browser.post("/forgot-password", {"email": INVITE["email"]})  # no way around it by a reset link
    assert [e["subject"] for e in outbox()] == ["You're invited to MyAfya Clinic on MyAfya"]


def test_a_withdrawn_invitation_can_be_sent_again_after_reactivating(app, invited, outbox):
    admin, _, user_id, _ = invited
    admin.post(f"/admin/people/{user_id}/invitation/revoke", CONFIRMED)
    admin.post(f"/admin/people/{user_id}/reactivate")
    page = text(admin.get(f"/admin/people/{user_id}"))
    assert status_on_person_page(page) == "invited no open link" and "Resend invitation" in page
    clock.advance(dt.timedelta(minutes=2))
    admin.post(f"/admin/people/{user_id}/invitation/resend")
    assert accept(app, link_in(outbox()[-1]["body"], "/invite/")).status_code == 303


@pytest.mark.parametrize("state", ["active", "deactivated"])
def test_resend_and_withdraw_are_refused_cleanly_unless_the_person_is_invited(app, invited, outbox, db_user, state):
    admin, _, user_id, link = invited
    assert accept(app, link).status_code == 303
    if state == "deactivated":
        admin.post(f"/admin/people/{user_id}/deactivate", CONFIRMED)
    before = db_user(INVITE["email"])
    page = text(admin.get(f"/admin/people/{user_id}"))
    assert "Resend invitation" not in page and "Withdraw invitation" not in page
    clock.advance(dt.timedelta(minutes=2))
    for action, data in (("resend", {}), ("revoke", CONFIRMED)):
        response = admin.post(f"/admin/people/{user_id}/invitation/{action}", data)
        assert response.status_code == 303 and response.headers["Location"] == f"/admin/people/{user_id}"
        assert f"Dr Wanjiku Kamau has no open invitation: the account is {state}." in \
            text(admin.get(response.headers["Location"]))
    after = db_user(INVITE["email"])
    assert (after.is_active_account, after.session_token) == (before.is_active_account, before.session_token)
    assert len(outbox()) == 1
    assert audited(app, "account.invite.resend") == audited(app, "account.invite.revoke") == []
    assert admin.post("/admin/people/99999/invitation/resend").status_code == 404


def test_an_accepted_invitation_link_says_so_and_offers_sign_in(app, invited):
    _, _, _, link = invited
    accept(app, link)
    page = Browser(app.test_client()).get(link)
    assert page.status_code == 410
    assert "This invitation was already accepted" in text(page) and 'href="/login"' in text(page)


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTION])
def test_only_an_admin_may_resend_or_withdraw(app, invited, signed_in, outbox, db_user, role):
    _, _, user_id, _ = invited
    intruder, _ = signed_in(role)
    clock.advance(dt.timedelta(minutes=2))
    assert intruder.post(f"/admin/people/{user_id}/invitation/resend").status_code == 403
    assert intruder.post(f"/admin/people/{user_id}/invitation/revoke", CONFIRMED).status_code == 403
    assert len(outbox()) == 1 and db_user(INVITE["email"]).is_active_account


def test_admin_changes_to_accounts_are_audited(app, invited, make_user):
    admin, _, _, _ = invited
    other = make_user(Role.LAB)
    admin.post(f"/admin/people/{other.id}", {"role": "pharmacist"})
    admin.post(f"/admin/people/{other.id}/end-sessions", CONFIRMED)
    admin.post(f"/admin/people/{other.id}/deactivate", CONFIRMED)
    admin.post(f"/admin/people/{other.id}/reactivate")
    for action in ("account.role_change", "account.sessions_end", "account.deactivate", "account.reactivate"):
        assert audited(app, action) == [f"user:{other.id}"], action
    assert len(audited(app, "account.invite")) == 1


@pytest.mark.parametrize("withdrawn_first", [True, False])
def test_accepting_while_the_invitation_is_withdrawn_one_of_them_wins_whole(app, invited, db_user, withdrawn_first):
    """The invitee sets a password at the instant the admin withdraws: the two take turns on the link's
    lock. Withdrawn first, the link is dead and no password is set; accepted first, the withdrawal is
    refused and the account stays active with its password."""
    _, admin_user, user_id, link = invited
    raw_token = link.rsplit("/invite/", 1)[1]
    withdraw = lambda: services.staff_invite_revoke(actor=Actor.for_user(admin_user), user_id=user_id)  # noqa: E731
    accept = lambda: services.token_redeem(raw_token=raw_token, purpose=services.TokenPurpose.INVITE,  # noqa: E731
                                           new_password=NEW_PASSWORD)
    with app.app_context():
        result = second_waits_on_first(app, withdraw, accept) if withdrawn_first else second_waits_on_first(app, accept, withdraw)
    account = db_user(INVITE["email"])
    assert isinstance(result, services.DomainError), result
    if withdrawn_first:
        assert (account.is_active_account, account.password_hash) == (False, None)
    else:
        assert account.is_active_account and account.password_hash is not None
