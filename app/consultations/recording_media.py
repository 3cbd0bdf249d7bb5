"""What a recording is, from the bytes of its first piece: WebM (Chrome, Edge, Firefox, recent Safari
record video into it) or Ogg (Firefox's audio-only recordings). Never from the type the browser claims.

Only the first piece carries the container's header: MediaRecorder cuts the stream every few seconds
wherever it stands, so later pieces are the middle of one file and have no magic of their own. They
are kept only after a first piece that was checked, and only ever served joined behind it, as the
type that piece showed (with nosniff).
"""
from __future__ import annotations

WEBM, OGG = "video/webm", "audio/ogg"
EBML_MAGIC = b"\x1a\x45\xdf\xa3"   # a Matroska/WebM file's EBML header
EBML_DOCTYPE = b"\x42\x82"          # the header's DocType element; WebM's says "webm" ("matroska": refused)
OGG_MAGIC = b"OggS"                 # every Ogg page, the first one included


def container_of(first_piece: bytes) -> str | None:
    """The content type a recording's first piece shows, or None when it is neither WebM nor Ogg."""
    if first_piece.startswith(EBML_MAGIC):
        header = first_piece[:64]
        at = header.find(EBML_DOCTYPE)
        if at >= 0 and b"webm" in header[at + 2:at + 12]:  # after the element's size (1 to 8 bytes)
            return WEBM
        return None
    if first_piece.startswith(OGG_MAGIC) and len(first_piece) >= 27 and first_piece[4] == 0:  # stream version 0
        return OGG
    return None


EXTENSIONS = {WEBM: ".webm", OGG: ".ogg"}
