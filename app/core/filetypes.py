"""What a file is, from its bytes: never from its name or the type the browser claimed.

Documents may be PDFs or images (JPEG, PNG, WebP). A PDF is known by its "%PDF-" header; an image
by its magic bytes, and then decoded whole with Pillow, so a file that only starts like an image
(an HTML page behind a PNG signature, a truncated photo) is refused too.
"""
from __future__ import annotations

import dataclasses
import io
import warnings

PDF, JPEG, PNG, WEBP = "application/pdf", "image/jpeg", "image/png", "image/webp"
# Larger images are refused before decoding: a phone photo is 12-50 megapixels; a "decompression
# bomb" (a small file that decodes to gigabytes) is far beyond.
MAX_IMAGE_PIXELS = 60_000_000


@dataclasses.dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    label: str  # what people call it

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


TYPES = {
    PDF: FileType(PDF, ".pdf", "PDF"),
    JPEG: FileType(JPEG, ".jpg", "JPEG"),
    PNG: FileType(PNG, ".png", "PNG"),
    WEBP: FileType(WEBP, ".webp", "WebP"),
}
PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}


def _by_magic(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def _decodes_as(data: bytes, pillow_format: str) -> bool:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return False
                image.verify()
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                image.load()  # every pixel: a truncated or corrupt image fails here
        return True
    except Exception:  # Pillow raises many kinds for a bad file; any of them means "not this image"
        return False


def sniff(data: bytes) -> FileType | None:
    """The file's type if it is one documents may be (PDF, JPEG, PNG, WebP), else None."""
    content_type = _by_magic(data)
    if content_type is None:
        return None
    if content_type in PILLOW_FORMATS and not _decodes_as(data, PILLOW_FORMATS[content_type]):
        return None
    return TYPES[content_type]


def file_type(content_type: str) -> FileType | None:
    return TYPES.get(content_type)
