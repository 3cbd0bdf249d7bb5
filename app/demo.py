"""Demo data for development: the demo accounts, doctors, and a dozen patients with real-looking charts.

Each domain adds its own demo data here as it arrives, so a new user can click through everything.
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select

from app.accounts.models import Role, Site, SiteKind, User
from app.accounts.passwords import password_hash
from app.accounts.services import staff_account_create
from app.core.actor import Actor
from app.core.db import utcnow
from app.extensions import db
from app.records.models import EntryKind
from app.records.services import entry_add, patient_create

DEMO_PASSWORD = "demo-password"
SEEDER = Actor.system("seed-demo")  # the charts are written as the command, recorded by the demo doctors

DEMO_ACCOUNTS = [
    ("doctor@demo.test", "Dr. Amina Odhiambo", Role.DOCTOR, "General practice", 150_000),
    ("lab@demo.test", "Peter Mwangi", Role.LAB, None, None),
    ("pharmacist@demo.test", "Grace Wanjiru", Role.PHARMACIST, None, None),
    ("reception@demo.test", "Faith Achieng", Role.RECEPTION, None, None),
    ("admin@demo.test", "Joseph Kamau", Role.ADMIN, None, None),
]
MORE_DOCTORS = [
    ("dr.otieno@demo.test", "Dr. Brian Otieno", "Paediatrics", 200_000),
    ("dr.njeri@demo.test", "Dr. Lucy Njeri", "Obstetrics & gynaecology", 250_000),
    ("dr.hassan@demo.test", "Dr. Ali Hassan", "Internal medicine", 220_000),
    ("dr.kiprop@demo.test", "Dr. Mercy Kiprop", "Dermatology", 200_000),
]

PATIENTS = [
    # given, family, sex, birth year, phone, allergies, problems, medications
    ("Wanjiku", "Mwangi", "female", 1988, "+254712000101", [("Penicillin", "hives", "severe", True), ("Sulfonamides", "itchy rash", "moderate", False)],
     [("Essential hypertension", "2019", "I10")], [("Amlodipine", "5 mg", "once daily")]),
    ("Otieno", "Ouma", "male", 1975, "+254712000102", [], [("Type 2 diabetes mellitus", "2015", "E11.9")],
     [("Metformin", "500 mg", "twice daily")]),
    ("Achieng", "Atieno", "female", 2019, "+254712000103", [("Peanuts", "swelling of lips", "severe", True)],
     [("Asthma, mild intermittent", "2022", "J45.9")], [("Salbutamol inhaler", "100 mcg", "as needed")]),
    ("Kiprono", "Kibet", "male", 1992, "+254712000104", [], [], []),
    ("Fatuma", "Ali", "female", 1965, "+254712000105", [("Sulfonamides", "rash", "moderate", True)],
     [("Osteoarthritis of the knee", "2018", "M17.9"), ("Hypertension", "2012", "I10")],
     [("Losartan", "50 mg", "once daily"), ("Paracetamol", "1 g", "when needed")]),
    ("Brian", "Mutua", "male", 2001, "+254712000106", [], [("Sickle cell trait", "birth", "D57.3")], []),
    ("Mary", "Njoroge", "female", 1995, "+254712000107", [], [("Pregnancy, 24 weeks", "2026", "Z34.9")],
     [("Ferrous sulfate", "200 mg", "once daily"), ("Folic acid", "5 mg", "once daily")]),
    ("Hassan", "Omar", "male", 1958, "+254712000108", [("Aspirin", "wheeze", "moderate", False)],
     [("Chronic kidney disease stage 3", "2020", None)], [("Furosemide", "40 mg", "once daily")]),
    ("Grace", "Chebet", "female", 1983, "+254712000109", [], [("HIV, on treatment", "2010", "B24")],
     [("Tenofovir/lamivudine/dolutegravir", "1 tablet", "once daily")]),
    ("Daniel", "Kamau", "male", 2014, "+254712000110", [("Amoxicillin", "rash", "mild", False)], [], []),
    ("Esther", "Wambui", "female", 1970, "+254712000111", [], [("Hypothyroidism", "2016", "E03.9")],
     [("Levothyroxine", "100 mcg", "once daily")]),
    ("Samuel", "Korir", "male", 1999, "+254712000112", [], [("Malaria, treated", "2026", "B50.9")], []),
]

NOTES = [
    "Reviewed at clinic. Tolerating medication well; advised on salt intake and daily walks.",
    "Presents with 3 days of cough and low-grade fever. Chest clear. Advised fluids and review if worse.",
    "Follow-up visit: symptoms improved. Continue current plan; review in 3 months.",
]


def _account(email, full_name, role, speciality=None, fee_cents=None, site_id=None):
    return staff_account_create(email=email, full_name=full_name, role=role, password=DEMO_PASSWORD,
                                speciality=speciality, fee_cents=fee_cents, site_id=site_id)


def _seed_referred_patient(dermatologist: User, now: dt.datetime) -> None:
    """A patient only the dermatologist has seen: doctor@demo.test has no care relationship with
    them, so their chart shows the emergency access form instead (every other demo chart opens)."""
    patient = patient_create(given_name="Juma", family_name="Baraka", sex="male", phone="+254712000113",
                             date_of_birth=dt.date(1979, 6, 14))
    entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.ALLERGY, recorded_by_id=dermatologist.id,
              content={"substance": "Latex", "reaction": "contact dermatitis", "severity": "moderate"})
    entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.PROBLEM, recorded_by_id=dermatologist.id,
              content={"condition": "Chronic plaque psoriasis", "onset": "2021"})
    entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.NOTE, recorded_by_id=dermatologist.id,
              recorded_at=now - dt.timedelta(days=40),
              content={"text": "Plaques on elbows and knees, improving on topical treatment. Review in 3 months."})


def _demo_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a few lines of text (Helvetica), its cross-reference table computed."""
    text = "BT /F1 12 Tf 50 780 Td 16 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines) + " ET"
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
               b"<</Length %d>>stream\n%s\nendstream" % (len(text), text.encode("latin-1")),
               b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _demo_photo() -> bytes:
    """A small picture of a rash's outline on skin tone, as a patient's phone photo might show it."""
    import io

    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (480, 320), (224, 172, 138))
    draw = ImageDraw.Draw(picture)
    for x, y, r in ((170, 140, 42), (250, 170, 55), (320, 130, 30), (210, 220, 26)):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(196, 92, 84))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _seed_documents(patient, doctor: User, now: dt.datetime) -> None:
    """A lab report the doctor filed and a photo the patient added: visible on the demo patient's record."""
    from app.records.documents import document_add

    document_add(actor=SEEDER, patient_id=patient.id, recorded_by_id=doctor.id, title="Full blood count, results",
                 note="Haemoglobin slightly low; repeat in 3 months.",
                 data=_demo_pdf(["MyAfya Laboratory - Full blood count", f"Patient: {patient.full_name} ({patient.mrn})",
                                 "Haemoglobin: 11.2 g/dL (ref 12.0-15.5)", "White cells: 6.1 x10^9/L",
                                 "Platelets: 240 x10^9/L", f"Reported: {now:%d %b %Y}"]))
    document_add(actor=SEEDER, patient_id=patient.id, recorded_by_id=patient.user_id, title="Photo of the rash",
                 note=None, data=_demo_photo())


