"""A mother and her child share a phone: the duplicates rule pairs them, and the admin judges them two
people. The pair leaves the page (and stays off it), audited on both records; one click lists it
again. A second click, or a second admin at the same instant, adds nothing; nobody else can do it."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.extensions import db
from app.records import duplicates, merge, services
from app.records.models import DuplicateDismissal

PAGE = "/admin/patients/duplicates"
ADMIN = Actor(user_id=None, role=Role.ADMIN.value)


def _mother_and_child(app) -> tuple[int, int]:
    with app.app_context():
        mother = services.patient_create(given_name="Grace", family_name="Akinyi", phone="+254722111222")
        child = services.patient_create(given_name="Baraka", family_name="Otieno", phone="0722 111 222")
        db.session.commit()
        return mother.id, child.id


def test_the_admin_marks_two_people_and_can_list_them_again(app, signed_in):
    mother, child = _mother_and_child(app)
    browser, admin = signed_in(Role.ADMIN)
    assert f'id="pair-{mother}-{child}"' in browser.get(PAGE).get_data(as_text=True)

    done = browser.post(f"{PAGE}/{mother}/{child}/dismiss", page=PAGE, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "Marked as two different people" in page and f'id="pair-{mother}-{child}"' not in page
    assert "Judged two different people" in page and "Grace Akinyi" in page
    assert browser.post(f"{PAGE}/{mother}/{child}/dismiss", page=PAGE).status_code == 303  # a second click
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(DuplicateDismissal)).scalar_one() == 1
        rows = db.session.execute(select(AuditEvent.patient_id, AuditEvent.actor_user_id).where(
            AuditEvent.action == "patient.not_duplicate")).all()
        dismissal_id = db.session.execute(select(DuplicateDismissal.id)).scalar_one()
    assert sorted(rows) == [(mother, admin.id), (child, admin.id)]

    again = browser.post(f"/admin/patients/dismissals/{dismissal_id}/restore", page=PAGE, follow_redirects=True)
    assert "The pair is listed again." in again.get_data(as_text=True)
    assert f'id="pair-{mother}-{child}"' in again.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.DOCTOR, Role.PATIENT])
def test_nobody_but_an_admin_dismisses_a_pair(app, signed_in, role):
    mother, child = _mother_and_child(app)
    browser, _user = signed_in(role)
    assert browser.post(f"{PAGE}/{mother}/{child}/dismiss", page="/").status_code in (403, 404)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(DuplicateDismissal)).scalar_one() == 0
        with pytest.raises(merge.MergeRefused):
            merge.duplicate_dismiss(actor=Actor(user_id=None, role=role.value), first_id=mother, second_id=child)


def test_two_admins_at_once_leave_one_dismissal(app):
    mother, child = _mother_and_child(app)
    barrier, outcomes = threading.Barrier(2), []

    def dismiss(order):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                merge.duplicate_dismiss(actor=ADMIN, first_id=order[0], second_id=order[1])
                db.session.commit()
                outcomes.append("ok")
            except Exception as error:  # noqa: BLE001 - reported below
                outcomes.append(repr(error))
            finally:
                db.session.rollback()
                db.session.remove()

    threads = [threading.Thread(target=dismiss, args=(o,)) for o in ((mother, child), (child, mother))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == ["ok", "ok"]
    with app.app_context():
        assert db.session.execute(select(DuplicateDismissal.first_id, DuplicateDismissal.second_id)).all() == [
            (mother, child)]
        assert duplicates.duplicate_pairs() == []


def test_the_page_reads_its_lists_in_a_fixed_number_of_queries(app, signed_in):
    """Five merges and five dismissals or one of each: the same number of queries (no query per row)."""
    from sqlalchemy import event

    def queries_for_the_page(browser) -> int:
        statements = []

        def seen(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert browser.get(PAGE).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        return len(statements)

    browser, _admin = signed_in(Role.ADMIN)
    counts = []
    for pairs in (1, 5):
        with app.app_context():
            for n in range(pairs):
                phone = f"+2547220000{n}{len(counts)}"
                a = services.patient_create(given_name=f"Same{n}", family_name="Person", phone=phone)
                b = services.patient_create(given_name=f"Same{n}", family_name="Person", phone=a.phone)
                kin_phone = phone.replace("722", "733")
                c = services.patient_create(given_name=f"Other{n}", family_name="Kin", phone=kin_phone)
                d = services.patient_create(given_name=f"Other{n}", family_name="Child", phone=c.phone)
                db.session.flush()
                merge.patients_merge(actor=ADMIN, kept_id=a.id, merged_id=b.id, reason="same")
                merge.duplicate_dismiss(actor=ADMIN, first_id=c.id, second_id=d.id)
            db.session.commit()
        counts.append(queries_for_the_page(browser))
    assert counts[0] == counts[1], counts
