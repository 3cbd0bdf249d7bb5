"""Documents on the chart, as the doctor and the patient use them: the type comes from the bytes, not
the name; anything else, or too big, is refused beside the field (a body over the limit too: a page,
never a 500); the file at rest is ciphertext; every look at it is audited with its purpose and
answered with headers that keep it out of caches and scripts; another patient's document is a 404."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select, text

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.extensions import db
from app.records import documents
from app.records.access import READ_ONLY, ChartAccessDenied
from app.records.models import ClinicalEntry
from tests.conftest import Browser
from tests.files_support import HTML, PDF, image

TITLE = "Blood test results, March"


@pytest.fixture
def clinic(app, signed_in, make_user, make_patient, care):
    """A doctor with a patient in care; the patient (signed in too) and another patient, each with an account."""
    doctor, doctor_user = signed_in(Role.DOCTOR, full_name="Dr Wanjiru Keeper")
    patient_user = make_user(Role.PATIENT, full_name="Amani Otieno")
    patient = make_patient(user_id=patient_user.id)
    other_user = make_user(Role.PATIENT, full_name="Baraka Wafula")
    other = make_patient(given_name="Baraka", family_name="Wafula", user_id=other_user.id)
    care(doctor_user, patient)
    care(doctor_user, other)
    as_patient = Browser(app.test_client())
    assert as_patient.login(patient_user.email).status_code == 303
    as_other = Browser(app.test_client())
    assert as_other.login(other_user.email).status_code == 303
    return dict(doctor=doctor, doctor_user=doctor_user, patient=patient, patient_user=patient_user,
                as_patient=as_patient, other=other, as_other=as_other)


def upload(browser: Browser, url: str, data: bytes, filename: str, claimed: str, *, title=TITLE, note="",
           headers=None):
    return browser.post(url, {"title": title, "note": note, "file": (io.BytesIO(data), filename, claimed)},
                        page=url, content_type="multipart/form-data", headers=headers or {})


def doctor_upload_url(patient) -> str:
    return f"/doctor/patients/{patient.id}/documents/new"


def entries(app, patient_id: int) -> list[ClinicalEntry]:
    with app.app_context():
        found = list(db.session.execute(select(ClinicalEntry).where(ClinicalEntry.patient_id == patient_id,
                                                                    ClinicalEntry.kind == "document")
                                        .order_by(ClinicalEntry.id)).scalars())
        db.session.expunge_all()
        return found


def stored_count(app) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM stored_files")).scalar_one()


def test_a_png_named_pdf_and_a_pdf_named_png_are_stored_and_served_as_what_they_are(app, clinic):
    doctor, patient = clinic["doctor"], clinic["patient"]
    photo = image("PNG")
    assert upload(doctor, doctor_upload_url(patient), photo, "scan.pdf", "application/pdf").status_code == 303
    response = upload(doctor, doctor_upload_url(patient), PDF, "photo.png", "image/png", title="Referral letter")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/doctor/patients/{patient.id}#documents")
    png_entry, pdf_entry = entries(app, patient.id)
    assert (png_entry.content["content_type"], png_entry.content["size"]) == ("image/png", len(photo))
    assert pdf_entry.content["content_type"] == "application/pdf"

    served = doctor.get(f"/doctor/patients/{patient.id}/documents/{png_entry.id}")
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data == photo
    assert served.headers["Content-Disposition"].startswith('inline; filename="Blood_test_results_March.png"')
    served = doctor.get(f"/doctor/patients/{patient.id}/documents/{pdf_entry.id}")
    assert served.mimetype == "application/pdf" and served.data == PDF
    assert served.headers["Content-Disposition"] == \
        "attachment; filename=\"Referral_letter.pdf\"; filename*=UTF-8''Referral%20letter.pdf"


def test_the_file_is_answered_with_no_store_nosniff_and_a_sandbox(app, clinic):
    doctor, patient = clinic["doctor"], clinic["patient"]
    upload(doctor, doctor_upload_url(patient), image("JPEG"), "x.jpg", "image/jpeg", title='Evil "name"/..\\x\r\n')
    (entry,) = entries(app, patient.id)
    served = doctor.get(f"/doctor/patients/{patient.id}/documents/{entry.id}")
    assert served.headers["Cache-Control"] == "no-store"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"].startswith("sandbox;")
    disposition = served.headers["Content-Disposition"]
    assert disposition == "inline; filename=\"Evil_name_..x.jpg\"; filename*=UTF-8''Evil%20name%20..%20x.jpg"
    assert '"' not in disposition.split("filename*=")[1] and "\r" not in disposition and "\n" not in disposition


def test_an_html_file_named_pdf_is_refused_beside_the_field_and_nothing_is_stored(app, clinic):
    doctor, patient = clinic["doctor"], clinic["patient"]
    response = upload(doctor, doctor_upload_url(patient), HTML, "results.pdf", "application/pdf", note="kept note")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="file-error"' in body and "PDF files and photos" in body
    assert f'value="{TITLE}"' in body and "kept note" in body  # what was typed stays
    assert entries(app, patient.id) == [] and stored_count(app) == 0


def test_a_file_over_the_limit_is_refused_with_its_size_and_the_limit(app, clinic, monkeypatch):
    doctor, patient = clinic["doctor"], clinic["patient"]
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 2048)
    response = upload(doctor, doctor_upload_url(patient), PDF + b" " * 3000, "big.pdf", "application/pdf")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="file-error"' in body
    assert "a document can be at most 2 KB" in body
    assert entries(app, patient.id) == [] and stored_count(app) == 0


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_body_over_the_upload_limit_is_a_413_page_that_leads_back_to_the_form(app, clinic, monkeypatch, htmx):
    doctor, patient = clinic["doctor"], clinic["patient"]
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 2048)
    response = upload(doctor, doctor_upload_url(patient), PDF + b" " * 200_000, "big.pdf", "application/pdf",
                      headers={"HX-Request": "true"} if htmx else {})
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "A file can be at most 2 KB" in body and f'href="{doctor_upload_url(patient)}"' in body
    assert ("<main" in body) is not htmx  # a fragment for htmx, the page in the layout otherwise
    assert entries(app, patient.id) == [] and stored_count(app) == 0


def test_other_forms_keep_the_small_limit(app, clinic):
    """The upload's larger limit is its own: the same body to a note is refused."""
    doctor, patient = clinic["doctor"], clinic["patient"]
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert app.config["DOCUMENT_MAX_BYTES"] > limit  # else this proves nothing
    response = doctor.post(f"/doctor/patients/{patient.id}/entries/note", {"text": "x" * (limit + 10)},
                           page=f"/doctor/patients/{patient.id}")
    assert response.status_code == 413 and "Back to the form" not in response.get_data(as_text=True)


