"""Demo stock for the demo pharmacy: most medicines comfortably stocked, some low, some out, and
batches near or past expiry, so the pharmacist's first sign-in shows lists that need action."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from app.extensions import db
from app.prescriptions.models import Medicine, MovementKind, StockBatch, StockMovement
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
