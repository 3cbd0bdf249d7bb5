"""Twilio's webhooks for a visit continued by phone: no person signs in here, so each request must
carry Twilio's signature over the URL it called and the fields it posted (made with our auth token);
an unsigned or forged one gets a 403 and changes nothing. No CSRF token: Twilio cannot have one, the
signature is the proof instead.

- /twilio/visit/<id>/bridge: the doctor answered; TwiML that dials the patient.
- /twilio/visit/<id>/dialed: the patient's leg ended (answered and for how long, or not at all).
- /twilio/visit/<id>/status: the call ended (its status, its duration): recorded once per CallSid.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from app.consultations import phone, twilio_voice
from app.core.policies import public
from app.extensions import csrf

bp = Blueprint("visit_twilio", __name__)

_SID_MAX = 64


def _signed_by_twilio() -> twilio_voice.VoiceSettings:
    """Twilio's settings, once this request is proven to come from Twilio; 403 otherwise."""
    settings = twilio_voice.voice_settings(current_app.config)
    url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    if settings is None or not twilio_voice.signature_valid(settings.auth_token, url=url, params=request.form,
                                                            signature=request.headers.get("X-Twilio-Signature")):
        abort(403)
    return settings


def _call_sid() -> str:
    sid = request.form.get("CallSid", "")
    if not sid or len(sid) > _SID_MAX or not sid.isalnum():
        abort(400)
    return sid


@bp.route("/twilio/visit/<int:consultation_id>/bridge", methods=["POST"])
@public
@csrf.exempt
def bridge(consultation_id: int):
    settings = _signed_by_twilio()
    patient_phone = phone.bridge_for(consultation_id=consultation_id, call_sid=_call_sid())
    with force_locale("en"):  # the doctor hears it; Twilio's voices read English
        goodbye = _("This video visit is no longer waiting for a phone call. Goodbye.")
    dialed_url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("visit_twilio.dialed",
                                                                              consultation_id=consultation_id)
    twiml = twilio_voice.bridge_twiml(patient_phone=patient_phone, from_number=settings.from_number, goodbye=goodbye,
                                      dialed_url=dialed_url)
    return Response(twiml, mimetype="text/xml")


@bp.route("/twilio/visit/<int:consultation_id>/dialed", methods=["POST"])
@public
@csrf.exempt
def dialed(consultation_id: int):
    _signed_by_twilio()
    status = request.form.get("DialCallStatus", "")[:16]
    phone.patient_leg_ended(consultation_id=consultation_id, call_sid=_call_sid(), status=status,
                            duration=request.form.get("DialCallDuration"))
    with force_locale("en"):
        text = None if status == "completed" else _("The patient did not answer. Goodbye.")
    return Response(twilio_voice.said_then_hang_up(text), mimetype="text/xml")


@bp.route("/twilio/visit/<int:consultation_id>/status", methods=["POST"])
@public
@csrf.exempt
def status(consultation_id: int):
    _signed_by_twilio()
    phone.phone_call_status(consultation_id=consultation_id, call_sid=_call_sid(),
                            status=request.form.get("CallStatus", "")[:16], duration=request.form.get("CallDuration"))
    return Response(status=204)
