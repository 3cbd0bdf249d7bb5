"""Static files: sent compressed as the browser accepts, cached a year only under their current version,
with the pages' security headers; their compressed copies always hold the current content."""
from __future__ import annotations

import gzip
import logging
import os
import re
import threading
from pathlib import Path

import brotli
import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from app.core import static_files
from app.core.static_files import StaticFiles, precompress, precompress_tree

STATIC = Path(__file__).resolve().parents[2] / "static"
CHROMIUM_ACCEPTS = "gzip, deflate, br, zstd"
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda body: body}
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                    "Permissions-Policy")
# Compresses well, like the scripts it stands for.
SCRIPT = b"".join(b"function step%d(x) { return x + %d; }\n" % (n, n) for n in range(200))


def _page_assets(browser) -> list[str]:
    page = browser.get("/login").get_data(as_text=True)
    assets = [a.replace("&amp;", "&") for a in re.findall(r'(?:href|src)="(/static/[^"]+)"', page)]
    kinds = {a.split("?")[0].rsplit(".", 1)[-1] for a in assets}
    assert {"css", "js"} <= kinds, assets
    return assets


def _source(url: str) -> bytes:
    return (STATIC / url.split("?")[0].removeprefix("/static/")).read_bytes()


@pytest.mark.parametrize("accept, encoding", [(CHROMIUM_ACCEPTS, "br"), ("gzip, deflate", "gzip"),
                                              ("identity", None), (None, None)],
                         ids=["brotli", "gzip", "identity", "no-header"])
def test_scripts_and_stylesheets_are_sent_as_the_browser_accepts(browser, accept, encoding):
    headers = {"Accept-Encoding": accept} if accept else {}
    for url in _page_assets(browser):
        if not url.split("?")[0].endswith((".js", ".css")):
            continue
        response = browser.get(url, headers=headers)
        sent = response.get_data()
        assert response.status_code == 200, url
        assert response.headers.get("Content-Encoding") == encoding, url
        assert "accept-encoding" in response.headers.get("Vary", "").lower(), url
        assert int(response.headers["Content-Length"]) == len(sent), url
        assert DECODE[encoding](sent) == _source(url), f"{url}: not the file's current content"
        if encoding:
            assert len(sent) < len(_source(url)) * 0.6, f"{url}: {len(sent)} bytes sent for {len(_source(url))}"


def test_htmx_goes_out_under_a_third_of_its_size(browser):
    htmx = next(a for a in _page_assets(browser) if "htmx" in a)
    sent = browser.get(htmx, headers={"Accept-Encoding": CHROMIUM_ACCEPTS}).get_data()
    assert len(sent) < len(_source(htmx)) / 3, len(sent)


def test_only_the_current_version_is_kept_a_year(browser):
    for url in _page_assets(browser):
        versioned = browser.get(url).headers["Cache-Control"]
        assert "immutable" in versioned and "max-age=31536000" in versioned and "public" in versioned, (url, versioned)
        path = url.split("?")[0]
        for other in (path, path + "?v=0000000000", path + "?x=1"):
            cache = browser.get(other).headers["Cache-Control"]
            # Without its current version a URL may hold any content: the browser must ask again.
            assert "immutable" not in cache and "no-cache" in cache, (other, cache)
            assert not re.search(r"max-age=[1-9]", cache), (other, cache)


def test_a_revalidation_answers_304_with_the_same_cache_rule(browser):
    url = next(a for a in _page_assets(browser) if a.split("?")[0].endswith(".css"))
    first = browser.get(url)
    again = browser.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert again.headers["X-Content-Type-Options"] == "nosniff"


def test_static_answers_carry_the_pages_security_headers(browser):
    page = browser.get("/login")
    for url in _page_assets(browser):
        response = browser.get(url, headers={"Accept-Encoding": CHROMIUM_ACCEPTS})
        for name in SECURITY_HEADERS:
            assert response.headers.get(name) == page.headers[name], (url, name, response.headers.get(name))
        assert "Access-Control-Allow-Origin" not in response.headers, url
        assert "Strict-Transport-Security" not in response.headers  # plain http, as for the page
    secure = browser.get(_page_assets(browser)[0], base_url="https://localhost")
    assert "max-age=31536000" in secure.headers.get("Strict-Transport-Security", "")


