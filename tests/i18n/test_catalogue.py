"""The catalogues: Swahili complete for everything a patient reads, sound placeholders, and they compile.

No database needed: these read the templates, the code and the .po files.
"""
from __future__ import annotations

import os
import re
import shutil

import pytest
from babel.messages.mofile import read_mo

from app.core.i18n import compile_catalogues
from tests.i18n.catalogue import (
    ROOT,
    TEMPLATES,
    app_msgids,
    patient_msgids,
    patient_templates,
    swahili_catalogue,
    unmarked_text,
    untranslated,
)

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


@pytest.fixture(scope="module")
def env(app):
    return app.jinja_env


def test_every_string_a_patient_reads_has_a_swahili_translation(env):
    wanted = patient_msgids(env)
    assert len(wanted) > 150, f"only {len(wanted)} patient-facing strings found: is the extraction broken?"
    problems = untranslated(wanted, swahili_catalogue())
    assert not problems, ("patient-facing strings without Swahili (run `make translations`, then translate them in "
                          "translations/sw/LC_MESSAGES/messages.po):\n" + "\n".join(problems))


def test_every_string_staff_read_has_a_swahili_translation_too():
    """A doctor, pharmacist or technician may choose Swahili as well: no page falls back to English."""
    wanted = app_msgids()
    assert len(wanted) > 1000, f"only {len(wanted)} strings found: is the extraction broken?"
    problems = untranslated(wanted, swahili_catalogue())
    assert not problems, ("strings without Swahili (run `make translations`, then translate them in "
                          "translations/sw/LC_MESSAGES/messages.po):\n" + "\n".join(problems))


def test_the_patient_templates_include_the_pages_patients_reach(env):
    names = {p.relative_to(TEMPLATES).as_posix() for p in patient_templates(env)}
    # Reached by include/extends from the roots, not listed there.
    assert {"scheduling/_picker.html", "scheduling/_day_slots.html", "scheduling/_appointment_line.html",
            "scheduling/patient/_appointments.html", "records/_chart_summary.html", "records/_entry.html",
            "records/_patient_banner.html", "components/forms.html", "errors/_error.html",
            "accounts/_new_password.html", "portals/patient/home.html"} <= names
    assert not any("/admin/" in n or "/reception/" in n or n.startswith("scheduling/doctor/") for n in names), names


def test_patient_templates_write_no_words_outside_the_catalogue(env):
    found = {p.relative_to(ROOT).as_posix(): unmarked_text(p) for p in patient_templates(env)}
    assert {path: words for path, words in found.items() if words} == {}, \
        "words written straight into patient templates: wrap them in {{ _(\"...\") }}"


def test_a_string_added_without_translation_is_caught(env, tmp_path):
    """The check above can fail: a patient page gains a new sentence and nobody translates it."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    page = templates / "scheduling" / "patient" / "appointments.html"
    page.write_text(page.read_text().replace('<h1>{{ _("My appointments") }}</h1>',
                                             '<h1>{{ _("My appointments") }}</h1><p>{{ _("Bring your clinic card.") }}</p>'))
    included = templates / "scheduling" / "_appointment_line.html"  # reached only through an include
    included.write_text(included.read_text() + '{{ _("Arrive ten minutes early.") }}<p>Unmarked words</p>')
    problems = untranslated(patient_msgids(env, templates), swahili_catalogue())
    assert [p.split(" (")[0] for p in problems] == ["missing: 'Arrive ten minutes early.'",
                                                     "missing: 'Bring your clinic card.'"]
    assert unmarked_text(included) == ["Unmarked", "words"]


def test_a_fuzzy_or_empty_translation_counts_as_missing(env):
    catalogue = swahili_catalogue()
    catalogue["Book an appointment"].flags.add("fuzzy")
    catalogue["Sign in"].string = ""
    problems = untranslated(patient_msgids(env), catalogue)
    assert [p.split(" (")[0] for p in problems] == ["fuzzy: 'Book an appointment'", "empty: 'Sign in'"]


def test_every_translation_keeps_the_placeholders_of_its_original():
    catalogue = swahili_catalogue()
    assert list(catalogue.check()) == []  # Babel's own checks: python-format and plural forms
    wrong = []
    for message in catalogue:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not message.id or not any(strings):  # untranslated (staff pages fall back to English)
            continue
        expected = set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != expected:
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert wrong == []


def test_translations_add_no_markup():
    """Templates output translations as they are (Jinja's i18n treats them as safe HTML): a tag or an
    entity can only come from the original, through a placeholder."""
    marked = [f"{m.id!r} -> {m.string!r}" for m in swahili_catalogue() if m.id and m.string
              and re.search(r"[<>&\"]", "".join(m.string if isinstance(m.string, tuple) else (m.string,)))]
    assert marked == []


def test_the_catalogues_compile_and_hold_the_translations(tmp_path):
    shutil.copytree(ROOT / "translations", tmp_path / "translations", ignore=shutil.ignore_patterns("*.mo"))
    directory = compile_catalogues(tmp_path / "translations")
    assert directory == tmp_path / "translations"
    for language in ("en", "sw"):
        assert (directory / language / "LC_MESSAGES" / "messages.mo").stat().st_size > 0
    with (directory / "sw" / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
        compiled = read_mo(mo)
    assert compiled["Book an appointment"].string == "Weka miadi"
    assert len([m for m in compiled if m.id]) == len([m for m in swahili_catalogue() if m.id and m.string])


def test_a_catalogue_edited_after_compiling_is_compiled_again(tmp_path):
    shutil.copytree(ROOT / "translations", tmp_path / "translations", ignore=shutil.ignore_patterns("*.mo"))
    po = tmp_path / "translations" / "sw" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    compile_catalogues(tmp_path / "translations")
    po.write_text(po.read_text().replace('msgstr "Weka miadi"', 'msgstr "Panga miadi"'))
    os.utime(mo, (mo.stat().st_mtime - 10, mo.stat().st_mtime - 10))  # the .po is now the newer one
    compile_catalogues(tmp_path / "translations")
    with mo.open("rb") as source:
        assert read_mo(source)["Book an appointment"].string == "Panga miadi"


def test_a_checkout_it_cannot_write_to_compiles_elsewhere(tmp_path):
    """A read-only deploy still gets Swahili: the catalogues are compiled into a folder of its own."""
    shutil.copytree(ROOT / "translations", tmp_path / "translations", ignore=shutil.ignore_patterns("*.mo"))
    po = tmp_path / "translations" / "sw" / "LC_MESSAGES" / "messages.po"
    blocked = po.with_suffix(".mo")
    blocked.mkdir()  # no file can be put there (root included), and it looks older than the .po
    os.utime(blocked, (po.stat().st_mtime - 10, po.stat().st_mtime - 10))
    directory = compile_catalogues(tmp_path / "translations")
    try:
        assert directory != tmp_path / "translations"
        with (directory / "sw" / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
            assert read_mo(mo)["Sign in"].string == "Ingia"
    finally:
        shutil.rmtree(directory)
