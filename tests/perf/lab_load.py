"""Open-loop load test of the lab: the technician's queue partial and a sample received at the bench.

    make bench-lab      (or: .venv/bin/python tests/perf/lab_load.py --seconds 20)

Seeds the demo, then puts enough orders in the demo lab's queue (samples taken, waiting at the
bench), starts gunicorn as the Procfile does on PostgreSQL, and measures:
- the queue partial (what live.js fetches on every queue event): 50 requests/s; budget p95 < 50 ms
  and under 5 KB (gzipped, as sent) with a full queue (it lists the first 50);
- "received at the bench" (the conditional UPDATE, the sample stamped, audited through the records
  gate, in one transaction): 10 requests/s, each a different order; budget p95 < 100 ms.
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


def prepare(db_url: str, waiting: int) -> list[int]:
    """The demo plus `waiting` orders at the demo lab with their samples taken; their ids."""
    import secrets

    with seeded_demo(db_url) as demo:
        from sqlalchemy import select

        from app.accounts.models import SiteKind
        from app.core.clock import clock
        from app.extensions import db
        from app.labs.bench import CODE_ALPHABET
        from app.labs.models import LabOrder, LabSample, LabTest

        site, doctor, patients = demo.site(SiteKind.LAB.value), demo.user("doctor@demo.test"), demo.patient_ids()
        test = db.session.execute(select(LabTest).where(LabTest.code == "FBC")).scalar_one()
        ids, now = [], clock.now()
        for n in range(waiting):
            order = LabOrder(patient_id=patients[n % len(patients)], doctor_id=doctor.id, site_id=site.id,
                             urgency="urgent" if n % 7 == 0 else "routine", status="collected",
                             tests=[{"test_id": test.id, "code": test.code, "name": test.name,
                                     "sample_type": test.sample_type, "loinc": test.loinc,
                                     "price_cents": test.price_cents}],
                             note="Bench order.", target_minutes=test.turnaround_minutes, ordered_at=now,
                             status_changed_at=now, collected_at=now)
            db.session.add(order)
            db.session.flush()
            db.session.add(LabSample(order_id=order.id, collected_at=now,
                                     code="B" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(9))))
            ids.append(order.id)
        db.session.commit()
        return ids


def bench_receive(base: str, rate: float, seconds: float, ids: list[int]):
    """Each request a different order, from the newest; a 303 is the sample received."""
    return bench_post(base, rate, seconds, name="received at the bench", email="lab@demo.test",
                      path_of=lambda i: f"/lab/orders/{ids[-1 - i]}/receive", done=lambda response: response.status == 303)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    receives = int(10 * args.seconds)
    with bench_database("myafya_lab_bench") as db_url:
        ids = prepare(db_url, waiting=receives + 100)
        with served(db_url) as (base, _server):
            queue = asyncio.run(bench_get(base, 50, args.seconds, name="lab queue partial", email="lab@demo.test", path="/lab/"))
            received = asyncio.run(bench_receive(base, 10, args.seconds, ids))
    print(queue.line())
    print(f"{'':<22} partial as sent: max {max(queue.sizes or [0])} B (the queue held {len(ids)} orders)")
    print(received.line())
    return verdict({"queue p95 >= 50 ms": queue.pct(.95) >= 50,
                    "queue partial >= 5 KB": max(queue.sizes or [0]) >= 5 * 1024,
                    "receive p95 >= 100 ms": received.pct(.95) >= 100}, queue, received)


if __name__ == "__main__":
    sys.exit(main())