def test_the_bytes_at_rest_are_not_the_plaintext(app, clinic):
    doctor, patient = clinic["doctor"], clinic["patient"]
    photo = image("PNG", size=(40, 40))
    upload(doctor, doctor_upload_url(patient), photo, "x.png", "image/png", title="Canary zq-title-81")
    with app.app_context(), db.engine.connect() as conn:
        (blob,) = conn.execute(text("SELECT data FROM stored_files")).one()
        (content,) = conn.execute(text("SELECT content FROM clinical_entries WHERE kind = 'document'")).one()
    assert photo not in bytes(blob) and b"PNG" not in bytes(blob) and b"IHDR" not in bytes(blob)
    assert b"zq-title-81" not in bytes(content) and b"file_key" not in bytes(content)


def _reads(app, patient_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.action, AuditEvent.reason, AuditEvent.target, AuditEvent.actor_role)
                                  .where(AuditEvent.patient_id == patient_id, AuditEvent.action.like("document.%"))
                                  .order_by(AuditEvent.seq)).all()
        db.session.rollback()
        return [tuple(r) for r in rows]


def test_every_look_is_audited_with_its_purpose(app, clinic):
    doctor, patient, as_patient = clinic["doctor"], clinic["patient"], clinic["as_patient"]
    upload(doctor, doctor_upload_url(patient), image("PNG"), "x.png", "image/png")
    (entry,) = entries(app, patient.id)
    target = f"clinical_entry:{entry.id}"
    page = doctor.get(f"/doctor/patients/{patient.id}/documents/{entry.id}/view").get_data(as_text=True)
    assert f'src="/doctor/patients/{patient.id}/documents/{entry.id}"' in page and TITLE in page  # shown inline
    assert doctor.get(f"/doctor/patients/{patient.id}/documents/{entry.id}").status_code == 200
    assert as_patient.get(f"/patient/record/documents/{entry.id}").status_code == 200
    assert _reads(app, patient.id) == [("document.create", "care", target, "doctor"),
                                       ("document.read", "care", target, "doctor"),
                                       ("document.open", "care", target, "doctor"),
                                       ("document.open", "self", target, "patient")]


