"""Pages and partials compressed for the site's own requests, never for another site's (BREACH), nor
when streamed or tiny."""
from __future__ import annotations

import gzip

import brotli
import pytest
from flask import Response, stream_with_context

from app.accounts.models import Role
from app.core.policies import public
from tests.security_support import fresh_app

CHROMIUM_ACCEPTS = "gzip, deflate, br, zstd"
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda body: body}


def _get(client, path: str, *, site: str | None, accept: str = CHROMIUM_ACCEPTS, **headers):
    if site:
        headers["Sec-Fetch-Site"] = site
    response = client.get(path, headers={"Accept-Encoding": accept, **headers})
    encoding = response.headers.get("Content-Encoding")
    return response, encoding, DECODE[encoding](response.get_data()).decode()


def _vary(response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}


@pytest.mark.parametrize("site", ["same-origin", "none", None], ids=["same-origin", "typed-or-bookmarked", "no-header"])
def test_a_signed_in_home_is_compressed_for_the_site_itself(signed_in, site):
    browser, user = signed_in(Role.DOCTOR)
    response, encoding, page = _get(browser.client, "/doctor/", site=site)
    assert response.status_code == 200
    assert encoding == "br"
    assert user.full_name in page and "</html>" in page
    assert len(response.get_data()) < len(page.encode()) / 2
    assert {"accept-encoding", "sec-fetch-site"} <= _vary(response)
    assert "no-store" in response.headers["Cache-Control"]


def test_gzip_for_a_browser_without_brotli_and_nothing_for_one_without_either(browser):
    _, encoding, page = _get(browser.client, "/login", site="same-origin", accept="gzip, deflate")
    assert encoding == "gzip" and 'name="csrf_token"' in page
    response, encoding, page = _get(browser.client, "/login", site="same-origin", accept="identity")
    assert encoding is None and 'name="csrf_token"' in page
    assert "accept-encoding" in _vary(response)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_page_asked_for_by_another_site_is_not_compressed(signed_in, site):
    """A link or form on another site reaching a signed-in page (SameSite=Lax sends the session on
    top-level navigations): its size must not leak the CSRF token or the patient data on it."""
    browser, user = signed_in(Role.DOCTOR)
    response, encoding, page = _get(browser.client, "/doctor/", site=site)
    assert response.status_code == 200
    assert encoding is None
    assert user.full_name in page and '"X-CSRFToken"' in page
    assert {"accept-encoding", "sec-fetch-site"} <= _vary(response)
    login, encoding, _ = _get(browser.client, "/login?next=/doctor/", site=site)
    assert encoding is None, login.status_code


def test_a_partial_keeps_its_vary_and_its_budget(signed_in, make_patient):
    for n in range(12):
        make_patient(given_name=f"Abigail-Wanjiku {n}", family_name=f"Abdallah-Nyambura-Onyango{n:02d}",
                     phone=f"+2547120{n:05d}")
    browser, _ = signed_in(Role.DOCTOR)
    response, encoding, fragment = _get(browser.client, "/doctor/patients/?q=ab", site="same-origin",
                                        **{"HX-Request": "true"})
    assert "<html" not in fragment and "Abdallah-Nyambura-Onyango" in fragment
    assert {"hx-request", "accept-encoding"} <= _vary(response)
    assert encoding == "br"  # a full result list is over the 1 KB worth compressing
    assert len(response.get_data()) < 5 * 1024


def test_a_small_answer_is_sent_as_it_is(browser):
    response, encoding, body = _get(browser.client, "/healthz", site="same-origin")
    assert len(body) < 1024 and encoding is None and response.is_json


def test_a_streamed_answer_is_never_compressed(app, database_url, redis_url):
    lines = [f"<p>line {n} of a long export</p>\n" for n in range(400)]
    with fresh_app(app, database_url, redis_url) as throwaway:
        @throwaway.route("/throwaway-stream")
        @public
        def throwaway_stream():
            return Response(stream_with_context(iter(lines)), mimetype="text/html")

        response, encoding, body = _get(throwaway.test_client(), "/throwaway-stream", site="same-origin")
    assert response.status_code == 200
    assert encoding is None and body == "".join(lines)
