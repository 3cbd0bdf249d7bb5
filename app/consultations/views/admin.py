"""The administrator's call-quality statistics (/admin/call-quality): how the video visits went, per
doctor and day, from the quality samples both browsers send during a call."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.consultations.queries import call_quality_by_doctor_day

bp = Blueprint("call_quality", __name__, url_prefix="/call-quality")
DAYS = 30


@bp.route("/")
def report():
    return render_template("consultations/admin/quality.html", rows=call_quality_by_doctor_day(days=DAYS), days=DAYS)
