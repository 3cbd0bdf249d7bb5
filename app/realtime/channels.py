"""Who may listen to which channel. Each domain declares its kinds of channel and who may listen
(`channel_kind_register`, called from create_app: scheduling's are in app/scheduling/channels.py);
realtime knows none of them. A channel name is "<kind>:<id>" for a numbered kind, the kind alone
("clinic") for one without an id.

Names come from the browser (the live socket's query string), so there is one parser, and it is
strict: a kind is lowercase ASCII letters and registered; an id is plain ASCII digits with no sign,
space or leading zero ("²", "١", "+3", " 3" and "03" name no channel). Anything else is refused,
never half-understood.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable

_KIND = re.compile(r"[a-z]+")
# One number per id: the ids are INTEGER columns (9 digits stay far below 2**31).
_NAME = re.compile(r"([a-z]+)(?::([1-9][0-9]{0,8}))?")


@dataclasses.dataclass(frozen=True)
class ChannelKind:
    name: str
    numbered: bool                               # "doctor:<id>"; False: the bare name ("clinic")
    may_listen: Callable[[Any, int | None], bool]  # (user, id or None) -> may this user listen?


_kinds: dict[str, ChannelKind] = {}


def channel_kind_register(name: str, *, numbered: bool, may_listen: Callable[[Any, int | None], bool]) -> None:
    """Declare a kind of channel and who may listen. The same declaration again (another create_app
    in the process) changes nothing; another rule for a kind already declared is refused, so no
    domain can widen who listens to another's channel."""
    if not _KIND.fullmatch(name):
        raise ValueError(f"a channel kind is lowercase ASCII letters, not {name!r}")
    kind = ChannelKind(name, numbered, may_listen)
    if _kinds.setdefault(name, kind) != kind:
        raise ValueError(f"the channel kind {name!r} is already declared with another listen rule")


def channel_parse(name: str) -> tuple[str, int | None] | None:
    """("clinic", None), ("doctor", 3) or ("patient", 7); None for anything that is not a channel."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    kind, ident = _kinds.get(match.group(1)), match.group(2)
    if kind is None or kind.numbered != (ident is not None):
        return None
    return kind.name, int(ident) if ident is not None else None


def may_listen(user, channel: str) -> bool:
    parsed = channel_parse(channel)
    if parsed is None:
        return False
    kind, ident = parsed
    return bool(_kinds[kind].may_listen(user, ident))
