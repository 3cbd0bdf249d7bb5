"""Open-loop load test of the pharmacy: the pharmacist's queue partial and the hand-over.

    make bench-pharmacy      (or: .venv/bin/python tests/perf/pharmacy_load.py --seconds 20)

Seeds the demo, then puts enough prescriptions in the demo pharmacy's queue (ready to hand over,
with stock behind them), starts gunicorn as the Procfile does on PostgreSQL, and measures:
- the queue partial (what live.js fetches on every queue event): 50 requests/s; budget p95 < 50 ms
  and under 5 KB (gzipped, as sent);
- the hand-over (stock taken earliest expiry first, the dispense recorded, audited, in one
  transaction): 10 requests/s, each a different prescription; budget p95 < 100 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.perf.load import bench_database, bench_get, bench_post, seeded_demo, served, verdict  # noqa: E402


def prepare(db_url: str, ready: int) -> list[int]:
    """The demo plus `ready` prescriptions ready to hand over at the demo pharmacy; their ids."""
    import datetime as dt
    import secrets

    with seeded_demo(db_url) as demo:
        from sqlalchemy import select

        from app.accounts.models import SiteKind
        from app.extensions import db
        from app.prescriptions.models import Medicine, Prescription, PrescriptionStatus, StockBatch
        from app.prescriptions.prescribing import CODE_ALPHABET

        site, doctor, patients = demo.site(SiteKind.PHARMACY.value), demo.user("doctor@demo.test"), demo.patient_ids()
        medicine = db.session.execute(select(Medicine).where(Medicine.name == "Paracetamol",
                                                             Medicine.form == "tablet")).scalar_one()
        for n in range(4):  # several batches: the hand-over picks the earliest expiry
            db.session.add(StockBatch(site_id=site.id, medicine_id=medicine.id, batch_number=f"BENCH-{n}",
                                      expires_on=dt.date.today() + dt.timedelta(days=100 + 50 * n), quantity=5000))
        ids = []
        for n in range(ready):
            prescription = Prescription(
                patient_id=patients[n % len(patients)], prescriber_id=doctor.id, pharmacy_id=site.id,
                status=PrescriptionStatus.READY.value, overrides=[],
                items=[{"medicine_id": medicine.id, "medicine": medicine.label, "dose": "1000", "dose_unit": "mg",
                        "route": "oral", "frequency": "tds", "days": 5, "quantity": 15, "unit": "tablet",
                        "instructions": None}],
                collection_code="".join(secrets.choice(CODE_ALPHABET) for _ in range(8)),
                verification_token=secrets.token_urlsafe(32))
            db.session.add(prescription)
            db.session.flush()
            ids.append(prescription.id)
        db.session.commit()
        return ids


def bench_dispense(base: str, rate: float, seconds: float, ids: list[int]):
    """Each request a different prescription; a 303 to the queue is handed over (a 303 back to the
    prescription would be refused)."""
    return bench_post(base, rate, seconds, name="hand-over", email="pharmacist@demo.test",
                      path_of=lambda i: f"/pharmacy/prescriptions/{ids[i]}/dispense",
                      done=lambda response: response.status == 303
                      and response.headers.get("Location", "").rstrip("/").endswith("/pharmacy"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    dispenses = int(10 * args.seconds)
    with bench_database("myafya_pharmacy_bench") as db_url:
        ids = prepare(db_url, ready=dispenses)
        with served(db_url) as (base, _server):
            queue = asyncio.run(bench_get(base, 50, args.seconds, name="pharmacy queue partial", email="pharmacist@demo.test", path="/pharmacy/"))
            handover = asyncio.run(bench_dispense(base, 10, args.seconds, ids))
    print(queue.line())
    print(f"{'':<22} partial as sent: max {max(queue.sizes or [0])} B (the queue held {dispenses} ready prescriptions)")
    print(handover.line())
    return verdict({"queue p95 >= 50 ms": queue.pct(.95) >= 50,
                    "queue partial >= 5 KB": max(queue.sizes or [0]) >= 5 * 1024,
                    "hand-over p95 >= 100 ms": handover.pct(.95) >= 100}, queue, handover)


if __name__ == "__main__":
    sys.exit(main())
