"""/rx/<token>: anyone holding a printed prescription (a pharmacy elsewhere, an insurer) checks that
it is genuine and where it stands. It shows what the paper already shows about who and when, and no
more: no medicines, no patient name (initials and year of birth), nothing from the chart."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from app.core.policies import public
from app.core.request_args import or_404
from app.extensions import db
from app.prescriptions.models import Prescription

bp = Blueprint("rx_check", __name__)


@bp.route("/rx/<token>")
@public
def check(token: str):
    prescription = or_404(db.session.execute(
        select(Prescription).where(Prescription.verification_token == token[:64])).scalar_one_or_none())
    return render_template("prescriptions/check.html", prescription=prescription)
