"""/static/ served by WhiteNoise in front of the app, as Brotli or gzip files compressed beforehand.

The .br and .gz files are made by WhiteNoise's compressor when the app starts, beside each file in
static/ (and kept out of git): every process that serves makes sure they are there and hold the
current content, so `make run`, the tests and a deploy whose build or release ran on another machine
all have them, and an edited file never has a stale compressed twin. Each is written to a temporary
file and renamed, so two workers starting at once never serve a half-written one. Where static/ is
read-only the files go out uncompressed, and the log says why.

Cache: a URL whose `?v=` is the file's current content hash (app/core/assets.py) is kept for a year,
`immutable`; any other (no `v`, or a page from an older deploy asking for what was there then) must be
revalidated. Static answers carry the same security headers as pages (Flask's after_request never
sees them).
"""
from __future__ import annotations

import gzip
import logging
import os
import tempfile
from contextlib import suppress
from pathlib import Path
from urllib.parse import parse_qs

import brotli
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor
from whitenoise.responders import MissingFileError

from app.core.assets import content_version
from app.core.security import security_headers

log = logging.getLogger(__name__)

VERSIONED = f"public, max-age={365 * 24 * 3600}, immutable"
UNVERSIONED = "no-cache"
_DECOMPRESS = {".br": brotli.decompress, ".gz": gzip.decompress}


class _AtomicCompressor(Compressor):
    """WhiteNoise's compressor (Brotli quality 11, gzip 9), writing each file by rename."""

    def write_data(self, path, data, suffix, stat_result):
        target = path + suffix
        directory, name = os.path.split(target)
        # A dot name: the file server skips it while it is being written.
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(temp, stat_result.st_mode & 0o777)
            os.utime(temp, ns=(stat_result.st_atime_ns, stat_result.st_mtime_ns))
            os.replace(temp, target)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return target


_compressor = _AtomicCompressor(quiet=True)


def _holds(compressed: str, suffix: str, content: bytes) -> bool:
    try:
        return _DECOMPRESS[suffix](Path(compressed).read_bytes()) == content
    except Exception:  # missing, or not Brotli or gzip at all: made again
        return False


def precompress(path: str) -> None:
    """Make path.br and path.gz the current content of `path` compressed, or absent where compressing
    does not pay (WhiteNoise's rule: at least 5% smaller)."""
    if not _compressor.should_compress(path):
        return
    content = Path(path).read_bytes()
    if all(_holds(path + suffix, suffix, content) for suffix in _DECOMPRESS):
        return
    written = _compressor.compress(path)
    for suffix in _DECOMPRESS:
        if path + suffix not in written:
            with suppress(FileNotFoundError):
                os.unlink(path + suffix)  # a stale twin of an older content


def precompress_tree(root: str) -> None:
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if name.startswith(".") or WhiteNoise.is_compressed_variant(path):
                continue
            try:
                precompress(path)
            except OSError as error:
                log.warning("%s is served uncompressed: its compressed copies cannot be written (%s)", path, error)


class StaticFiles(WhiteNoise):
    """WhiteNoise with our cache rule and security headers; `autorefresh` (debug) re-reads every request."""

    def __init__(self, application, *, root: str, prefix: str = "static", autorefresh: bool = False):
        if not autorefresh:
            precompress_tree(root)  # before WhiteNoise lists the files, so it sees the compressed ones
        super().__init__(application, root=root, prefix=prefix, autorefresh=autorefresh, max_age=None,
                         allow_all_origins=False)

    def add_file_to_dictionary(self, url, path, stat_cache=None):
        if not os.path.basename(path).startswith("."):
            super().add_file_to_dictionary(url, path, stat_cache=stat_cache)

    def find_file_at_path(self, path, url):  # autorefresh only
        if os.path.basename(path).startswith("."):
            raise MissingFileError(path)
        with suppress(OSError):
            precompress(path)
        return super().find_file_at_path(path, url)

    def get_static_file(self, path, url, stat_cache=None):
        static_file = super().get_static_file(path, url, stat_cache=stat_cache)
        static_file.version = content_version(path)
        return static_file

    def serve(self, static_file, environ, start_response):
        current = parse_qs(environ.get("QUERY_STRING", "")).get("v") == [static_file.version]
        extra = [("Cache-Control", VERSIONED if current else UNVERSIONED)]
        extra += security_headers(secure=environ.get("wsgi.url_scheme") == "https")

        def start(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != "cache-control"]
            return start_response(status, headers + extra, exc_info)

        return WhiteNoise.serve(static_file, environ, start)
