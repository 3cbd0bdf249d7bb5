"""The printed prescription's verification: a QR code of the public check address, drawn as inline
SVG on the server (segno), so the page needs no image request and no script."""
from __future__ import annotations

import segno
from markupsafe import Markup

from app.core.links import external_url
from app.prescriptions.models import Prescription


def verification_url(prescription: Prescription) -> str:
    return external_url("rx_check.check", token=prescription.verification_token)


def verification_qr(prescription: Prescription) -> Markup:
    svg = segno.make(verification_url(prescription), error="m").svg_inline(scale=3, border=2, title=None)
    return Markup(svg)  # segno's own markup: the URL inside is ours, built from a random token
