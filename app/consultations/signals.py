"""What a browser may send on the room's socket, checked before anything is done with it.

Signalling (offer, answer, ICE candidates, the "join"/"here" that tells a peer to begin) is relayed
to the other member as it came, once its shape and size are right; anything else is refused with
an error message on the socket, which stays open.
"""
from __future__ import annotations

import json
import math

SDP_MAX = 16_000        # a 1:1 audio+video offer is 3–6 KB
CANDIDATE_MAX = 1_000   # one ICE candidate line is about 100–200 bytes
DESCRIPTION_TYPES = {"offer", "answer", "rollback"}
PRESENCE = {"join", "here", "bye"}


def parse(data: str | bytes) -> dict | None:
    """A client message as a JSON object with a string "type"; None for anything else."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        message = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None
    return message


def _short_str(value, limit: int, *, optional: bool = False) -> bool:
    if value is None:
        return optional
    return isinstance(value, str) and len(value) <= limit


def signal_clean(data) -> dict | None:
    """The signal to relay (only the fields a peer needs), or None when it is not one."""
    if not isinstance(data, dict):
        return None
    if "presence" in data:
        return {"presence": data["presence"]} if data["presence"] in PRESENCE else None
    if "description" in data:
        description = data["description"]
        if not isinstance(description, dict) or description.get("type") not in DESCRIPTION_TYPES:
            return None
        if not _short_str(description.get("sdp", ""), SDP_MAX):
            return None
        return {"description": {"type": description["type"], "sdp": description.get("sdp", "")}}
    if "candidate" in data:
        candidate = data["candidate"]
        if not isinstance(candidate, dict) or not _short_str(candidate.get("candidate"), CANDIDATE_MAX):
            return None
        mid, index = candidate.get("sdpMid"), candidate.get("sdpMLineIndex")
        if not _short_str(mid, 32, optional=True) or not _short_str(candidate.get("usernameFragment"), 256, optional=True):
            return None
        if index is not None and (not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 64):
            return None
        return {"candidate": {"candidate": candidate["candidate"], "sdpMid": mid, "sdpMLineIndex": index,
                              "usernameFragment": candidate.get("usernameFragment")}}
    return None


# A quality sample: each figure a finite number in its range, or null when the browser cannot tell.
QUALITY_RANGES = {"rtt": (0, 60_000), "loss": (0, 100), "bitrate": (0, 100_000), "fps": (0, 120)}
QUALITY_LEVELS = range(0, 4)  # 0: the starting picture .. 3: audio only


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def quality_clean(data) -> dict | None:
    """A quality sample to keep ({rtt, loss, bitrate, fps, level, audioOnly}), or None when it is not one."""
    if not isinstance(data, dict):
        return None
    sample = {}
    for name, (low, high) in QUALITY_RANGES.items():
        value = data.get(name)
        if value is not None and not (_number(value) and low <= value <= high):
            return None
        sample[name] = value
    level, audio_only = data.get("level"), data.get("audioOnly", False)
    if not (_number(level) and int(level) == level and level in QUALITY_LEVELS) or not isinstance(audio_only, bool):
        return None
    sample["level"], sample["audioOnly"] = int(level), audio_only
    return sample
