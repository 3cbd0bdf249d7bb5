"""Page-weight budget: every full page under 30 KB gzipped with its CSS and JS; an htmx partial under 5 KB.

    make bench-weight      # or: .venv/bin/python tests/perf/page_weight.py

Starts the app on a throwaway SQLite database with the demo data, fetches the login page and each
role's home signed in as the demo accounts (through Flask's test client, no network), plus every
stylesheet and script each page references, as a browser that accepts gzip gets them (the bytes the
app really sends: compressed, or not when it does not pay); Brotli totals are shown too. Sums them,
prints a table and exits 1 if any page is over budget.

`measure_page()` and `measure_fragment()` are also used by tests/perf/test_page_weight_budget.py.
"""
from __future__ import annotations

import datetime as dt
import gzip
import re
import sys
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import brotli

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE_BUDGET = 30 * 1024      # a full page with its CSS and JS, gzipped
ROOM_BUDGET = 50 * 1024      # the video room, with its own JS (issue 9's budget)
FRAGMENT_BUDGET = 5 * 1024   # an htmx partial, gzipped

DEMO_PASSWORD = "demo-password"
DEMO_HOMES = [  # (label, email or None for anonymous, path)
    ("login", None, "/login"),
    ("patient home", "patient@demo.test", "/patient/"),
    ("doctor home", "doctor@demo.test", "/doctor/"),
    ("lab home", "lab@demo.test", "/lab/"),
    ("pharmacy home", "pharmacist@demo.test", "/pharmacy/"),
    ("reception home", "reception@demo.test", "/reception/"),
    ("admin home", "admin@demo.test", "/admin/"),
]


class _AssetFinder(HTMLParser):
    """Collects <link rel=stylesheet href> and <script src> URLs, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and "stylesheet" in (a.get("rel") or "").lower().split() and a.get("href"):
            self.assets.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.assets.append(a["src"])


def referenced_assets(html: str) -> list[str]:
    finder = _AssetFinder()
    finder.feed(html)
    return list(dict.fromkeys(finder.assets))


@dataclass
class Resource:
    url: str
    raw: int  # uncompressed
    gz: int   # as sent to a browser that accepts gzip
    br: int   # as sent to one that accepts Brotli


@dataclass
class PageWeight:
    label: str
    path: str
    status: int
    page: Resource
    assets: list[Resource] = field(default_factory=list)

    @property
    def total_gz(self) -> int:
        return self.page.gz + sum(a.gz for a in self.assets)

    @property
    def total_raw(self) -> int:
        return self.page.raw + sum(a.raw for a in self.assets)

    @property
    def total_br(self) -> int:
        return self.page.br + sum(a.br for a in self.assets)


_DECODE = {"gzip": gzip.decompress, "br": brotli.decompress, None: lambda body: body}


def _fetch_as_sent(client, url: str, encoding: str, headers: dict) -> tuple[int, bytes, bytes]:
    """(status, the bytes on the wire, those bytes decoded) for a browser accepting `encoding`."""
    response = client.get(url, headers={**headers, "Accept-Encoding": encoding})
    sent = response.get_data()
    response.close()
    used = response.headers.get("Content-Encoding")
    if used not in (None, encoding):
        raise AssertionError(f"GET {url} accepting {encoding} answered Content-Encoding {used}")
    return response.status_code, sent, _DECODE[used](sent)


def _fetch(client, url: str, headers: dict | None = None) -> tuple[int, bytes, Resource]:
    """(status, the decoded body, its sizes raw / as sent with gzip / as sent with Brotli)."""
    status, gz, body = _fetch_as_sent(client, url, "gzip", headers or {})
    _, br, _ = _fetch_as_sent(client, url, "br", headers or {})
    return status, body, Resource(url, len(body), len(gz), len(br))


def measure_page(client, path: str, label: str | None = None) -> PageWeight:
    """The page at `path` (as `client` sees it) with every stylesheet and script it references."""
    status, body, sizes = _fetch(client, path)
    if status != 200:
        raise AssertionError(f"GET {path} answered {status}, not 200")
    weight = PageWeight(label or path, path, status, sizes)
    for url in referenced_assets(body.decode("utf-8")):
        if urlsplit(url).netloc:
            raise AssertionError(f"{path} references an off-site asset {url} (no CDN)")
        asset_status, _asset, asset_sizes = _fetch(client, url)
        if asset_status != 200:
            raise AssertionError(f"{path} references {url}, which answered {asset_status}")
        weight.assets.append(asset_sizes)
    return weight


def measure_fragment(client, path: str) -> Resource:
    """An htmx partial: the response to a non-boosted htmx request."""
    status, body, sizes = _fetch(client, path, headers={"HX-Request": "true"})
    if status != 200:
        raise AssertionError(f"GET {path} (htmx) answered {status}, not 200")
    if b"<html" in body.lower():
        raise AssertionError(f"GET {path} (htmx) answered a full page, not a fragment")
    return sizes


def sign_in(client, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form, CSRF token included; raises if refused."""
    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if not match:
        raise AssertionError("no CSRF token on /login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": match.group(1)})
    if response.status_code != 303:
        raise AssertionError(f"signing in as {email} answered {response.status_code}")


def _kb(n: int) -> str:
    return f"{n / 1024:.1f}"


