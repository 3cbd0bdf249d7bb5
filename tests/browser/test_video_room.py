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
from tests.consultations.test_room_socket import two_servers  # noqa: F401

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
CALL_STATE = """() => { const pc = window.__roomPeer();
  return {peer: pc && [pc.connectionState, pc.signalingState], status: document.getElementById('call-status').textContent,
          signalling: window.__roomTrail()}; }"""


def both_playing(patient, doctor_page, timeout: int = 20_000) -> None:
    """Each side sees the other's video playing; if not, the failure says how far each side got."""
    from playwright.sync_api import TimeoutError as Timeout

    for page in (patient, doctor_page):
        try:
            page.wait_for_function(PLAYING, timeout=timeout)
        except Timeout:
            pytest.fail("no remote video: " + repr({"patient": patient.evaluate(CALL_STATE),
                                                    "doctor": doctor_page.evaluate(CALL_STATE),
                                                    "consoles": [patient.console_log, doctor_page.console_log]}))


def into_the_call(patient, doctor_page, token: str, *, patient_email: str, doctor_email: str, patient_at,
                  doctor_at=None, before_admitting=lambda: None) -> None:
    """The patient signs in, opens the room and joins the waiting room; the doctor signs in, opens the
    room once the patient waits (`before_admitting()` runs then), lets them in; both see each other.
    `patient_at` / `doctor_at` (the patient's server by default): path -> URL."""
    doctor_at = doctor_at or patient_at
    sign_in(patient, patient_at, patient_email)
    patient.goto(patient_at(f"/visit/{token}"))
    patient.click("#join")
    sign_in(doctor_page, doctor_at, doctor_email)
    doctor_page.goto(doctor_at(f"/visit/{token}"))
    expect(doctor_page.locator("#patient-status")).to_contain_text("is waiting online")
    before_admitting()
    doctor_page.get_by_role("button", name="Open the room").click()
    doctor_page.get_by_role("button", name="Let the patient in").click()
    both_playing(patient, doctor_page)


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
    both_playing(patient, doctor_page)
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


SLOW_CAMERA = """(() => { const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => new Promise(r => setTimeout(r, 3000)).then(() => open(c)); })()"""


def test_a_camera_slow_to_open_still_reaches_the_other_side(app, live_server, window, make_user, make_patient):
    """The doctor lets the patient in before their own camera has opened (a slow laptop, a permission
    prompt): the call waits for it, and the patient sees the doctor, not a black square."""
    doctor, patient_user = make_user(Role.DOCTOR), make_user(Role.PATIENT)
    patient_record = make_patient(user_id=patient_user.id)
    _, token = _video_visit(app, doctor.id, patient_record.id)
    patient, doctor_page = window(PHONE), window()
    doctor_page.add_init_script(SLOW_CAMERA)

    def camera_not_open_yet() -> None:
        assert doctor_page.evaluate("() => document.getElementById('self-view').srcObject") is None

    into_the_call(patient, doctor_page, token, patient_email=patient_user.email, doctor_email=doctor.email,
                  patient_at=live_server, before_admitting=camera_not_open_yet)


def test_patient_and_doctor_on_two_server_processes_see_each_other(app, two_servers, window, make_user,
                                                                     make_patient):
    """Production's shape: the patient's page and socket on one gunicorn process, the doctor's on
    another; the room's signals and state cross between them through Redis."""
    patient_base, doctor_base = two_servers
    doctor, patient_user = make_user(Role.DOCTOR), make_user(Role.PATIENT)
    _, token = _video_visit(app, doctor.id, make_patient(user_id=patient_user.id).id)
    patient, doctor_page = window(PHONE), window()
    into_the_call(patient, doctor_page, token, patient_email=patient_user.email, doctor_email=doctor.email,
                  patient_at=lambda path: patient_base + path, doctor_at=lambda path: doctor_base + path)


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
    into_the_call(patient, doctor_page, token, patient_email=patient_user.email, doctor_email=doctor.email,
                  patient_at=server)
    # Only relay candidates were allowed, so the media crossed coturn, which accepted the room's credentials.
    assert patient.evaluate(RELAYED) == ["relay", "relay"]
    assert doctor_page.evaluate(RELAYED) == ["relay", "relay"]


# -- the quality ladder, the toggles, screen sharing, recovery -----------------------------------------

# Recorded samples (rtt ms, loss %, available outgoing kbps), as RoomQuality.measure makes them from
# getStats: a 3G link at its worst, and a calm one.
BAD = {"rtt": 850, "loss": 11.5, "bitrate": 60, "fps": 4, "dropped": 0.1}
GOOD = {"rtt": 90, "loss": 0.3, "bitrate": 900, "fps": 15, "dropped": 0}
FAIR = {"rtt": 320, "loss": 3, "bitrate": 400, "fps": 12, "dropped": 0}

LADDER = """(samples) => { let s = RoomQuality.start(); return samples.map(x => (s = RoomQuality.step(s, x)).level); }"""
SENDER = """() => { const s = window.__roomPeer().getSenders().find(s => s.track && s.track.kind === 'video');
  const e = s.getParameters().encodings[0];
  return {active: e.active, scale: e.scaleResolutionDownBy, fps: e.maxFramerate, kbps: e.maxBitrate / 1000,
          track: s.track.label}; }"""