def test_compressed_copies_follow_the_file(tmp_path):
    script = tmp_path / "js" / "page.js"
    script.parent.mkdir()
    script.write_bytes(SCRIPT)
    precompress_tree(str(tmp_path))
    assert brotli.decompress((tmp_path / "js" / "page.js.br").read_bytes()) == SCRIPT
    assert gzip.decompress((tmp_path / "js" / "page.js.gz").read_bytes()) == SCRIPT
    assert sorted(p.name for p in script.parent.iterdir()) == ["page.js", "page.js.br", "page.js.gz"]  # no temp left

    edited = SCRIPT.replace(b"step", b"stage")
    script.write_bytes(edited)
    precompress_tree(str(tmp_path))
    assert brotli.decompress((tmp_path / "js" / "page.js.br").read_bytes()) == edited
    assert gzip.decompress((tmp_path / "js" / "page.js.gz").read_bytes()) == edited

    (tmp_path / "js" / "page.js.br").write_bytes(b"not brotli at all")
    precompress_tree(str(tmp_path))
    assert brotli.decompress((tmp_path / "js" / "page.js.br").read_bytes()) == edited

    noise = os.urandom(4000)  # compressing does not pay: the old copies must not outlive the old content
    script.write_bytes(noise)
    precompress_tree(str(tmp_path))
    assert not (tmp_path / "js" / "page.js.br").exists() and not (tmp_path / "js" / "page.js.gz").exists()


def _not_found(environ, start_response):
    return Response("not a static file", status=404)(environ, start_response)


def _served(server, path: str, accept: str = CHROMIUM_ACCEPTS) -> tuple[str | None, bytes]:
    response = Client(server).get(path, headers={"Accept-Encoding": accept})
    return response.headers.get("Content-Encoding"), DECODE[response.headers.get("Content-Encoding")](response.data)


def test_a_server_started_on_stale_copies_sends_the_current_content(tmp_path):
    (tmp_path / "page.js").write_bytes(SCRIPT)
    # Left over from an older deploy, and newer than the file (a copy that kept its mtime).
    (tmp_path / "page.js.br").write_bytes(brotli.compress(b"the old script " * 300))
    (tmp_path / "page.js.gz").write_bytes(gzip.compress(b"the old script " * 300))
    server = StaticFiles(_not_found, root=str(tmp_path))
    assert _served(server, "/static/page.js") == ("br", SCRIPT)
    assert _served(server, "/static/page.js", "gzip") == ("gzip", SCRIPT)


def test_a_debug_server_sends_an_edited_file_compressed_and_current(tmp_path):
    script = tmp_path / "page.js"
    script.write_bytes(SCRIPT)
    server = StaticFiles(_not_found, root=str(tmp_path), autorefresh=True)
    assert _served(server, "/static/page.js") == ("br", SCRIPT)
    edited = SCRIPT + b"function more() {}\n" * 50
    script.write_bytes(edited)
    assert _served(server, "/static/page.js") == ("br", edited)
    assert _served(server, "/static/page.js", "gzip") == ("gzip", edited)


def test_a_copy_being_written_is_never_served(tmp_path):
    (tmp_path / "page.js").write_bytes(SCRIPT)
    (tmp_path / ".page.js.br.x1y2.tmp").write_bytes(b"half")
    for autorefresh in (False, True):
        server = StaticFiles(_not_found, root=str(tmp_path), autorefresh=autorefresh)
        assert Client(server).get("/static/.page.js.br.x1y2.tmp").status_code == 404


def test_two_workers_writing_copies_at_once_never_expose_a_partial_one(tmp_path):
    """Workers start together and may both write: a reader sees the old whole file or the new one."""
    path = tmp_path / "page.js"
    path.write_bytes(SCRIPT)
    precompress(str(path))
    compressed, stat = (tmp_path / "page.js.gz").read_bytes(), path.stat()
    torn, done = [], threading.Event()

    def write():
        for _ in range(400):
            static_files._compressor.write_data(str(path), compressed, ".gz", stat)
        done.set()

    def read():
        while not done.is_set():
            data = (tmp_path / "page.js.gz").read_bytes()
            try:
                if gzip.decompress(data) != SCRIPT:
                    torn.append(len(data))
            except (OSError, EOFError):
                torn.append(len(data))

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not torn, f"a reader saw {len(torn)} partial copies (sizes {torn[:5]})"


def test_where_copies_cannot_be_written_files_go_out_uncompressed(tmp_path, caplog):
    (tmp_path / "page.js").write_bytes(SCRIPT)
    (tmp_path / "page.js.br").mkdir()  # stands for a read-only static/: the copy cannot be put there
    with caplog.at_level(logging.WARNING, logger="app.core.static_files"):
        server = StaticFiles(_not_found, root=str(tmp_path))
    assert "served uncompressed" in caplog.text
    assert _served(server, "/static/page.js") == (None, SCRIPT)
