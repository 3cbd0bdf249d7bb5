"""Form helpers shared by every domain."""
from __future__ import annotations

from wtforms.fields.choices import SelectChoice


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms' SelectChoice (plain tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]
