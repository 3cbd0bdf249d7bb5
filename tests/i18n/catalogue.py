"""What a patient reads, and whether the Swahili catalogue has all of it.

Patient-facing means: the templates a patient's pages are made of (found from the roots below by
following extends/include/import, so a fragment added to a patient page later is covered without
touching this file), and the Python modules whose strings reach patients (form labels and errors,
flash messages, the rules' messages, emails and SMS).
"""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po
from jinja2 import meta

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
SWAHILI = ROOT / "translations" / "sw" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

PATIENT_TEMPLATE_ROOTS = (
    "base.html", "components/*.html", "errors/*.html", "accounts/*.html", "*/patient/*.html",
    "scheduling/confirm.html", "scheduling/move.html", "scheduling/move_confirm.html", "consultations/*.html",
    "notifications/inbox.html",
    "prescriptions/print.html", "prescriptions/check.html",
)
PATIENT_MODULES = (
    "app/accounts/forms.py", "app/accounts/models.py", "app/accounts/passwords.py", "app/accounts/services.py",
    "app/accounts/views/public.py", "app/core/error_pages.py", "app/core/forms.py", "app/core/outage.py",
    "app/core/templating.py", "app/core/transactions.py", "app/records/models.py", "app/records/services.py",
    "app/records/trends.py", "app/records/vitals.py",
    "app/scheduling/forms.py", "app/scheduling/models.py", "app/scheduling/notices.py",
    "app/scheduling/services.py", "app/scheduling/tasks.py", "app/scheduling/views/booking.py",
    "app/scheduling/views/patient.py", "app/audit/actions.py", "app/records/audit_names.py",
    "app/consultations/services.py", "app/consultations/forms.py", "app/consultations/access.py",
    "app/consultations/views/room.py", "app/consultations/room_socket.py", "app/consultations/chat_files.py",
    "app/consultations/views/room_panel.py", "app/consultations/recordings.py",
    "app/prescriptions/models.py", "app/prescriptions/notices.py",
    "app/labs/models.py", "app/labs/notices.py", "app/records/telling.py",
)


def patient_templates(env, templates: Path = TEMPLATES) -> list[Path]:
    """The roots and every template they extend, include or import, transitively."""
    pending = {p.relative_to(templates).as_posix() for pattern in PATIENT_TEMPLATE_ROOTS
               for p in templates.glob(pattern)}
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        seen.add(name)
        ast = env.parse((templates / name).read_text(encoding="utf-8"))
        pending |= {ref for ref in meta.find_referenced_templates(ast) if ref and ref not in seen}
    return sorted(templates / name for name in seen)


def msgids(paths, method: str) -> dict:
    """msgid (a string, or a (singular, plural) tuple) -> where it is used."""
    found: dict = {}
    for path in paths:
        for lineno, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            key = message if isinstance(message, str) else tuple(m for m in message if m)
            key = key[0] if isinstance(key, tuple) and len(key) == 1 else key
            shown = Path(path).relative_to(ROOT) if ROOT in Path(path).parents else Path(path).name
            found.setdefault(key, []).append(f"{shown}:{lineno}")
    return found


def patient_msgids(env, templates: Path = TEMPLATES) -> dict:
    found = msgids(patient_templates(env, templates), "jinja2")
    for key, where in msgids([ROOT / m for m in PATIENT_MODULES], "python").items():
        found.setdefault(key, []).extend(where)
    return found


def swahili_catalogue(path: Path = SWAHILI):
    with path.open("rb") as source:
        return read_po(source)


def untranslated(wanted: dict, catalogue) -> list[str]:
    """Each wanted msgid that the catalogue lacks, leaves empty, or marks fuzzy."""
    problems = []
    for key, where in sorted(wanted.items(), key=lambda kv: str(kv[0])):
        message = catalogue.get(key[0] if isinstance(key, tuple) else key)
        strings = message.string if message is not None else None
        strings = strings if isinstance(strings, tuple) else (strings,)
        if message is None or message.fuzzy or not all(s and s.strip() for s in strings):
            state = "missing" if message is None else ("fuzzy" if message.fuzzy else "empty")
            problems.append(f"{state}: {key!r} (used in {', '.join(where[:3])})")
    return problems


# Words allowed outside _(): the product's name, and units read the same in every language.
UNTRANSLATABLE = {"MyAfya", "kg", "SpO₂"}
JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
ATTRIBUTE_TEXT = re.compile(r'\b(?:title|placeholder|aria-label|hx-confirm|data-label|alt)="([^"]*)"')


def unmarked_text(path: Path) -> list[str]:
    """Words written straight into a template's HTML (text or a readable attribute) instead of
    through _(): they would show in English whatever the reader's language."""
    source = re.sub(r"&#?\w+;", " ", JINJA.sub(" ", path.read_text(encoding="utf-8")))
    source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.S)
    texts = [m.group(1) for m in ATTRIBUTE_TEXT.finditer(source)]
    texts += re.sub(r"<[^>]*>", "\n", source).splitlines()
    words = {w for text in texts for w in re.findall(r"[^\W\d_]{2,}", text)}
    return sorted(words - UNTRANSLATABLE)


def app_msgids() -> dict:
    """Every msgid the app writes, staff pages included: all templates and all of app/."""
    found = msgids(sorted(TEMPLATES.rglob("*.html")), "jinja2")
    for key, where in msgids(sorted((ROOT / "app").rglob("*.py")), "python").items():
        found.setdefault(key, []).extend(where)
    return found