UFRAG = """() => { const p = window.__roomPeer(); return p && p.connectionState === 'connected' && p.localDescription
  ? p.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1] : null; }"""
# The screen, as getDisplayMedia would give it: headless Chromium has no screen to pick, so the test puts
# a canvas's stream in its place (a real video track, 640x360, that the page cannot tell apart).
FAKE_SCREEN = """() => { const canvas = document.createElement('canvas'); canvas.width = 640; canvas.height = 360;
  const draw = canvas.getContext('2d'); let n = 0;
  setInterval(() => { draw.fillStyle = n++ % 2 ? '#246' : '#fff'; draw.fillRect(0, 0, 640, 360); }, 100);
  navigator.mediaDevices.getDisplayMedia = () => { const stream = canvas.captureStream(10);
    window.__screen = stream.getVideoTracks()[0]; return Promise.resolve(stream); }; }"""


def test_the_quality_ladder_toggles_screen_sharing_and_recovery_in_a_call(app, live_server, window, make_user,
                                                                          make_patient):
    """The ladder's decisions are fed recorded stats (RoomQuality, through page.evaluate; no shaped link:
    netem needs root and a network namespace this suite does not have), then the live ladder in a real
    call is fed them too (window.__roomQuality.feed) and its steps checked on the real RTCRtpSender and
    on both pages. Screen sharing replaces the track on the same sender with no new offer. An `online`
    event (a network change) restarts ICE; a dropped socket says so and comes back."""
    doctor, patient_user = make_user(Role.DOCTOR), make_user(Role.PATIENT, language="sw")
    patient_record = make_patient(user_id=patient_user.id)
    _, token = _video_visit(app, doctor.id, patient_record.id)
    patient, doctor_page = window(PHONE), window({"width": 768, "height": 1024})
    into_the_call(patient, doctor_page, token, patient_email=patient_user.email, doctor_email=doctor.email,
                  patient_at=live_server, before_admitting=lambda: doctor_page.evaluate(FAKE_SCREEN))

    # The decision alone, on recorded samples: down after two bad in a row (one is not enough), down
    # to audio only, up only after five good in a row (a fair one starts the count again).
    samples = [BAD, GOOD, BAD, BAD, BAD, BAD, BAD, BAD] + [GOOD] * 4 + [FAIR] + [GOOD] * 5 + [GOOD] * 10
    assert patient.evaluate(LADDER, samples) == [0, 0, 0, 1, 1, 2, 2, 3] + [3] * 4 + [3] + [3, 3, 3, 3, 2] + \
        [2, 2, 2, 2, 1, 1, 1, 1, 1, 0]
    # A getStats report as Chromium gives it, measured against the one 4 s before.
    report = [{"type": "transport", "id": "T", "selectedCandidatePairId": "P"},
              {"type": "candidate-pair", "id": "P", "currentRoundTripTime": 0.5, "availableOutgoingBitrate": 180000},
              {"type": "remote-inbound-rtp", "id": "R", "kind": "video", "fractionLost": 0.25},
              {"type": "inbound-rtp", "id": "I", "kind": "video", "timestamp": 14000, "framesDecoded": 100,
               "framesDropped": 10, "packetsLost": 30, "packetsReceived": 970}]
    before = {"at": 10000, "decoded": 60, "droppedFrames": 0, "lost": 0, "received": 500}
    measured = patient.evaluate("([r, b]) => RoomQuality.measure(r, b).sample", [report, before])
    assert measured == {"rtt": 500, "loss": 25, "bitrate": 180, "fps": 10, "dropped": 0.2}

    # The live ladder, fed the bad link: the patient's camera steps down to a paused sender (audio goes
    # on); both pages say so, the patient in Swahili.
    assert {k: v for k, v in patient.evaluate(SENDER).items() if k != "track"} == \
        {"active": True, "scale": 1, "fps": 15, "kbps": 250}
    for _ in range(2):
        patient.evaluate("(s) => window.__roomQuality.feed(s)", BAD)
    patient.wait_for_function("() => window.__roomPeer().getSenders().find(s => s.track && s.track.kind === 'video')"
                              ".getParameters().encodings[0].scaleResolutionDownBy === 1.5")
    expect(patient.locator("#quality-status")).to_have_text("Mtandao ni dhaifu: video ni ndogo na ya polepole zaidi.")
    for _ in range(4):
        patient.evaluate("(s) => window.__roomQuality.feed(s)", BAD)
    assert patient.evaluate("() => window.__roomQuality.state().level") == 3
    patient.wait_for_function("() => window.__roomPeer().getSenders().find(s => s.track && s.track.kind === 'video')"
                              ".getParameters().encodings[0].active === false")
    expect(patient.locator("#quality-status")).to_have_text("Mtandao ni dhaifu: video imesimamishwa, sauti inaendelea.")
    expect(patient.locator("#signal")).to_have_attribute("data-level", "3")
    expect(doctor_page.locator("#quality-status")).to_have_text(
        "Weak connection on the other side: their video is paused, audio continues.")
    expect(doctor_page.locator("#signal")).to_have_attribute("data-level", "3")
    assert patient.evaluate("() => window.__roomPeer().getSenders().find(s => s.track && s.track.kind === 'audio')"
                            ".getParameters().encodings[0].active") is not False
    screenshot(patient, "video-room-audio-only-360")
    screenshot(doctor_page, "video-room-peer-audio-only-768")
    # The link recovers: back up, a step per five good samples, to the starting picture.
    for _ in range(15):
        patient.evaluate("(s) => window.__roomQuality.feed(s)", GOOD)
    patient.wait_for_function("() => window.__roomPeer().getSenders().find(s => s.track && s.track.kind === 'video')"
                              ".getParameters().encodings[0].active === true")
    assert {k: v for k, v in patient.evaluate(SENDER).items() if k != "track"} == \
        {"active": True, "scale": 1, "fps": 15, "kbps": 250}
    expect(patient.locator("#quality-status")).to_have_text("")
    expect(doctor_page.locator("#signal")).to_have_attribute("data-level", "0")
    expect(doctor_page.locator("#quality-status")).to_have_text("")

    # Manual toggles: audio only by choice (told to the doctor), the microphone muted.
    audio_only = patient.locator("#toggle-audio-only")
    audio_only.click()
    expect(audio_only).to_have_attribute("aria-pressed", "true")
    expect(patient.locator("#quality-status")).to_have_text("Sauti pekee: video yako imesimamishwa.")
    expect(doctor_page.locator("#quality-status")).to_contain_text("their video is paused")
    audio_only.click()
    expect(audio_only).to_have_attribute("aria-pressed", "false")
    patient.locator("#toggle-microphone").click()
    assert patient.evaluate("() => document.getElementById('self-view').srcObject.getAudioTracks()[0].enabled") is False
    expect(patient.locator("#toggle-microphone")).to_have_text("Washa maikrofoni")
    expect(patient.locator("#toggle-share")).to_have_count(0)  # screen sharing is the doctor's

    # Screen sharing: the same sender, the same transceiver, no new offer; the patient sees the screen.
    offers = doctor_page.evaluate("() => window.__roomQuality.state().offers")
    mid = doctor_page.evaluate("() => window.__roomPeer().getTransceivers().find(t => t.receiver.track.kind === 'video').mid")
    doctor_page.get_by_role("button", name="Share screen").click()
    doctor_page.wait_for_function("() => window.__screen && window.__roomPeer().getSenders().some(s => s.track === window.__screen)")
    patient.wait_for_function("() => document.getElementById('remote-video').videoWidth === 640", timeout=15_000)
    expect(doctor_page.get_by_role("button", name="Stop sharing")).to_have_attribute("aria-pressed", "true")
    assert doctor_page.evaluate("() => window.__roomPeer().getTransceivers().find(t => t.sender.track === window.__screen).mid") == mid
    # The browser's own "stop sharing": the track ends; the camera comes back on the same sender.
    doctor_page.evaluate("() => { window.__screen.stop(); window.__screen.dispatchEvent(new Event('ended')); }")
    patient.wait_for_function("() => document.getElementById('remote-video').videoWidth === 320", timeout=15_000)
    expect(doctor_page.get_by_role("button", name="Share screen")).to_have_attribute("aria-pressed", "false")
    assert doctor_page.evaluate("() => window.__roomQuality.state().offers") == offers

    # A network change: ICE restarts (new credentials, a new offer) and the call carries on.
    ufrags = patient.evaluate(UFRAG), doctor_page.evaluate(UFRAG)
    doctor_page.evaluate("() => window.dispatchEvent(new Event('online'))")
    doctor_page.wait_for_function(f"() => ({UFRAG})() && ({UFRAG})() !== {ufrags[1]!r}", timeout=15_000)
    patient.wait_for_function(f"() => ({UFRAG})() && ({UFRAG})() !== {ufrags[0]!r}", timeout=15_000)
    assert doctor_page.evaluate("() => window.__roomQuality.state().iceRestarts") == 1
    patient.wait_for_function(PLAYING)

    # The socket drops: the page says so, comes back by itself, says that too; the chat still works.
    patient.evaluate("() => window.__roomSocketDrop()")
    expect(patient.locator("#net-status")).to_have_text("Muunganisho umekatika: tunajaribu tena…")
    expect(patient.locator("#net-status")).to_have_text("Umeunganishwa tena.")
    patient.fill("#body", "Bado nipo.")
    patient.locator("#chat-form button[type=submit]").click()
    expect(doctor_page.locator("#chat-messages li")).to_contain_text(["Bado nipo."])
    screenshot(patient, "video-room-controls-360")
    for page in (patient, doctor_page):
        errors = [m for m in page.console_log if m.startswith(("error:", "pageerror:")) or "Content Security" in m]
        # The socket this page closed itself: the test's werkzeug server writes its HTTP answer after the
        # closing handshake (gunicorn, as the Procfile runs, does not), which Chromium reports.
        errors = [m for m in errors if not (page is patient and m.endswith("failed: Invalid frame header"))]
        assert errors == []
