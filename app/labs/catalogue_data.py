"""The seeded test catalogue: the tests a small clinic's lab runs, their analytes with units, adult
reference ranges by sex and age, critical limits, the sample each needs, how the patient prepares,
the price and the target turnaround.

LOINC codes only where we are sure of them (blank otherwise: never a guessed code). Ranges are the
common adult textbook intervals; a clinic edits its own on the admin's catalogue pages (the seed
changes only by a new migration).

Plain data, imported by the migration that seeds it and by the demo."""
from __future__ import annotations

ANY = None  # a range that holds for either sex

# Sample types: code -> label key (app/labs/models.py SampleType labels them).
EDTA, SERUM, FLUORIDE, CAPILLARY, URINE = "edta_blood", "serum", "fluoride_blood", "capillary_blood", "urine"


def _n(code, name, unit, ranges, *, loinc="", critical=(None, None), decimals=1):
    """A numeric analyte. ranges: [(sex, age_min, age_max, low, high)], ages in whole years."""
    return {"code": code, "name": name, "loinc": loinc, "kind": "number", "unit": unit, "decimals": decimals,
            "ranges": [{"sex": sex, "age_min": a, "age_max": b, "low": low, "high": high}
                       for sex, a, b, low, high in ranges],
            "critical_low": critical[0], "critical_high": critical[1], "choices": None, "abnormal": None}


def _c(code, name, choices, abnormal, *, loinc=""):
    """An analyte answered by a choice (an RDT's "positive"/"negative"); `abnormal`: the flagged answers."""
    return {"code": code, "name": name, "loinc": loinc, "kind": "choice", "unit": None, "decimals": 0, "ranges": [],
            "critical_low": None, "critical_high": None, "choices": list(choices), "abnormal": list(abnormal)}


ADULT = 18
OLD = 130
POS_NEG = ("negative", "positive")
DIPSTICK = ("negative", "trace", "1+", "2+", "3+")

