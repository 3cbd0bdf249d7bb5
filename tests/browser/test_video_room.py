"""The video room in two real Chromium windows with fake cameras and microphones: the patient checks
their devices and waits, the doctor's day shows it live, the doctor lets them in, each sees the
other's video playing (frames decoded), and they chat both ways. Host candidates on loopback (no
TURN here: make run's case)."""
from __future__ import annotations

import datetime as dt
import secrets

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot, sign_in

pytestmark = pytest.mark.browser

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def media_chromium(chromium):
    """Chromium with fake camera and microphone, from the session's Playwright (one per process)."""
    browser = chromium.browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + MEDIA_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def window(media_chromium):
    contexts = []

    def make(viewport=None):
        context = media_chromium.new_context(viewport=viewport or {"width": 1280, "height": 800}, locale="en-GB")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.console_log = []
        page.on("console", lambda m: page.console_log.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: page.console_log.append(f"pageerror: {e}"))
        return page

    yield make
    for context in contexts:
        context.close()


def _video_visit(app, doctor_id: int, patient_id: int) -> tuple[int, str]:
    from app.extensions import db
    from app.scheduling.models import Appointment

    start = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=5)
    token = secrets.token_urlsafe(24)
    with app.app_context():
        appointment = Appointment(doctor_id=doctor_id, patient_id=patient_id, starts_at=start, mode="video",
                                  ends_at=start + dt.timedelta(minutes=20), status="booked", video_token=token)
        db.session.add(appointment)
        db.session.commit()
        return appointment.id, token


PLAYING = """() => { const v = document.getElementById('remote-video');
  return v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 2 && !v.paused; }"""


def test_patient_waits_doctor_admits_both_see_video_and_chat(app, live_server, window, make_user, make_patient):
    doctor, patient_user = make_user(Role.DOCTOR, full_name="Dr. Amina Odhiambo"), make_user(Role.PATIENT)
    patient_record = make_patient(given_name="Wanjiku", family_name="Mwangi", user_id=patient_user.id)
    appointment_id, token = _video_visit(app, doctor.id, patient_record.id)

    doctor_page = window()
    sign_in(doctor_page, live_server, doctor.email)
    doctor_page.goto(live_server("/doctor/appointments/day"))
    expect(doctor_page.locator("body")).to_have_attribute("data-live-state", "open")

    patient = window(PHONE)
    sign_in(patient, live_server, patient_user.email)
    patient.goto(live_server(f"/visit/{token}"))
    # The device check: a camera and a microphone to choose, and the picture of oneself.
    expect(patient.locator("#camera option")).not_to_have_count(0)
    expect(patient.locator("#microphone option")).not_to_have_count(0)
    patient.wait_for_function("() => document.getElementById('self-view').videoWidth > 0")
    patient.wait_for_function("() => document.getElementById('mic-level').value > 0")  # the fake microphone beeps
    screenshot(patient, "video-room-device-check-360")
    patient.get_by_role("button", name="Join the waiting room").click()
    expect(patient.locator("#room-waiting")).to_be_visible()
    expect(patient.locator("#room-waiting")).to_have_text("The doctor will let you in. Please wait here.")
    screenshot(patient, "video-room-waiting-360")

    # The doctor's day says so, live, without a reload.
    expect(doctor_page.locator(f"#waiting-{appointment_id}")).to_have_text("waiting online")
    doctor_page.goto(live_server(f"/visit/{token}"))
    expect(doctor_page.locator("#patient-status")).to_have_text("Wanjiku Mwangi is waiting online.")
    doctor_page.get_by_role("button", name="Open the room").click()
    doctor_page.get_by_role("button", name="Let the patient in").click()

    # Both see the other's video playing.
    patient.wait_for_function(PLAYING, timeout=20_000)
    doctor_page.wait_for_function(PLAYING, timeout=20_000)
    expect(patient.locator("#room-waiting")).to_be_hidden()
    expect(patient.locator("#call-status")).to_have_text("You are connected.")

    # The chat, both ways.
    patient.fill("#body", "Habari daktari, nina homa.")
    patient.get_by_role("button", name="Send").click()
    expect(doctor_page.locator("#chat-messages li")).to_contain_text(["Habari daktari, nina homa."])
    doctor_page.fill("#body", "Pole sana. Since when?")
    doctor_page.get_by_role("button", name="Send").click()
    expect(patient.locator("#chat-messages li")).to_contain_text(["Habari daktari, nina homa.", "Pole sana. Since when?"])
    expect(patient.locator("#chat-messages li[data-pending]")).to_have_count(0)
    screenshot(patient, "video-room-call-360")
    for page in (patient, doctor_page):
        errors = [m for m in page.console_log if m.startswith(("error:", "pageerror:")) or "Content Security" in m]
        assert errors == []