def test_another_patients_document_is_a_404_for_the_doctor_and_the_patient(app, clinic):
    doctor, patient, other = clinic["doctor"], clinic["patient"], clinic["other"]
    upload(clinic["as_other"], "/patient/record/documents/new", PDF, "mine.pdf", "application/pdf")
    (theirs,) = entries(app, other.id)
    for url in (f"/doctor/patients/{patient.id}/documents/{theirs.id}",
                f"/doctor/patients/{patient.id}/documents/{theirs.id}/view"):
        assert doctor.get(url).status_code == 404, url
    for url in (f"/patient/record/documents/{theirs.id}", f"/patient/record/documents/{theirs.id}/view"):
        response = clinic["as_patient"].get(url)
        assert response.status_code == 404 and PDF not in response.data, url
    assert clinic["as_other"].get(f"/patient/record/documents/{theirs.id}").data == PDF  # the control
    # a chart entry that is not a document is no document either
    with app.app_context():
        from app.records.models import EntryKind
        from app.records.services import entry_add
        from tests.conftest import SET_UP

        note = entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE, content={"text": "Seen."})
        db.session.commit()
        note_id = note.id
    assert doctor.get(f"/doctor/patients/{patient.id}/documents/{note_id}").status_code == 404


def test_the_patient_adds_to_their_own_record_and_to_no_one_elses(app, clinic):
    as_patient, patient, other = clinic["as_patient"], clinic["patient"], clinic["other"]
    page = as_patient.get("/patient/record/documents/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'accept="application/pdf,image/jpeg' in page
    assert upload(as_patient, "/patient/record/documents/new", image("WEBP"), "x.webp", "image/webp",
                  title="Letter from the district hospital").status_code == 303
    (entry,) = entries(app, patient.id)
    assert entry.content["content_type"] == "image/webp" and entry.recorded_by_id == clinic["patient_user"].id
    record = as_patient.get("/patient/record/").get_data(as_text=True)
    assert "Letter from the district hospital" in record and "WebP" in record and 'id="documents"' in record
    chart = clinic["doctor"].get(f"/doctor/patients/{patient.id}").get_data(as_text=True)
    assert "Letter from the district hospital" in chart and "Amani Otieno" in chart  # who added it

    with app.app_context():  # the service, asked directly for another patient's chart
        actor = Actor.for_user(clinic["patient_user"])
        with pytest.raises(ChartAccessDenied):
            documents.document_add(actor=actor, patient_id=other.id, title="Not mine", note=None, data=PDF)
        db.session.rollback()
    assert entries(app, other.id) == [] and stored_count(app) == 1
    # ... and may change nothing: not even the title of the document they added
    with app.app_context():
        from app.records.services import entry_amend

        with pytest.raises(ChartAccessDenied) as refused:
            entry_amend(actor=Actor.for_user(clinic["patient_user"]), patient_id=patient.id, entry_id=entry.id,
                        content={"title": "Renamed"}, reason="Typo.")
        assert refused.value.decision.reason == READ_ONLY
        db.session.rollback()


def test_a_doctor_without_care_cannot_upload(app, clinic, signed_in):
    stranger, _ = signed_in(Role.DOCTOR)
    patient = clinic["patient"]
    assert stranger.get(doctor_upload_url(patient)).status_code == 303  # to the chart: the emergency access form
    response = upload(stranger, doctor_upload_url(patient), PDF, "x.pdf", "application/pdf")
    assert response.status_code == 403 and entries(app, patient.id) == [] and stored_count(app) == 0


def test_amending_the_title_keeps_the_file_and_its_history(app, clinic):
    doctor, patient = clinic["doctor"], clinic["patient"]
    upload(doctor, doctor_upload_url(patient), PDF, "x.pdf", "application/pdf")
    (entry,) = entries(app, patient.id)
    amend = f"/doctor/patients/{patient.id}/entries/{entry.id}/amend"
    form = doctor.get(amend).get_data(as_text=True)
    assert f'value="{TITLE}"' in form and 'name="file"' not in form
    response = doctor.post(amend, {"title": "Blood test results, April", "reason": "Wrong month.",
                                   "file_key": "someone-elses-file", "content_type": "text/html"}, page=amend)
    assert response.status_code == 303
    (amended,) = entries(app, patient.id)
    assert amended.content["title"] == "Blood test results, April"
    assert {k: amended.content[k] for k in ("file_key", "content_type", "size")} == \
        {k: entry.content[k] for k in ("file_key", "content_type", "size")}
    assert doctor.get(f"/doctor/patients/{patient.id}/documents/{entry.id}").data == PDF
    history = doctor.get(f"/doctor/patients/{patient.id}/entries/{entry.id}/history").get_data(as_text=True)
    assert TITLE in history and "Blood test results, April" in history and "Wrong month." in history


def test_a_document_entered_in_error_stays_listed_struck_through(app, clinic):
    doctor, patient = clinic["doctor"], clinic["patient"]
    upload(doctor, doctor_upload_url(patient), PDF, "x.pdf", "application/pdf")
    (entry,) = entries(app, patient.id)
    url = f"/doctor/patients/{patient.id}/entries/{entry.id}/entered-in-error"
    assert doctor.post(url, {"reason": "Wrong patient's letter."}, page=url).status_code == 303
    chart = doctor.get(f"/doctor/patients/{patient.id}").get_data(as_text=True)
    card = chart[chart.index('id="documents"'):]
    assert re.search(r"<del><a [^>]*>" + re.escape(TITLE), card) and "Wrong patient&#39;s letter." in card


def test_many_documents_show_the_latest_and_the_rest_on_demand_with_their_links(app, clinic):
    for number in range(7):
        assert upload(clinic["doctor"], doctor_upload_url(clinic["patient"]), PDF, "r.pdf", "application/pdf",
                      title=f"Report {number}").status_code == 303
    chart = clinic["doctor"].get(f"/doctor/patients/{clinic['patient'].id}").get_data(as_text=True)
    card = chart[chart.index('id="documents"'):]
    assert "Report 6" in card and "Report 2" in card and "Report 1" not in card
    older = re.search(r'id="older-document"><a class="btn btn-quiet" href="([^"]+)"', card).group(1)
    rest = clinic["doctor"].get(older.replace("&amp;", "&"), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Report 1" in rest and "Report 0" in rest
    assert re.search(rf'href="/doctor/patients/{clinic["patient"].id}/documents/\d+/view">Report 0', rest)
    own = clinic["as_patient"].get("/patient/record/").get_data(as_text=True)
    older = re.search(r'id="older-document"><a class="btn btn-quiet" href="([^"]+)"', own).group(1)
    rest = clinic["as_patient"].get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert re.search(r'href="/patient/record/documents/\d+/view">Report 0', rest)


def test_the_doctors_pages_of_one_document_link_to_the_doctors_view(app, clinic):
    """Without JavaScript "More" opens the entry's actions on a page of its own; from there, and from
    the amend and entered-in-error pages, the document's link must be the doctor's (not the patient's: 403)."""
    doctor, patient = clinic["doctor"], clinic["patient"]
    upload(doctor, doctor_upload_url(patient), PDF, "x.pdf", "application/pdf")
    (entry,) = entries(app, patient.id)
    for action in ("actions", "amend", "entered-in-error"):
        page = doctor.get(f"/doctor/patients/{patient.id}/entries/{entry.id}/{action}").get_data(as_text=True)
        links = re.findall(r'class="document-link" href="([^"]+)"', page)
        assert links == [f"/doctor/patients/{patient.id}/documents/{entry.id}/view"], (action, links)
        assert doctor.get(links[0]).status_code == 200
