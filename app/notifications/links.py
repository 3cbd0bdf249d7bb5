"""Where an in-app message leads: "open the appointment" from its notice.

A message's dedupe key names its cause ("appt:42:moved:doctor"): the domain that writes a kind of
notice registers, for its prefix, where that thing opens for a reader of a given role (create_app
wires it, see register_hooks). The link is worked out when the inbox is shown, so no link is stored:
messages written before a page moved still lead to the right place, and a reader only ever gets a
link for their own role (the page it opens still decides what they may see).
"""
from __future__ import annotations

from typing import Callable

from app.notifications.models import Notification

Linker = Callable[[str, int], "str | None"]  # (reader's role, the thing's id) -> URL or None
_linkers: dict[str, Linker] = {}


def linker_register(prefix: str, linker: Linker) -> None:
    _linkers[prefix] = linker


def message_link(note: Notification, *, role: str) -> str | None:
    prefix, _, rest = note.dedupe_key.partition(":")
    thing_id = rest.partition(":")[0]
    linker = _linkers.get(prefix)
    if linker is None or not thing_id.isdigit():
        return None
    return linker(role, int(thing_id))
