"""The vital signs a chart records: each one's unit, the range a human reading can fall in (outside
it is a typo, refused by the form and by the service alike) and the usual adult band the trends shade."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Sign:
    name: str
    label: object  # a lazy string: rendered in the reader's language
    unit: str
    low: float
    high: float
    normal: tuple[float, float] | None
    decimals: int = 0

    def clean(self, value) -> int | float:
        """The value as stored: a whole number, or rounded to the sign's decimals."""
        return int(round(float(value))) if self.decimals == 0 else round(float(value), self.decimals)


SIGNS = {sign.name: sign for sign in (
    Sign("systolic", _l("Systolic BP"), "mmHg", 50, 260, (90, 140)),
    Sign("diastolic", _l("Diastolic BP"), "mmHg", 30, 160, (60, 90)),
    Sign("pulse", _l("Pulse"), "/min", 20, 250, (60, 100)),
    Sign("temperature_c", _l("Temperature"), "°C", 30.0, 44.0, (36.1, 37.5), decimals=1),
    Sign("respiratory_rate", _l("Breathing rate"), "/min", 4, 60, (12, 20)),
    Sign("spo2", _l("Oxygen (SpO₂)"), "%", 50, 100, (95, 100)),
    Sign("weight_kg", _l("Weight"), "kg", 0.3, 400.0, None, decimals=1),
    Sign("height_cm", _l("Height"), "cm", 20, 250, None),
)}

VITAL_RANGES = {name: (sign.low, sign.high) for name, sign in SIGNS.items()}
