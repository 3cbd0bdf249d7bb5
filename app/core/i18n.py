"""Languages: English (the source language of every string) and Swahili.

A page is in the signed-in person's saved language; before sign-in, in the language chosen on this
browser (the `lang` cookie), else the browser's own preference, else English. A message (email,
SMS, in-app) is written in its recipient's language at the moment it is queued: the outbox keeps
the text as it goes out, whoever's action caused it.

The catalogues live in translations/<lang>/LC_MESSAGES/messages.po; the compiled .mo files are made
from them when the app starts (and again whenever a .po is newer), so a fresh checkout needs no step.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_request_context, request
from flask_babel import LazyString, force_locale, get_locale
from flask_login import current_user

LANGUAGES = {"en": "English", "sw": "Kiswahili"}  # each named in itself: it is chosen by those who read it
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 60 * 60
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"

log = logging.getLogger(__name__)


def supported(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def select_locale() -> str | None:
    """flask-babel's locale selector (None outside a request: the default, English)."""
    if not has_request_context():
        return None
    if current_user.is_authenticated:
        return supported(getattr(current_user, "language", None))
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return browser_language(request.accept_languages)


def browser_language(accepted) -> str:
    """The first language the browser accepts (in its order of preference) that we have; "sw-TZ"
    counts as Swahili even when English comes next."""
    for value, _quality in accepted:
        primary = value.split("-")[0].split("_")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def current_language() -> str:
    locale = get_locale()
    return supported(locale.language if locale else None)


@contextmanager
def in_language(language: str | None):
    """Render what is inside in `language` (a recipient's), whatever the request's own."""
    with force_locale(supported(language)):
        yield


def remember_language(response, language: str):
    """The browser keeps the choice for the pages before sign-in (after sign-out, on a shared computer,
    the sign-in page stays in the language of whoever used it last)."""
    response.set_cookie(LANGUAGE_COOKIE, supported(language), max_age=LANGUAGE_COOKIE_SECONDS,
                        secure=request.is_secure, httponly=True, samesite="Lax")
    return response


# -- dates, for people: names of days and months in the reader's language ------------------------------

def _locale() -> Locale:
    return get_locale() or Locale.parse(DEFAULT_LANGUAGE)


def format_local(moment: dt.datetime, pattern: str) -> str:
    """An aware datetime already in the clinic's zone, in a CLDR pattern ("EEE dd MMM, HH:mm")."""
    return format_datetime(moment, pattern, locale=_locale())


def format_day(day: dt.date, pattern: str) -> str:
    return format_date(day, pattern, locale=_locale())


def lazy_local(moment: dt.datetime, pattern: str) -> LazyString:
    """`format_local`, done when the text is rendered (in the recipient's language)."""
    return LazyString(format_local, moment, pattern)


# -- catalogues ---------------------------------------------------------------------------------------

def _stale(po: Path, mo: Path) -> bool:
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def _compile(po: Path, mo: Path) -> None:
    with po.open("rb") as source:
        catalog = read_po(source)
    mo.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, then renamed: several processes starting at once never read half a file.
    fd, partial = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        os.replace(partial, mo)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def compile_catalogues(directory: Path = TRANSLATIONS) -> Path:
    """Compile each .po whose .mo is missing or older; returns the directory to load them from
    (a temporary one when the checkout is read-only)."""
    pos = sorted(directory.glob("*/LC_MESSAGES/messages.po"))
    try:
        for po in pos:
            mo = po.with_suffix(".mo")
            if _stale(po, mo):
                _compile(po, mo)
        return directory
    except OSError as error:
        elsewhere = Path(tempfile.mkdtemp(prefix="myafya-translations-"))
        log.warning("translations: cannot write beside the catalogues (%s); compiled into %s",
                    error.__class__.__name__, elsewhere)
        for po in pos:
            _compile(po, elsewhere / po.relative_to(directory).with_suffix(".mo"))
        return elsewhere


def register(app) -> None:
    from app.extensions import babel

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(compile_catalogues()))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["CLINIC_TIMEZONE"])
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(languages=LANGUAGES, current_language=current_language)