def _seed_soap_note(doctor: User, patient) -> None:
    """The demo patient's latest visit with the demo doctor gets its consultation note, in SOAP form."""
    from app.scheduling.models import Appointment, AppointmentStatus

    visit = db.session.execute(
        select(Appointment).where(Appointment.patient_id == patient.id, Appointment.doctor_id == doctor.id,
                                  Appointment.status == AppointmentStatus.COMPLETED.value)
        .order_by(Appointment.starts_at.desc()).limit(1)).scalar_one_or_none()
    entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.NOTE, recorded_by_id=doctor.id,
              recorded_at=visit.starts_at if visit else None,
              content={"appointment_id": visit.id if visit else None,
                       "subjective": "Headaches in the morning for two weeks; no visual change. Takes amlodipine daily.",
                       "objective": "BP 148/94 seated, repeated 146/92. Pulse 78, regular. Fundi normal.",
                       "assessment": "Essential hypertension (I10), not at target on amlodipine 5 mg.",
                       "plan": "Amlodipine up to 10 mg once daily. Home BP diary. Review in 4 weeks; "
                               "sooner if headache worsens."})


def _seed_earlier_visits(patient, doctor: User, now: dt.datetime, rng: random.Random) -> None:
    """Two years of monthly reviews before the recent visits, so the demo chart has more than its
    summary shows: its "Show older" links have something to bring."""
    for month in range(4, 28):
        when = now - dt.timedelta(days=30 * month + rng.randint(0, 9))
        entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.VITALS, recorded_by_id=doctor.id,
                  recorded_at=when, content={"systolic": rng.randint(125, 150), "diastolic": rng.randint(80, 95),
                                             "pulse": rng.randint(64, 90), "weight_kg": round(rng.uniform(64, 70), 1)})
        entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.NOTE, recorded_by_id=doctor.id,
                  recorded_at=when, content={"text": NOTES[0]})


