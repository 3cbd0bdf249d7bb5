"""Demo stock for the demo pharmacy: most medicines comfortably stocked, some low, some out, and
batches near or past expiry, so the pharmacist's first sign-in shows lists that need action."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from app.extensions import db
from app.prescriptions.models import Medicine, MovementKind, PrescriptionStatus, StockBatch, StockMovement
from app.prescriptions.services import formulary_ensure
from app.scheduling.clinic_time import local_today

COMMON = ["Amoxicillin", "Paracetamol", "Artemether + lumefantrine", "Metformin", "Amlodipine", "Ibuprofen",
          "Oral rehydration salts", "Zinc sulfate", "Metronidazole", "Sulfamethoxazole + trimethoprim",
          "Salbutamol", "Hydrochlorothiazide", "Enalapril", "Ferrous salt + folic acid", "Albendazole",
          "Omeprazole", "Prednisolone", "Azithromycin", "Doxycycline", "Ciprofloxacin", "Fluconazole",
          "Tenofovir + lamivudine + dolutegravir", "Warfarin", "Losartan", "Atorvastatin", "Glibenclamide"]
LOW = {"Artemether + lumefantrine": 12, "Salbutamol": 3, "Warfarin": 0}
NEAR_EXPIRY = {"Amoxicillin", "Oral rehydration salts"}
EXPIRED = {"Ibuprofen"}


def seed_stock(*, site_id: int, received_by_id: int | None) -> None:
    formulary_ensure()
    rng = random.Random(11)
    today = local_today()
    medicines = db.session.execute(select(Medicine).where(Medicine.name.in_(COMMON))).scalars().all()
    for medicine in medicines:
        quantity = LOW.get(medicine.name, rng.randint(60, 400))
        expires = today + dt.timedelta(days=rng.randint(200, 700))
        _batch(medicine, site_id, f"B{medicine.id:03d}{rng.randint(1000, 9999)}", expires, quantity, received_by_id)
        if medicine.name in NEAR_EXPIRY:
            _batch(medicine, site_id, f"N{medicine.id:03d}{rng.randint(1000, 9999)}",
                   today + dt.timedelta(days=rng.randint(10, 60)), rng.randint(10, 40), received_by_id)
        if medicine.name in EXPIRED:
            _batch(medicine, site_id, f"X{medicine.id:03d}{rng.randint(1000, 9999)}",
                   today - dt.timedelta(days=rng.randint(3, 20)), rng.randint(5, 15), received_by_id)
    db.session.flush()


def _batch(medicine, site_id, number, expires, quantity, received_by_id) -> None:
    batch = StockBatch(site_id=site_id, medicine_id=medicine.id, batch_number=number, expires_on=expires,
                       quantity=quantity)
    db.session.add(batch)
    db.session.flush()
    if quantity:
        db.session.add(StockMovement(batch_id=batch.id, change=quantity, kind=MovementKind.RECEIVED.value,
                                     by_id=received_by_id))


# (patient index, medicine, dose, frequency, days, quantity, status, hours ago)
PRESCRIPTIONS = [
    (1, "Paracetamol", "1000", "tds", 5, 30, PrescriptionStatus.SENT, 1),
    (2, "Amlodipine", "5", "od", 30, 30, PrescriptionStatus.SENT, 2),
    (3, "Metformin", "500", "bd", 30, 60, PrescriptionStatus.PREPARING, 3),
    (0, "Artemether + lumefantrine", "4", "bd", 3, 24, PrescriptionStatus.READY, 5),
    (4, "Omeprazole", "20", "od", 14, 14, PrescriptionStatus.QUERIED, 6),
    (5, "Albendazole", "400", "stat", 1, 1, PrescriptionStatus.DISPENSED, 30),
]


def seed_prescriptions(*, doctor_id: int, patients: list, site_id: int, pharmacist_id: int) -> None:
    """Prescriptions in every state at the demo pharmacy, so its first sign-in shows a working queue
    (rows written directly: the demo's history is not a sequence of today's actions)."""
    import secrets

    from app.core.clock import clock
    from app.prescriptions.models import Dispense, Prescription
    from app.prescriptions.prescribing import CODE_ALPHABET

    now = clock.now()
    for index, name, dose, frequency, days, quantity, status, hours in PRESCRIPTIONS:
        if index >= len(patients):
            continue
        medicine = db.session.execute(select(Medicine).where(Medicine.name == name).order_by(Medicine.id)).scalars().first()
        when = now - dt.timedelta(hours=hours)
        prescription = Prescription(
            patient_id=patients[index].id, prescriber_id=doctor_id, pharmacy_id=site_id, status=status.value,
            items=[{"medicine_id": medicine.id, "medicine": medicine.label, "dose": dose, "dose_unit": medicine.dose_unit,
                    "route": medicine.route, "frequency": frequency, "days": days, "quantity": quantity,
                    "unit": medicine.unit, "instructions": None}],
            overrides=[], collection_code="".join(secrets.choice(CODE_ALPHABET) for _position in range(6)),
            verification_token=secrets.token_urlsafe(32), signed_at=when, status_changed_at=when,
            status_note="Is the patient pregnant? Please confirm before we dispense." if status == PrescriptionStatus.QUERIED else None)
        db.session.add(prescription)
        db.session.flush()
        if status == PrescriptionStatus.DISPENSED:
            db.session.add(Dispense(prescription_id=prescription.id, number=0, by_id=pharmacist_id, at=when,
                                    batches=[{"medicine_id": medicine.id, "medicine": medicine.label, "batch": "DEMO",
                                              "quantity": quantity, "price_cents": medicine.price_cents}],
                                    charge_cents=medicine.price_cents * quantity))
    db.session.flush()
