"""Checkpoints: the audit chain's tail, anchored outside the database.

The chain shows a row changed, removed or inserted between others, but not the newest rows deleted
with `audit_chain_head` moved back: what is left is a shorter chain that verifies. So the periodic
sweep (when the chain advanced) and every `flask audit-verify` append the chain's last seq and MAC,
with the time, to AUDIT_CHECKPOINT_PATH: a file the database cannot rewrite (production puts it on
an append-only volume, see README). audit-verify checks the chain against every checkpoint in it.

One JSON line per checkpoint, {"seq", "mac", "at", "sig"}; `sig` is an HMAC-SHA256 of [seq, mac, at]
with a key derived from AUDIT_KEY (not the key itself, so it signs nothing but checkpoints). Lines
are only ever appended: the file is opened with O_APPEND and each line goes out in one write() and
is fsync'd. On a local filesystem the kernel does not interleave one O_APPEND write() with another
(the offset moves and the bytes land under the inode's lock), so two workers writing at once leave
two whole lines; NFS makes no such promise (use a local or block volume).
"""
from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.audit.models import GENESIS_MAC, AuditChainHead, AuditEvent
from app.audit.services import ChainReport, audit_chain_length, audit_chain_verify, audit_key
from app.core.clock import clock
from app.core.hooks import Hook
from app.extensions import db

log = logging.getLogger(__name__)

SIGNING_LABEL = b"myafya audit checkpoint signing key v1"
TAIL_BYTES = 64 * 1024  # the sweep reads only the end of the file for the newest checkpoint
HEX64 = re.compile(r"[0-9a-f]{64}")
LOOKUP_BATCH = 1000
# () -> the active administrators (with .id and .email), who are emailed each checkpoint. Accounts
# answers it (registered by create_app): audit sits below accounts, which audits through it.
active_admins = Hook("the active administrators")


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    seq: int
    mac: str
    at: str  # ISO 8601, UTC


@dataclasses.dataclass
class CheckpointFile:
    checkpoints: list[Checkpoint]
    bad_lines: list[int]  # 1-based line numbers (counted from the start of what was read)

    @property
    def latest(self) -> Checkpoint | None:
        """The checkpoint furthest along the chain (two writers may append out of order)."""
        return max(self.checkpoints, key=lambda c: c.seq, default=None)


def checkpoint_path() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_PATH"])


