"""Processes the tests start (servers, workers): stopped politely, then for sure."""
from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen, *, grace_seconds: float = 10) -> None:
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