# (code, name, loinc, sample type, fasting hours, preparation, price in cents, target turnaround in minutes, analytes)
TESTS = [
    ("FBC", "Full blood count", "58410-2", EDTA, None, "", 80000, 120, [
        _n("HGB", "Haemoglobin", "g/dL", [("female", ADULT, OLD, 12.0, 15.5), ("male", ADULT, OLD, 13.5, 17.5),
                                           (ANY, 0, ADULT, 11.0, 15.5)], loinc="718-7", critical=(7.0, 20.0)),
        _n("HCT", "Haematocrit", "%", [("female", ADULT, OLD, 36, 46), ("male", ADULT, OLD, 41, 53),
                                       (ANY, 0, ADULT, 33, 45)], loinc="4544-3", critical=(20, 60), decimals=0),
        _n("WBC", "White cells", "10^9/L", [(ANY, 0, OLD, 4.0, 11.0)], loinc="6690-2", critical=(2.0, 30.0)),
        _n("PLT", "Platelets", "10^9/L", [(ANY, 0, OLD, 150, 400)], loinc="777-3", critical=(50, 1000), decimals=0),
        _n("RBC", "Red cells", "10^12/L", [("female", ADULT, OLD, 3.9, 5.0), ("male", ADULT, OLD, 4.5, 5.9),
                                           (ANY, 0, ADULT, 3.9, 5.3)], loinc="789-8", decimals=2),
        _n("MCV", "Mean cell volume", "fL", [(ANY, 0, OLD, 80, 100)], loinc="787-2", decimals=0),
    ]),
    ("MAL-RDT", "Malaria rapid diagnostic test", "", CAPILLARY, None, "", 30000, 30, [
        _c("PF", "Plasmodium falciparum antigen", POS_NEG, ("positive",)),
    ]),
    ("MAL-SMEAR", "Malaria blood smear", "", EDTA, None, "", 40000, 90, [
        _c("SMEAR", "Malaria parasites seen", ("none seen", "P. falciparum", "P. vivax", "P. ovale", "P. malariae",
                                               "mixed"), ("P. falciparum", "P. vivax", "P. ovale", "P. malariae",
                                                          "mixed")),
        _n("PARASITES", "Parasite density", "/uL", [(ANY, 0, OLD, 0, 0)], decimals=0, critical=(None, 100000)),
    ]),
    ("HBA1C", "HbA1c", "4548-4", EDTA, None, "", 150000, 240, [
        _n("HBA1C", "HbA1c", "%", [(ANY, 0, OLD, 4.0, 5.6)], loinc="4548-4"),
    ]),
    ("FBS", "Fasting blood glucose", "", FLUORIDE, 8,
     "Nothing to eat or drink except water for 8 hours before the sample.", 30000, 60, [
        _n("GLU", "Glucose (fasting)", "mmol/L", [(ANY, 0, OLD, 3.9, 5.5)], loinc="14749-6", critical=(2.5, 25.0)),
    ]),
    ("LIPID", "Lipid panel", "24331-1", SERUM, 10,
     "Nothing to eat or drink except water for 10 to 12 hours before the sample.", 150000, 240, [
        _n("CHOL", "Total cholesterol", "mg/dL", [(ANY, 0, OLD, 0, 200)], loinc="2093-3", decimals=0),
        _n("HDL", "HDL cholesterol", "mg/dL", [("female", 0, OLD, 50, 200), ("male", 0, OLD, 40, 200)],
           loinc="2085-9", decimals=0),
        _n("LDL", "LDL cholesterol (calculated)", "mg/dL", [(ANY, 0, OLD, 0, 130)], loinc="13457-7", decimals=0),
        _n("TG", "Triglycerides", "mg/dL", [(ANY, 0, OLD, 0, 150)], loinc="2571-8", decimals=0,
           critical=(None, 1000)),
    ]),
    ("URINE", "Urinalysis (dipstick)", "24357-6", URINE, None,
     "Bring a midstream urine sample in the pot the lab gives you, or give it at the lab.", 30000, 60, [
        _c("PROTEIN", "Protein", DIPSTICK, DIPSTICK[1:], loinc="20454-5"),
        _c("GLUCOSE", "Glucose", DIPSTICK, DIPSTICK[1:], loinc="25428-4"),
        _c("LEUK", "Leukocyte esterase", DIPSTICK, DIPSTICK[1:], loinc="5799-2"),
        _c("NITRITE", "Nitrite", POS_NEG, ("positive",), loinc="5802-4"),
        _n("PH", "pH", "[pH]", [(ANY, 0, OLD, 4.5, 8.0)], loinc="5803-2"),
        _n("SG", "Specific gravity", "", [(ANY, 0, OLD, 1.005, 1.030)], loinc="5811-5", decimals=3),
    ]),
    ("HIV", "HIV rapid test", "", CAPILLARY, None, "", 0, 30, [
        _c("HIV", "HIV-1/2 antibodies", ("non-reactive", "reactive", "inconclusive"), ("reactive", "inconclusive")),
    ]),
    ("CREAT", "Creatinine", "", SERUM, None, "", 60000, 240, [
        _n("CREAT", "Creatinine", "umol/L", [("female", ADULT, OLD, 45, 90), ("male", ADULT, OLD, 60, 110),
                                              (ANY, 0, ADULT, 20, 80)], loinc="14682-9", critical=(None, 700),
           decimals=0),
    ]),
    ("LFT", "Liver panel", "24325-3", SERUM, None, "", 180000, 240, [
        _n("ALT", "ALT", "U/L", [(ANY, 0, OLD, 7, 56)], loinc="1742-6", decimals=0, critical=(None, 1000)),
        _n("AST", "AST", "U/L", [(ANY, 0, OLD, 8, 48)], loinc="1920-8", decimals=0, critical=(None, 1000)),
        _n("ALP", "Alkaline phosphatase", "U/L", [(ANY, ADULT, OLD, 40, 129), (ANY, 0, ADULT, 40, 400)],
           loinc="6768-6", decimals=0),
        _n("TBIL", "Bilirubin, total", "umol/L", [(ANY, 0, OLD, 3, 21)], decimals=0, critical=(None, 300)),
        _n("ALB", "Albumin", "g/L", [(ANY, 0, OLD, 35, 50)], decimals=0),
    ]),
    ("PREG", "Pregnancy test (urine hCG)", "2106-3", URINE, None,
     "Bring the first urine of the morning if you can.", 20000, 30, [
        _c("HCG", "hCG", POS_NEG, (), loinc="2106-3"),
    ]),
]


def rows() -> dict[str, list[dict]]:
    """The seed as rows per table, with explicit ids (tests and analytes numbered from 1)."""
    tests, analytes = [], []
    for test_id, (code, name, loinc, sample, fasting, preparation, price, turnaround, items) in enumerate(TESTS, 1):
        tests.append({"id": test_id, "code": code, "name": name, "loinc": loinc or None, "sample_type": sample,
                      "fasting_hours": fasting, "preparation": preparation or None, "price_cents": price,
                      "turnaround_minutes": turnaround, "active": True})
        for position, analyte in enumerate(items):
            analytes.append({"id": len(analytes) + 1, "test_id": test_id, "position": position,
                             **{**analyte, "loinc": analyte["loinc"] or None}})
    return {"lab_tests": tests, "lab_analytes": analytes}