def _signature(seq: int, mac: str, at: str) -> str:
    key = hmac.new(audit_key(), SIGNING_LABEL, hashlib.sha256).digest()
    message = json.dumps([seq, mac, at], separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def checkpoint_line(checkpoint: Checkpoint) -> bytes:
    fields = dataclasses.asdict(checkpoint)
    fields["sig"] = _signature(checkpoint.seq, checkpoint.mac, checkpoint.at)
    return json.dumps(fields, separators=(",", ":")).encode() + b"\n"


def checkpoint_parse(line: bytes) -> Checkpoint | None:
    """The checkpoint a line holds, or None when it is not one this deployment signed."""
    try:
        fields = json.loads(line)
    except ValueError:
        return None
    if not isinstance(fields, dict) or set(fields) != {"seq", "mac", "at", "sig"}:
        return None
    seq, mac, at, sig = fields["seq"], fields["mac"], fields["at"], fields["sig"]
    if type(seq) is not int or seq < 0 or not isinstance(mac, str) or not HEX64.fullmatch(mac) \
            or not isinstance(at, str) or not isinstance(sig, str):
        return None
    if not hmac.compare_digest(sig, _signature(seq, mac, at)):
        return None
    return Checkpoint(seq, mac, at)


def _parse(data: bytes, *, skip_first: bool = False) -> CheckpointFile:
    lines = data.split(b"\n")
    torn = lines.pop()  # b"" when the data ends with a newline, as every whole line does
    found = CheckpointFile([], [])
    for number, line in enumerate(lines, start=1):
        if skip_first and number == 1:
            continue  # the tail began mid-line
        checkpoint = checkpoint_parse(line)
        if checkpoint is None:
            found.bad_lines.append(number)
        else:
            found.checkpoints.append(checkpoint)
    if torn:
        found.bad_lines.append(len(lines) + 1)
    return found


def checkpoints_read(path: Path) -> CheckpointFile:
    """Every line of the file (none yet: no checkpoints)."""
    try:
        return _parse(path.read_bytes())
    except FileNotFoundError:
        return CheckpointFile([], [])


def checkpoints_tail(path: Path) -> CheckpointFile:
    """The last lines of the file, enough to find the newest checkpoint."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            start = max(0, size - TAIL_BYTES)
            file.seek(start)
            return _parse(file.read(), skip_first=start > 0)
    except FileNotFoundError:
        return CheckpointFile([], [])


def checkpoint_append(checkpoint: Checkpoint, path: Path) -> None:
    """Append one line: O_APPEND, a single write(), fsync. Raises OSError if it did not all land."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = checkpoint_line(checkpoint)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        # Writers on this machine take turns (the torn-line check below reads, then writes); O_APPEND
        # alone keeps whole lines on a local filesystem, not the check-then-write pair.
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # a line torn by a crash stays a (bad) line of its own, not a prefix of ours
        if os.write(fd, line) != len(line):
            raise OSError(errno.ENOSPC, f"short write to {path}")
        os.fsync(fd)
    finally:
        os.close(fd)
    if size == 0:  # a new file: make its name durable too
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def checkpoint_problems(checkpoints: list[Checkpoint]) -> list[str]:
    """What the database lacks or has changed since these checkpoints were written (nothing: [])."""
    if not checkpoints:
        return []
    problems = []
    stored_to = audit_chain_length()
    beyond = [c for c in checkpoints if c.seq > stored_to]
    if beyond:
        newest = max(beyond, key=lambda c: c.seq)
        problems.append(f"rows {stored_to + 1}..{newest.seq} are missing (checkpoint of {newest.at})")
    within = sorted((c for c in checkpoints if 0 < c.seq <= stored_to), key=lambda c: c.seq)
    seqs = sorted({c.seq for c in within})
    stored: dict[int, str] = {}
    for start in range(0, len(seqs), LOOKUP_BATCH):
        batch = seqs[start:start + LOOKUP_BATCH]
        stored.update(db.session.execute(select(AuditEvent.seq, AuditEvent.mac).where(AuditEvent.seq.in_(batch))).all())
    for checkpoint in within:  # the first one wrong is enough: the chain links everything after it
        mac = stored.get(checkpoint.seq)
        if mac is None:
            problems.append(f"row {checkpoint.seq} is missing (checkpoint of {checkpoint.at})")
            break
        if not hmac.compare_digest(mac, checkpoint.mac):
            problems.append(f"row {checkpoint.seq} differs from the checkpoint of {checkpoint.at}")
            break
    return problems


def checkpoint_record(report: ChainReport, path: Path) -> Checkpoint:
    """Append a checkpoint of a verified chain; with AUDIT_CHECKPOINT_EMAIL, queue it to the admins too."""
    checkpoint = Checkpoint(report.last_seq, report.last_mac, clock.now().replace(microsecond=0).isoformat())
    checkpoint_append(checkpoint, path)
    if current_app.config.get("AUDIT_CHECKPOINT_EMAIL"):
        _email_admins(checkpoint)
    return checkpoint


def _email_admins(checkpoint: Checkpoint) -> None:
    from flask_babel import gettext as _

    from app.core.i18n import in_language
    from app.notifications.models import Channel
    from app.notifications.services import notification_queue

    admins = active_admins()
    line = checkpoint_line(checkpoint).decode().strip()
    for admin in admins:
        with in_language(admin.language):
            notification_queue(
                dedupe_key=f"audit-checkpoint-{checkpoint.seq}-{checkpoint.mac[:16]}-{admin.id}",
                channel=Channel.EMAIL, to_address=admin.email, user_id=admin.id,
                subject=_("Audit checkpoint: row %(seq)s", seq=checkpoint.seq),
                body=_("The audit trail had %(seq)s rows at %(at)s. Keep this email: if rows are ever deleted from "
                       "the database, this line shows what was there.", seq=checkpoint.seq, at=checkpoint.at)
                + f"\n\n{line}\n")


@dataclasses.dataclass
class Verification:
    chain: ChainReport
    path: Path
    bad_lines: list[int]
    problems: list[str]             # what the checkpoints show is missing or changed
    anchor: Checkpoint | None       # the checkpoint furthest along, which the chain matched
    written: Checkpoint | None = None
    write_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.bad_lines and not self.problems and self.write_error is None


def audit_verify() -> Verification:
    """The whole chain, then every checkpoint against it; if all is intact, a fresh checkpoint."""
    path = checkpoint_path()
    found = checkpoints_read(path)
    chain = audit_chain_verify()
    result = Verification(chain, path, found.bad_lines, checkpoint_problems(found.checkpoints), found.latest)
    if result.ok:
        try:
            result.written = checkpoint_record(chain, path)
        except OSError as error:
            result.write_error = f"{error.strerror or error}"
    return result


def audit_checkpoint_if_advanced() -> Checkpoint | None:
    """The sweep: if rows were added since the newest checkpoint, verify just those and write one.

    Never over a chain that contradicts the newest checkpoint: that is logged for audit-verify to report."""
    path = checkpoint_path()
    tail = checkpoints_tail(path)
    if tail.bad_lines:
        log.error("audit checkpoints: %s has lines this app did not write; run `flask audit-verify`", path)
    latest = tail.latest
    head = db.session.get(AuditChainHead, 1, populate_existing=True)
    head_seq, head_mac = (head.last_seq, head.last_mac) if head is not None else (0, GENESIS_MAC)
    if latest is None:
        if head_seq == 0:
            return None
        report = audit_chain_verify()
    else:
        if (latest.seq, latest.mac) == (head_seq, head_mac):
            return None  # the chain has not moved
        problems = checkpoint_problems([latest])
        if problems:
            log.error("audit trail: %s; no checkpoint written, run `flask audit-verify`", problems[0])
            return None
        report = audit_chain_verify(after_seq=latest.seq, after_mac=latest.mac)
    if not report.ok:
        log.error("audit trail broken at row %s: %s; no checkpoint written, run `flask audit-verify`",
                  report.first_bad_seq, report.problem)
        return None
    if latest is not None and report.last_seq == latest.seq:
        return None
    return checkpoint_record(report, path)
