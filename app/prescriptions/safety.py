"""The checks at the moment of prescribing, run here against the seeded formulary (no outside
service that can vanish): allergy (to the drug or its class), duplicate therapy, interactions, dose
outside the usual adult range. Each is a warning the prescriber may override with a reason, except a
documented severe allergy to the drug or its class: a hard stop.

Allergies and current medicines are free text on the chart ("Penicillin", "sulfa drugs", "Coartem"),
so they are resolved to formulary medicines and drug classes by words: a word of four letters or
more matches the start of a medicine's or a class's name (either way round: "penicillin" matches
"Penicillins"), plus a few words clinicians use for whole classes (SYNONYMS)."""
from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

from flask_babel import gettext as _

from app.prescriptions.models import DrugClass, Interaction, Medicine

SYNONYMS = {
    "sulfa": "sulfonamides", "sulpha": "sulfonamides", "septrin": "sulfonamides", "cotrimoxazole": "sulfonamides",
    "aspirin": "salicylates", "nsaid": "nsaids", "nsaids": "nsaids", "codeine": "opioids", "opiate": "opioids",
    "opiates": "opioids", "coartem": "artemisinins", "cephalosporin": "cephalosporins", "statin": "statins",
    "penicillin": "penicillins", "quinolone": "fluoroquinolones", "warfarin": "coumarins",
}
# Umbrella classes say nothing about an allergy on their own (a penicillin allergy is not an
# allergy to every beta-lactam): a medicine named in an allergy stands for its first, precise class.
MIN_WORD = 4


@dataclasses.dataclass(frozen=True)
class Finding:
    kind: str          # allergy | duplicate | interaction | dose
    key: str           # stable while the same prescription is checked again: the override's name
    message: str
    hard_stop: bool = False


@dataclasses.dataclass(frozen=True)
class Allergy:
    substance: str
    severity: str | None


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", (text or "").casefold()) if len(w) >= MIN_WORD or w in SYNONYMS]


def _matches(word: str, name: str) -> bool:
    return any(part.startswith(word) or (word.startswith(part) and len(part) >= MIN_WORD)
               for part in re.findall(r"[a-z]+", name.casefold()))


class Resolver:
    """Free text to formulary medicines and classes."""

    def __init__(self, medicines: list[Medicine], classes: list[DrugClass]) -> None:
        self.medicines, self.classes = medicines, classes
        self.class_by_code = {c.code: c for c in classes}

    def medicines_named(self, text: str) -> list[Medicine]:
        words = _words(text)
        return [m for m in self.medicines if words and any(_matches(w, m.name) for w in words)]

    def classes_named(self, text: str) -> set[int]:
        found = set()
        for word in _words(text):
            if word in SYNONYMS and SYNONYMS[word] in self.class_by_code:
                found.add(self.class_by_code[SYNONYMS[word]].id)
            found |= {c.id for c in self.classes if _matches(word, c.name) or c.code.startswith(word)}
        for medicine in self.medicines_named(text):
            if medicine.classes:
                found.add(medicine.classes[0].id)
        return found


def _primary(medicine: Medicine) -> set[int]:
    return {medicine.classes[0].id} if medicine.classes else set()


@dataclasses.dataclass(frozen=True)
class Item:
    medicine: Medicine
    dose: Decimal | None


def check(*, items: list[Item], allergies: list[Allergy], current: list[str], resolver: Resolver,
          interactions: list[Interaction]) -> list[Finding]:
    """Every finding for these items, given the patient's active allergies and current medicines
    (free text from the chart and open prescriptions)."""
    findings: list[Finding] = []
    for index, item in enumerate(items):
        findings += _allergy(index, item.medicine, allergies, resolver)
        findings += _dose(index, item)
    current_medicines = [(text, m) for text in current for m in resolver.medicines_named(text)[:1]]
    for index, item in enumerate(items):
        for text, other in current_medicines:
            findings += _duplicate(index, item.medicine, other, text)
        for other_index, other in enumerate(items[:index]):
            findings += _duplicate(index, item.medicine, other.medicine, other.medicine.label, other_index)
    pairs = {(min(i.class_a_id, i.class_b_id), max(i.class_a_id, i.class_b_id)): i for i in interactions}
    for index, item in enumerate(items):
        others = [(text, m) for text, m in current_medicines] + [(o.medicine.label, o.medicine) for o in items[:index]]
        for text, other in others:
            for a in item.medicine.classes:
                for b in other.classes:
                    found = pairs.get((min(a.id, b.id), max(a.id, b.id)))
                    if found is not None:
                        findings.append(Finding(
                            "interaction", f"interaction-{index}-{found.id}-{other.id}",
                            _("Interaction (%(severity)s): %(medicine)s with %(other)s. %(advice)s",
                              severity=found.severity, medicine=item.medicine.name, other=text, advice=found.advice)))
    return _unique(findings)


def _allergy(index: int, medicine: Medicine, allergies: list[Allergy], resolver: Resolver) -> list[Finding]:
    findings = []
    own_classes = {c.id for c in medicine.classes}
    for number, allergy in enumerate(allergies):
        by_name = medicine in resolver.medicines_named(allergy.substance)
        by_class = bool(own_classes & resolver.classes_named(allergy.substance))
        if not (by_name or by_class):
            continue
        severe = allergy.severity == "severe"
        what = _("Documented severe allergy to %(substance)s") if severe else _("Documented allergy to %(substance)s")
        message = (what % {"substance": allergy.substance}) + ": " + (
            _("%(medicine)s is that medicine.", medicine=medicine.name) if by_name else
            _("%(medicine)s is in the same class.", medicine=medicine.name))
        if severe:
            message += " " + _("It cannot be prescribed; choose another medicine.")
        findings.append(Finding("allergy", f"allergy-{index}-{number}", message, hard_stop=severe))
    return findings


def _duplicate(index: int, medicine: Medicine, other: Medicine, other_text: str,
               other_index: int | None = None) -> list[Finding]:
    if medicine.id != other.id and not (_primary(medicine) & _primary(other)):
        return []
    key = f"duplicate-{index}-{other.id}" + ("" if other_index is None else f"-new{other_index}")
    return [Finding("duplicate", key, _("Duplicate therapy: %(medicine)s with %(other)s, already taken or prescribed.",
                                        medicine=medicine.name, other=other_text))]


def _dose(index: int, item: Item) -> list[Finding]:
    medicine = item.medicine
    if item.dose is None or medicine.dose_min <= item.dose <= medicine.dose_max:
        return []
    return [Finding("dose", f"dose-{index}", _(
        "Dose outside the usual adult range: %(dose)s %(unit)s of %(medicine)s (usually %(low)s to %(high)s %(unit)s).",
        dose=_plain(item.dose), unit=medicine.dose_unit, medicine=medicine.name, low=_plain(medicine.dose_min),
        high=_plain(medicine.dose_max)))]


def _plain(number: Decimal) -> str:
    return format(Decimal(number).normalize(), "f")


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for finding in findings:
        if finding.key not in seen:
            seen.add(finding.key)
            out.append(finding)
    return out
