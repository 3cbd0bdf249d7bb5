"""The consultations domain's live channels, declared with the hub by create_app:

- "room:<consultation id>": one video room's signalling, chat and state events, for its patient
  and its doctor only (their room socket subscribes to it; the live socket may too, nobody else).
Events say what changed ({"type": "chat", "seq": 4}); message text is read from the database by
each member's socket, through the service that audits it.
"""
from __future__ import annotations

from app.consultations.access import user_may_listen
from app.realtime.channels import channel_kind_register


def room_channel(consultation_id: int) -> str:
    return f"room:{consultation_id}"


def channels_register() -> None:
    channel_kind_register("room", numbered=True, may_listen=user_may_listen)