def _seed_duplicate(patients) -> None:
    """Daniel Kamau registered a second time at the desk, names swapped and his phone typed the local
    way: the pair the admin's "Duplicate records" page shows (and may merge)."""
    daniel = next(p for p in patients if (p.given_name, p.family_name) == ("Daniel", "Kamau"))
    patient_create(given_name="Kamau", family_name="Daniel", sex="male", phone="0712 000 110",
                   date_of_birth=daniel.date_of_birth)


def seed_demo(*, only_if_empty: bool = False) -> bool:
    if only_if_empty and db.session.execute(select(func.count()).select_from(User)).scalar_one() > 0:
        return False
    rng = random.Random(7)
    clinic = Site(name="MyAfya Clinic, Ngong Road", kind=SiteKind.CLINIC.value, phone="+254700000001")
    pharmacy = Site(name="MyAfya Pharmacy", kind=SiteKind.PHARMACY.value, phone="+254700000002")
    lab = Site(name="MyAfya Laboratory", kind=SiteKind.LAB.value, phone="+254700000003")
    db.session.add_all([clinic, pharmacy, lab])
    db.session.flush()
    site_for = {Role.PHARMACIST: pharmacy.id, Role.LAB: lab.id}
    staff = {}
    for email, name, role, speciality, fee in DEMO_ACCOUNTS:
        staff[email] = _account(email, name, role, speciality, fee, site_for.get(role, clinic.id))
    for email, name, speciality, fee in MORE_DOCTORS:
        staff[email] = _account(email, name, Role.DOCTOR, speciality, fee, clinic.id)
    doctor = staff["doctor@demo.test"]

    patient_user = User(email="patient@demo.test", full_name="Wanjiku Mwangi", phone="+254712000101",
                        role=Role.PATIENT.value, password_hash=password_hash(DEMO_PASSWORD))
    db.session.add(patient_user)
    db.session.flush()

    now = utcnow()
    patients = []
    for index, (given, family, sex, year, phone, allergies, problems, medications) in enumerate(PATIENTS):
        patient = patient_create(
            given_name=given, family_name=family, sex=sex, phone=phone,
            date_of_birth=dt.date(year, rng.randint(1, 12), rng.randint(1, 28)),
            national_id=f"{24000000 + index * 7919}", user_id=patient_user.id if index == 0 else None,
        )
        patients.append(patient)
        for substance, reaction, severity, verified in allergies:
            entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.ALLERGY, recorded_by_id=doctor.id,
                      content={"substance": substance, "reaction": reaction, "severity": severity,
                               "verified": verified})
        for condition, onset, code in problems:
            entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.PROBLEM, recorded_by_id=doctor.id,
                      content={"condition": condition, "onset": onset, "code": code})
        for drug, dose, frequency in medications:
            entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.MEDICATION, recorded_by_id=doctor.id,
                      content={"drug": drug, "dose": dose, "frequency": frequency})
        for visit in range(3):
            when = now - dt.timedelta(days=30 * (3 - visit) + rng.randint(0, 9))
            entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.VITALS, recorded_by_id=doctor.id,
                      recorded_at=when,
                      content={"systolic": rng.randint(105, 150), "diastolic": rng.randint(65, 95),
                               "pulse": rng.randint(60, 96), "temperature_c": round(rng.uniform(36.2, 37.8), 1),
                               "spo2": rng.randint(94, 99),
                               "weight_kg": round(rng.uniform(14, 30) if year > 2010 else rng.uniform(50, 90), 1)})
            entry_add(actor=SEEDER, patient_id=patient.id, kind=EntryKind.NOTE, recorded_by_id=doctor.id,
                      recorded_at=when,
                      content={"text": NOTES[visit]})
    _seed_earlier_visits(patients[0], doctor, now, rng)
    _seed_duplicate(patients)
    from app.scheduling.demo import seed_scheduling

    doctors = [doctor] + [staff[email] for email, *_ in MORE_DOCTORS]
    seed_scheduling(doctors=doctors, patients=patients)
    from app.consultations.demo import seed_consultations

    db.session.flush()
    seed_consultations(doctor=doctor, patient=patients[0])
    _seed_soap_note(doctor, patients[0])
    _seed_referred_patient(staff["dr.kiprop@demo.test"], now)
    _seed_documents(patients[0], doctor, now)
    from app.prescriptions.demo import seed_prescriptions, seed_stock

    seed_stock(site_id=pharmacy.id, received_by_id=staff["pharmacist@demo.test"].id)
    seed_prescriptions(doctor_id=doctor.id, patients=patients, site_id=pharmacy.id,
                       pharmacist_id=staff["pharmacist@demo.test"].id)
    from app.labs.demo import seed_lab_orders

    seed_lab_orders(doctor_id=doctor.id, patients=patients, site_id=lab.id, technician_id=staff["lab@demo.test"].id)
    db.session.commit()
    return True
