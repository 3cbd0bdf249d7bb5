"""A sample's label: its id as a QR code drawn as inline SVG on the server (segno), so the printed
page needs no image request and no script, and a scanner at the bench reads it back as text."""
from __future__ import annotations

import segno
from markupsafe import Markup


def sample_qr(code: str) -> Markup:
    svg = segno.make(code, error="m").svg_inline(scale=3, border=2, title=None)
    return Markup(svg)  # segno's own markup of our sample id (letters and digits only)