def report(weights: list[PageWeight], fragments: list[Resource]) -> list[str]:
    """Print the table; return the list of budget failures."""
    failures = []
    budget_of = {w.label: ROOM_BUDGET if w.label.startswith("video room") else PAGE_BUDGET for w in weights}
    print(f"{'page':<18} {'path':<22} {'html raw':>9} {'html gz':>8} {'assets gz':>10} {'total gz':>9} "
          f"{'total br':>9}  budget")
    for w in weights:
        budget = budget_of[w.label]
        ok = w.total_gz <= budget
        assets_gz = sum(a.gz for a in w.assets)
        print(f"{w.label:<18} {w.path[:22]:<22} {_kb(w.page.raw):>8}K {_kb(w.page.gz):>7}K {_kb(assets_gz):>9}K "
              f"{_kb(w.total_gz):>8}K {_kb(w.total_br):>8}K  {'ok' if ok else 'OVER ' + _kb(budget) + 'K'}")
        if not ok:
            failures.append(f"{w.label} ({w.path}): {_kb(w.total_gz)} KB gzipped > {_kb(budget)} KB")
    assets = {urlsplit(a.url).path: a for w in weights for a in w.assets}
    if assets:
        print("\nassets (each counted in every page above that references it):")
        for path, a in assets.items():
            users = sum(1 for w in weights if any(urlsplit(x.url).path == path for x in w.assets))
            print(f"  {path:<38} {_kb(a.raw):>7}K raw {_kb(a.gz):>7}K gz {_kb(a.br):>7}K br  "
                  f"({users} of {len(weights)} pages)")
    if fragments:
        print("\nhtmx fragments (gzipped):")
    for f in fragments:
        ok = f.gz <= FRAGMENT_BUDGET
        print(f"  {f.url:<38} {_kb(f.raw):>7}K raw {_kb(f.gz):>7}K gz {_kb(f.br):>7}K br  "
              f"{'ok' if ok else 'OVER ' + _kb(FRAGMENT_BUDGET) + 'K'}")
        if not ok:
            failures.append(f"fragment {f.url}: {_kb(f.gz)} KB gzipped > {_kb(FRAGMENT_BUDGET)} KB")
    return failures


def demo_app(workdir: Path):
    """The app on a new SQLite database in `workdir`, migrated and seeded with the demo data."""
    from app import create_app
    from app.core.migrate import upgrade_to_head
    from app.demo import seed_demo
    from app.extensions import db

    url = f"sqlite:///{workdir / 'weight.sqlite3'}"
    upgrade_to_head(url)
    app = create_app({
        "APP_ENV": "development", "DATABASE_URL": url, "REDIS_URL": None, "JOBS_IN_PROCESS": True,
        "TESTING": True,  # no background job thread for a measurement
        "SECRET_KEY": "page-weight-secret-key-0123456789abcdef", "SERVER_NAME": None,
    })
    with app.app_context():
        seed_demo()
        db.session.commit()
    return app


def _first_patient_id(app) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.records.models import Patient

    with app.app_context():
        return db.session.execute(select(func.min(Patient.id))).scalar_one()


def _demo_video_visit(app):
    from sqlalchemy import select

    from app.accounts.models import User
    from app.extensions import db
    from app.records.models import Patient
    from app.scheduling.models import Appointment, VisitMode

    doctor = select(User.id).where(User.email == "doctor@demo.test").scalar_subquery()
    patient = select(Patient.id).join(User, User.id == Patient.user_id).where(User.email == "patient@demo.test")
    with app.app_context():
        return db.session.execute(select(Appointment.video_token, Appointment.starts_at).where(
            Appointment.mode == VisitMode.VIDEO.value, Appointment.doctor_id == doctor,
            Appointment.patient_id == patient.scalar_subquery()).order_by(Appointment.starts_at.desc()).limit(1)).one()


def main() -> int:
    from app.core.clock import clock

    with tempfile.TemporaryDirectory(prefix="myafya-weight-") as tmp:
        app = demo_app(Path(tmp))
        weights = []
        for label, email, path in DEMO_HOMES:
            client = app.test_client()
            if email:
                sign_in(client, email)
            weights.append(measure_page(client, path, label))
        doctor = app.test_client()
        sign_in(doctor, "doctor@demo.test")
        chart = f"/doctor/patients/{_first_patient_id(app)}"
        # The demo doctor has a care relationship with this patient (appointments, entries): the page
        # measured is the chart itself, not the emergency access form a doctor without one would get.
        if b'id="emergency-access"' in doctor.get(chart).get_data():
            raise AssertionError(f"{chart}: the demo doctor got the emergency access form, not the chart")
        weights.append(measure_page(doctor, chart, "doctor chart"))
        # The demo's video visit (app/consultations/demo.py), measured while its room is open.
        token, starts_at = _demo_video_visit(app)
        room = f"/visit/{token}"
        patient = app.test_client()
        sign_in(patient, "patient@demo.test")
        clock.freeze(starts_at - dt.timedelta(minutes=5))
        try:
            for client, label in ((doctor, "video room doctor"), (patient, "video room patient")):
                weights.append(measure_page(client, room, label))
                if not any("/js/room.js" in a.url for a in weights[-1].assets):
                    raise AssertionError(f"{room}: the room is not open (no room.js): not the page to measure")
        finally:
            clock.unfreeze()
        fragments = [measure_fragment(doctor, "/doctor/patients/?q=ab"),
                     measure_fragment(doctor, "/doctor/patients/?q=mw")]
        failures = report(weights, fragments)
    if failures:
        print("\nOVER BUDGET:\n  " + "\n  ".join(failures))
        return 1
    print(f"\nall pages within {_kb(PAGE_BUDGET)} KB (the video room {_kb(ROOM_BUDGET)} KB) and fragments within "
          f"{_kb(FRAGMENT_BUDGET)} KB gzipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
