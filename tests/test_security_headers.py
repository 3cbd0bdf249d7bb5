"""Response headers, cookies, production secrets and templates that a strict CSP can serve."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.accounts.models import Role
from config import DEV_FERNET_KEY, DEV_SECRET_KEY, ConfigError
from tests.conftest import Browser
from tests.security_support import HOMES, fresh_app

ROOT = Path(__file__).resolve().parent.parent


def _csp_directives(response) -> dict[str, list[str]]:
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_secure_headers(response, *, signed_in: bool, label: str):
    csp = response.headers.get("Content-Security-Policy")
    assert csp, f"{label}: no Content-Security-Policy"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, f"{label}: {csp}"
    directives = _csp_directives(response)
    assert directives.get("frame-ancestors") == ["'none'"], f"{label}: {csp}"
    assert "default-src" in directives, f"{label}: {csp}"
    for directive in ("script-src", "style-src"):
        sources = directives.get(directive, directives["default-src"])
        assert "*" not in sources and "data:" not in sources, f"{label}: {directive} {sources}"
    assert directives.get("object-src") == ["'none'"], f"{label}: {csp}"
    assert response.headers.get("X-Content-Type-Options") == "nosniff", label
    assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), label
    if signed_in:
        assert "no-store" in response.headers.get("Cache-Control", ""), f"{label}: {response.headers.get('Cache-Control')}"


def test_login_page_and_healthz_carry_the_headers(browser):
    login = browser.get("/login")
    assert login.status_code == 200
    assert_secure_headers(login, signed_in=False, label="/login")
    # a page with a CSRF token is personal too: never kept by a shared browser
    assert "no-store" in login.headers["Cache-Control"]
    health = browser.get("/healthz")
    assert health.status_code == 200
    assert_secure_headers(health, signed_in=False, label="/healthz")
    assert "no-store" in health.headers["Cache-Control"]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_home_carries_the_headers_and_is_never_stored(signed_in, role):
    browser, _user = signed_in(role)
    home = browser.get(HOMES[role])
    assert home.status_code == 200
    assert_secure_headers(home, signed_in=True, label=HOMES[role])
    assert "no-cache" in home.headers.get("Pragma", "")
    # an htmx fragment and a JSON answer are no different
    status = browser.get("/session/status", headers={"HX-Request": "true"})
    assert_secure_headers(status, signed_in=True, label="/session/status")


def test_error_pages_carry_the_headers(browser, signed_in):
    missing = browser.get("/no-such-page")
    assert missing.status_code == 404
    assert_secure_headers(missing, signed_in=False, label="404")
    patient, _ = signed_in(Role.PATIENT)
    refused = patient.get("/admin/")
    assert refused.status_code == 403
    assert_secure_headers(refused, signed_in=True, label="403")
    bad = patient.client.post("/logout")  # no CSRF token
    assert bad.status_code == 400
    assert_secure_headers(bad, signed_in=True, label="400")


def test_static_assets_are_cacheable(app, browser):
    page = browser.get("/login").get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert any(a.split("?")[0].endswith(".css") for a in assets) and any(".js" in a for a in assets), assets
    for asset in assets:
        response = browser.get(asset.replace("&amp;", "&"))
        assert response.status_code == 200, asset
        cache = response.headers.get("Cache-Control", "")
        assert "no-store" not in cache and "no-cache" not in cache, f"{asset}: {cache}"
        max_age = re.search(r"max-age=(\d+)", cache)
        assert max_age and int(max_age.group(1)) >= 86400, f"{asset}: {cache}"
        assert "?v=" in asset, f"{asset} has no content version: a long cache would serve stale files"
        assert response.headers.get("X-Content-Type-Options") == "nosniff"
        response.close()


def _session_cookie(response, name="myafya_session") -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    assert cookies, f"no {name} cookie set: {response.headers.getlist('Set-Cookie')}"
    return cookies[-1]


def _flags(cookie: str) -> set[str]:
    """The attributes of a Set-Cookie value: {'httponly', 'secure', 'samesite=lax', 'path', ...}."""
    flags = set()
    for part in cookie.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        flags.add(f"{name.lower()}={value.lower()}" if name.lower() == "samesite" else name.lower())
    return flags


def test_session_cookie_is_httponly_and_samesite_lax_in_development(make_user, app):
    browser = Browser(app.test_client())
    user = make_user(Role.DOCTOR)
    response = browser.login(user.email)
    assert response.status_code == 303
    flags = _flags(_session_cookie(response))
    assert "httponly" in flags and "samesite=lax" in flags, flags
    assert "secure" not in flags  # development runs over plain http
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]


def _production_settings(**extra) -> dict:
    settings = dict(APP_ENV="production", SECRET_KEY=secrets.token_urlsafe(48),
                    FERNET_KEYS=[Fernet.generate_key().decode()], BLIND_INDEX_KEY=secrets.token_urlsafe(48),
                    AUDIT_KEY=secrets.token_urlsafe(48), SESSION_COOKIE_SECURE=True)
    settings.update(extra)
    return settings


def test_production_session_cookie_is_secure(app, database_url, redis_url, make_user):
    with fresh_app(app, database_url, redis_url, **_production_settings()) as production:
        user = make_user(Role.DOCTOR)
        client = production.test_client()
        page = client.get("/login", base_url="https://localhost")
        assert page.status_code == 200
        flags = _flags(_session_cookie(page))
        assert {"secure", "httponly", "samesite=lax"} <= flags, flags
        assert "max-age=31536000" in page.headers.get("Strict-Transport-Security", "")
        assert_secure_headers(page, signed_in=False, label="production /login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        from tests.conftest import PASSWORD

        signed = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token},
                             base_url="https://localhost", headers={"Referer": "https://localhost/login"})
        assert signed.status_code == 303, signed.get_data(as_text=True)[:300]
        flags = _flags(_session_cookie(signed))
        assert {"secure", "httponly", "samesite=lax"} <= flags, flags


@pytest.mark.parametrize("weak", [
    {"SECRET_KEY": DEV_SECRET_KEY},
    {"SECRET_KEY": "short"},
    {"FERNET_KEYS": [DEV_FERNET_KEY]},
    {"FERNET_KEYS": [Fernet.generate_key().decode(), DEV_FERNET_KEY]},
    {"BLIND_INDEX_KEY": "dev-blind-index-key-not-for-production"},
    {"AUDIT_KEY": "dev-audit-key-not-for-production"},
    {"DATABASE_URL": "sqlite:///instance/production.sqlite3"},
], ids=["dev-secret", "short-secret", "dev-fernet", "dev-fernet-second", "dev-blind-index", "dev-audit", "sqlite"])
def test_production_refuses_default_secrets(database_url, redis_url, weak):
    from app import create_app
    from tests.conftest import test_settings

    settings = test_settings(database_url, redis_url, **_production_settings(**weak))
    with pytest.raises(ConfigError):
        create_app(settings)


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>\s*\S", re.I | re.S)
SCRIPT_WITH_BODY = re.compile(r"<script\b[^>]*>(.*?)</script>", re.I | re.S)
HANDLER = re.compile(r"<[^>]*\s(on[a-z]+|hx-on(?::[\w:-]*)?)\s*=", re.I | re.S)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I | re.S)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def test_templates_exist():
    assert len(TEMPLATES) > 5


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_have_no_inline_script_handler_or_style(template):
    source = template.read_text(encoding="utf-8")
    # Jinja comments may talk about such things; they never reach the page
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    problems = []
    if INLINE_SCRIPT.search(source) or any(body.strip() for body in SCRIPT_WITH_BODY.findall(source)):
        problems.append("an inline <script> with content")
    problems += [f"a {m.group(1)}= handler attribute" for m in HANDLER.finditer(source)]
    if STYLE_ATTRIBUTE.search(source):
        problems.append("a style= attribute")
    if JS_URL.search(source):
        problems.append("a javascript: URL")
    if re.search(r"<style\b", source, re.I):
        problems.append("an inline <style> element")
    assert not problems, f"{template.relative_to(ROOT)}: " + "; ".join(problems) + " (the CSP blocks it: use static/js, static/css)"