# -- through coturn ------------------------------------------------------------------------------------

TURN_SECRET = "test-secret-shared-with-coturn"


@pytest.fixture
def coturn(tmp_path):
    """Debian's coturn on its own port, as production runs it: TURN REST credentials
    (use-auth-secret + static-auth-secret), loopback peers allowed (both browsers are on this machine)."""
    import shutil
    import socket
    import subprocess

    from tests.processes import stop
    from tests.realtime.support import free_port

    assert shutil.which("turnserver"), "coturn is missing: `make test` installs it (apt-get install coturn)"
    port = free_port()
    relay_base = 40000 + (port % 200) * 100
    process = subprocess.Popen(
        ["turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
         f"--min-port={relay_base}", f"--max-port={relay_base + 99}", "--use-auth-secret",
         f"--static-auth-secret={TURN_SECRET}", "--realm=myafya.test", "--no-tls", "--no-dtls", "--no-cli",
         "--allow-loopback-peers", "--fingerprint", "--simple-log", f"--log-file={tmp_path / 'turn.log'}",
         f"--pidfile={tmp_path / 'turn.pid'}", f"--userdb={tmp_path / 'turn.db'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # listening (TCP too) once it is up
            for _ in range(100):
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                import time
                time.sleep(0.05)
        yield f"turn:127.0.0.1:{port}?transport=udp"
    finally:
        stop(process)


RELAYED = """async () => {
  const stats = await window.__roomPeer().getStats(); let pair = null; const byId = {};
  stats.forEach(s => { byId[s.id] = s; if (s.type === 'transport' && s.selectedCandidatePairId) pair = s.selectedCandidatePairId; });
  if (!pair) stats.forEach(s => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s.id; });
  const chosen = pair && byId[pair];
  return chosen ? [byId[chosen.localCandidateId].candidateType, byId[chosen.remoteCandidateId].candidateType] : null;
}"""


def test_the_call_goes_through_coturn_with_the_rooms_expiring_credentials(app, live_server_factory, coturn, window,
                                                                          make_user, make_patient):
    server = live_server_factory(TURN_URLS=(coturn,), TURN_SECRET=TURN_SECRET, ICE_TRANSPORT_POLICY="relay")
    doctor, patient_user = make_user(Role.DOCTOR), make_user(Role.PATIENT)
    patient_record = make_patient(user_id=patient_user.id)
    _, token = _video_visit(app, doctor.id, patient_record.id)
    patient, doctor_page = window(PHONE), window()
    sign_in(patient, server, patient_user.email)
    patient.goto(server(f"/visit/{token}"))
    patient.get_by_role("button", name="Join the waiting room").click()
    sign_in(doctor_page, server, doctor.email)
    doctor_page.goto(server(f"/visit/{token}"))
    expect(doctor_page.locator("#patient-status")).to_contain_text("is waiting online")
    doctor_page.get_by_role("button", name="Open the room").click()
    doctor_page.get_by_role("button", name="Let the patient in").click()
    patient.wait_for_function(PLAYING, timeout=20_000)
    doctor_page.wait_for_function(PLAYING, timeout=20_000)
    # Only relay candidates were allowed, so the media crossed coturn, which accepted the room's credentials.
    assert patient.evaluate(RELAYED) == ["relay", "relay"]
    assert doctor_page.evaluate(RELAYED) == ["relay", "relay"]
