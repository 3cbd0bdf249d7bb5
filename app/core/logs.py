"""Log lines that nobody can forge: values put into a message (a request path, a header, a typed
email) have their control characters escaped, so a CR/LF in a URL cannot start a fake line."""
from __future__ import annotations

import logging
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
                        text)


def _safe_arg(value):
    if isinstance(value, (int, float)) or value is None:
        return value
    text = value if isinstance(value, str) else str(value)
    if not _CONTROL.search(text):
        return value
    return _escape(text)


def install_safe_log_records() -> None:
    """Every record made in this process, by our code or a library's, has its arguments escaped."""
    current = logging.getLogRecordFactory()
    if getattr(current, "escapes_arguments", False):
        return

    def factory(*args, **kwargs):
        record = current(*args, **kwargs)
        if isinstance(record.args, tuple):
            record.args = tuple(_safe_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _safe_arg(v) for k, v in record.args.items()}
        return record

    factory.escapes_arguments = True
    logging.setLogRecordFactory(factory)
