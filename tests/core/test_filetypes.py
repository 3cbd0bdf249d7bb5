"""A file's type comes from its bytes: a PNG named .pdf is a PNG, an HTML page named .pdf is refused,
and an image must decode whole."""
from __future__ import annotations

import pytest

from app.core.filetypes import sniff
from tests.files_support import HTML, PDF, image


@pytest.mark.parametrize("data, expected", [
    (PDF, "application/pdf"),
    (image("PNG"), "image/png"),
    (image("JPEG"), "image/jpeg"),
    (image("WEBP"), "image/webp"),
])
def test_pdfs_and_images_are_known_by_their_bytes(data, expected):
    assert sniff(data).content_type == expected


@pytest.mark.parametrize("data", [
    HTML,
    b"",
    b"GIF89a" + b"\x00" * 40,                          # an image, but not one of ours
    b"\x89PNG\r\n\x1a\n" + HTML,                        # a PNG signature in front of a page
    image("PNG")[:-30],                                 # a truncated PNG
    image("JPEG", size=(400, 300))[:200],               # a truncated photo
    b"RIFF\x00\x00\x00\x00WEBP" + HTML,                 # a WebP header and nothing of an image
    b" %PDF-1.4 not at the start",
], ids=["html", "empty", "gif", "png-signature-then-html", "truncated-png", "truncated-jpeg", "webp-header-only",
        "pdf-marker-not-first"])
def test_anything_else_is_refused(data):
    assert sniff(data) is None


def test_an_image_too_large_to_decode_safely_is_refused(monkeypatch):
    from app.core import filetypes

    monkeypatch.setattr(filetypes, "MAX_IMAGE_PIXELS", 100)
    assert sniff(image("PNG", size=(20, 20))) is None
    assert sniff(image("PNG", size=(10, 10))) is not None
