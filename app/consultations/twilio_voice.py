"""Twilio Programmable Voice for a visit continued by phone: the official SDK, its HTTP layer injectable.

- `call_create`: Twilio rings the doctor's phone (`To`), showing the clinic's Twilio number (`From`);
  when the doctor answers, Twilio fetches `url` (our bridge webhook) for what to do next, and posts
  the call's end to `status_callback`.
- `bridge_twiml`: that answer, `<Dial>` the patient, so the clinic's number is what rings them.
- `signature_valid`: every webhook request must carry Twilio's X-Twilio-Signature over the URL it
  called and the posted fields, made with our auth token; anything else is a forgery.
"""
from __future__ import annotations

import dataclasses

# Tests put a recorded Twilio HTTP client here; None: the SDK's own.
twilio_http_client = None


@dataclasses.dataclass(frozen=True)
class VoiceSettings:
    account_sid: str
    auth_token: str
    from_number: str


def voice_settings(config) -> VoiceSettings | None:
    """Twilio's settings when the three are there (TWILIO_ACCOUNT_SID/AUTH_TOKEN/FROM_NUMBER), else None."""
    sid, token, number = (config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN"),
                          config.get("TWILIO_FROM_NUMBER"))
    return VoiceSettings(sid, token, number) if sid and token and number else None


def call_create(settings: VoiceSettings, *, to: str, url: str, status_callback: str) -> str:
    """Place the call; its CallSid. Raises the SDK's TwilioException when Twilio refuses or cannot be reached."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(settings.account_sid, settings.auth_token,
                    http_client=twilio_http_client or TwilioHttpClient(timeout=10))
    call = client.calls.create(to=to, from_=settings.from_number, url=url, method="POST",
                               status_callback=status_callback, status_callback_method="POST",
                               status_callback_event=["completed"])
    return call.sid


def bridge_twiml(*, patient_phone: str | None, from_number: str, goodbye: str, dialed_url: str) -> str:
    """What Twilio does once the doctor answers: ring the patient and join the two; when the patient's
    leg ends Twilio posts how it went (answered? for how long?) to `dialed_url`. With no visit to bridge
    (over, or no number), say so and hang up."""
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    if patient_phone:
        response.dial(patient_phone, caller_id=from_number, action=dialed_url, method="POST")
    else:
        response.say(goodbye)
        response.hangup()
    return str(response)


def said_then_hang_up(text: str | None) -> str:
    """The end of the doctor's call after the patient's leg: a sentence if there is one, then goodbye."""
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    if text:
        response.say(text)
    response.hangup()
    return str(response)


def signature_valid(auth_token: str, *, url: str, params: dict, signature: str | None) -> bool:
    from twilio.request_validator import RequestValidator

    return bool(signature) and RequestValidator(auth_token).validate(url, params, signature)
