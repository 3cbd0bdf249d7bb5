"""Open-loop load test of the doctor's chart for a patient with five years of history.

    make bench-chart      (or: .venv/bin/python tests/perf/chart_load.py --rate 50 --seconds 20)

Seeds the demo, then gives one of doctor@demo.test's patients five years of monthly visits (vitals
and a note each, plus allergies, problems and medicines: several hundred encrypted entries), starts
gunicorn as the Procfile does and asks for that chart at a fixed arrival rate. Every request is a
real, audited chart read. Budget: p95 under 100 ms at 50 requests/s, the page under 30 KB gzipped.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.perf.load import bench_database, bench_get, seeded_demo, served, verdict  # noqa: E402

YEARS = 5
WORDS = ("seen", "for", "review", "sugars", "steady", "feet", "checked", "continue", "as", "before", "cough",
         "settled", "plan", "metformin", "blood", "pressure", "repeat", "labs", "in", "weeks", "advised", "diet",
         "walking", "no", "new", "complaints", "eyes", "referred", "HbA1c", "improved", "weight", "stable")


def note_text(rng) -> str:
    """A note of a real note's length, each different: the same sentence repeated hundreds of times
    compresses far better than real notes do, and would flatter the gzipped page weight."""
    return " ".join(rng.choices(WORDS, k=45)).capitalize() + "."


def prepare(db_url: str) -> int:
    """The demo plus a long chart; returns that patient's id."""
    from app.core.actor import Actor

    with seeded_demo(db_url) as demo:
        from app.core.clock import clock
        from app.extensions import db
        from app.records.models import EntryKind
        from app.records.services import entry_add, patient_create
        from app.scheduling.models import Appointment, AppointmentStatus

        doctor = demo.user("doctor@demo.test")
        patient = patient_create(given_name="Long", family_name="History", phone="+254700999999")
        now = clock.now().replace(microsecond=0)
        last = now - dt.timedelta(days=20)
        db.session.add(Appointment(doctor_id=doctor.id, patient_id=patient.id, starts_at=last,
                                   ends_at=last + dt.timedelta(minutes=20), status=AppointmentStatus.COMPLETED.value,
                                   reminder_stage=2, created_at=last - dt.timedelta(days=3)))
        system = Actor.system("bench")
        rng = random.Random(5)
        for kind, content in ((EntryKind.ALLERGY, {"substance": "Penicillin", "severity": "severe"}),
                              (EntryKind.PROBLEM, {"condition": "Type 2 diabetes", "onset": "2019"}),
                              (EntryKind.MEDICATION, {"drug": "Metformin", "dose": "500 mg", "frequency": "twice daily"})):
            entry_add(actor=system, patient_id=patient.id, kind=kind, content=content, recorded_by_id=doctor.id)
        for month in range(YEARS * 12):
            at = now - dt.timedelta(days=30 * month)
            for _ in range(2):  # a visit and a review each month
                entry_add(actor=system, patient_id=patient.id, kind=EntryKind.VITALS, recorded_at=at,
                          content={"systolic": 120 + month % 15, "diastolic": 80, "pulse": 60 + month % 20,
                                   "temperature_c": 36.8, "weight_kg": 70.0 + month % 5, "spo2": 97},
                          recorded_by_id=doctor.id)
                entry_add(actor=system, patient_id=patient.id, kind=EntryKind.NOTE, recorded_at=at,
                          content={"text": note_text(rng)}, recorded_by_id=doctor.id)
        db.session.commit()
        return patient.id


def server_cpu_seconds(server) -> float:
    """CPU time (user + system) used so far by the gunicorn master and its workers, from /proc: the
    cost per request does not depend on what else the machine is doing, the latencies do."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [server.pid] + [int(p) for p in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with bench_database("myafya_chart_bench") as db_url:
        patient_id = prepare(db_url)
        with served(db_url) as (base, server):
            load_before = os.getloadavg()[0]
            cpu_before = []
            chart = asyncio.run(bench_get(base, args.rate, args.seconds, name="doctor's chart", email="doctor@demo.test",
                                          path=f"/doctor/patients/{patient_id}", clients=10, htmx=False,
                                          on_start=lambda: cpu_before.append(server_cpu_seconds(server))))
            cpu_per_request = (server_cpu_seconds(server) - cpu_before[0]) / max(len(chart.latencies), 1) * 1000
    print(chart.line())
    print(f"{'':<22} page gzipped: max {max(chart.sizes or [0])} B; server CPU {cpu_per_request:.1f} ms per request")
    if load_before > 1.5:
        print(f"{'':<22} (the machine was busy: load average {load_before:.1f} when the run began; "
              f"latencies are only honest on an idle machine)")
    return verdict({"chart p95 >= 100 ms": chart.pct(.95) >= 100,
                    "chart >= 30 KB gzipped": max(chart.sizes or [0]) >= 30 * 1024}, chart)


if __name__ == "__main__":
    sys.exit(main())
