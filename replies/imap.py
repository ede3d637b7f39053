"""Replies by email from an IMAP mailbox: fetch each message, hand it to receive(), then file it away.

The order is what makes it safe. A message is fetched with BODY.PEEK[] (it
stays unseen), given to ``replies.inbound.receive``, and moved to the
processed folder only after receive() has returned, that is after the post
is committed. A worker killed between the two leaves the message in the
inbox; the next poll hands it to receive() again, which recognises the
Message-ID and posts nothing new, and then moves it. A message receive()
raises on stays in the inbox for the next poll; after
REPLY_IMAP_MAX_FAILURES such polls it goes to the failed folder, where a
person can look at it. A database outage is not the message's fault: the
poll stops there and counts nothing.

One poll runs at a time (a cache lock). The lock fails open when Redis is
down (core/cache.py), and two polls at once are still safe: receive() is
idempotent per Message-ID and moving a message twice finds it gone.
"""

from __future__ import annotations

import imaplib
import logging
import re
import secrets
import ssl
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from core.cache import OUTAGE
from replies import inbound
from replies.inbound import Receipt

log = logging.getLogger(__name__)

# Longer than a poll may take (POLL_SECONDS plus one message), shorter than
# the task's time limit, so a killed worker blocks polling for minutes, not forever.
LOCK_SECONDS = 240
POLL_SECONDS = 120  # stop taking new messages after this; the rest wait a minute for the next poll
MAX_PER_POLL = 200
# A message is read into memory whole: anything bigger than mail services send
# (Gmail and Outlook stop at 25 MB) goes to the failed folder unread.
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
TIMEOUT_SECONDS = 30  # per IMAP round trip
FAILURES_KEEP_SECONDS = 30 * 24 * 3600


class MailboxError(Exception):
    """The IMAP server said NO or BAD to something the poll needs."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    use_ssl: bool = True
    ca_file: str = ""
    max_failures: int = 5

    @classmethod
    def from_settings(cls) -> ImapConfig:
        return cls(
            host=settings.REPLY_IMAP_HOST,
            port=settings.REPLY_IMAP_PORT,
            user=settings.REPLY_IMAP_USER,
            password=settings.REPLY_IMAP_PASSWORD,
            folder=settings.REPLY_IMAP_FOLDER,
            processed_folder=settings.REPLY_IMAP_PROCESSED_FOLDER,
            failed_folder=settings.REPLY_IMAP_FAILED_FOLDER,
            use_ssl=settings.REPLY_IMAP_SSL,
            ca_file=settings.REPLY_IMAP_CA_FILE,
            max_failures=settings.REPLY_IMAP_MAX_FAILURES,
        )


@dataclass
class PollResult:
    busy: bool = False  # another poll held the lock: this one did nothing
    received: int = 0  # receive() returned (posted, refused or ignored as a duplicate)
    outcomes: Counter[str] = field(default_factory=Counter)  # by outcome_of()
    moved: int = 0
    failed: int = 0  # receive() raised; left in the folder for the next poll
    gave_up: int = 0  # moved to the failed folder after max_failures
    too_large: int = 0  # moved to the failed folder unread (MAX_MESSAGE_BYTES)
    stopped_by_outage: bool = False


def quoted(folder: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends names as given; a space would split them)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(response: tuple[str, list[Any]], what: str) -> list[Any]:
    status, data = response
    if status != "OK":
        raise MailboxError(f"{what}: {status} {data!r}")
    return data


class Mailbox:
    """One logged-in IMAP session on the reply mailbox."""

    def __init__(self, client: imaplib.IMAP4, config: ImapConfig) -> None:
        self.client = client
        self.config = config
        capabilities = _ok(client.capability(), "CAPABILITY")  # after login: the server's full list
        self.capabilities = set(b" ".join(capabilities).decode().upper().split())

    @classmethod
    def open(cls, config: ImapConfig) -> Mailbox:
        context = ssl.create_default_context()
        if config.ca_file:
            context.load_verify_locations(config.ca_file)  # besides the system's trusted CAs
        client: imaplib.IMAP4
        if config.use_ssl:
            client = imaplib.IMAP4_SSL(config.host, config.port, ssl_context=context, timeout=TIMEOUT_SECONDS)
        else:
            client = imaplib.IMAP4(config.host, config.port, timeout=TIMEOUT_SECONDS)
            client.starttls(ssl_context=context)  # raises if the server offers none: never log in in plain text
        try:
            client.login(config.user, config.password)
            return cls(client, config)
        except BaseException:
            client.shutdown()
            raise

    def supports_move(self) -> bool:
        return "MOVE" in self.capabilities

    def ensure_folders(self) -> None:
        for folder in (self.config.processed_folder, self.config.failed_folder):
            self.client.create(quoted(folder))  # NO [ALREADYEXISTS] on every poll but the first

    def select(self) -> str:
        """Open the inbox for writing; returns its UIDVALIDITY (UIDs mean something only together with it)."""
        _ok(self.client.select(quoted(self.config.folder)), f"IMAP SELECT {self.config.folder}")
        _, values = self.client.response("UIDVALIDITY")
        if not self.supports_move():
            # Messages a killed poll copied and flagged \Deleted but did not expunge: already filed.
            self.client.expunge()
        return (values[0] or b"").decode() if values else ""

    def uids(self) -> list[str]:
        """The messages waiting, oldest first (a message flagged \\Deleted is already filed)."""
        data = _ok(self.client.uid("SEARCH", "UNDELETED"), "UID SEARCH")
        return sorted(data[0].decode().split(), key=int) if data and data[0] else []

    def size(self, uid: str) -> int | None:
        """The message's size in bytes; None if it is gone (another poll moved it)."""
        data = _ok(self.client.uid("FETCH", uid, "(RFC822.SIZE)"), f"UID FETCH {uid} size")
        for part in data:
            found = re.search(rb"RFC822\.SIZE (\d+)", part if isinstance(part, bytes) else b"")
            if found:
                return int(found.group(1))
        return None

    def fetch(self, uid: str) -> bytes | None:
        """The message exactly as stored, without setting \\Seen; None if it is gone (another poll moved it)."""
        data = _ok(self.client.uid("FETCH", uid, "(BODY.PEEK[])"), f"UID FETCH {uid}")
        for part in data:
            if isinstance(part, tuple):
                raw: bytes = part[1]
                return raw
        return None

    def move(self, uid: str, folder: str) -> None:
        if self.supports_move():
            _ok(self.client.uid("MOVE", uid, quoted(folder)), f"UID MOVE {uid}")
            return
        _ok(self.client.uid("COPY", uid, quoted(folder)), f"UID COPY {uid}")
        _ok(self.client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), f"UID STORE {uid}")
        if "UIDPLUS" in self.capabilities:
            _ok(self.client.uid("EXPUNGE", uid), f"UID EXPUNGE {uid}")
        else:
            _ok(self.client.expunge(), "EXPUNGE")

    def close(self) -> None:
        try:
            self.client.logout()
        except (imaplib.IMAP4.error, OSError):
            self.client.shutdown()


def outcome_of(receipt: Receipt) -> str:
    """posted, refused or ignored; "duplicate" for a message receive() had already taken."""
    return "duplicate" if receipt.duplicate else str(receipt.outcome)


def lock_key(config: ImapConfig) -> str:
    """One poll at a time per mailbox."""
    return f"replies:imap-poll:{config.user}@{config.host}:{config.port}/{config.folder}"


def poll(
    config: ImapConfig | None = None,
    *,
    after_receive: Callable[[str, Receipt], None] | None = None,
) -> PollResult:
    """Take every message waiting in the reply mailbox once. IMAP and network errors propagate.

    ``after_receive(uid, receipt)`` runs after receive() returned and before the
    move: the tests kill the process there.
    """
    config = config or ImapConfig.from_settings()
    token, lock = secrets.token_hex(8), lock_key(config)
    if not cache.add(lock, token, timeout=LOCK_SECONDS):
        log.info("reply mailbox: another poll is running")
        return PollResult(busy=True)
    result = PollResult()
    deadline = time.monotonic() + POLL_SECONDS
    try:
        mailbox = Mailbox.open(config)
        try:
            mailbox.ensure_folders()
            validity = mailbox.select()
            for uid in mailbox.uids()[:MAX_PER_POLL]:
                if time.monotonic() > deadline:
                    break
                size = mailbox.size(uid)
                if size is None:
                    continue
                if size > MAX_MESSAGE_BYTES:
                    mailbox.move(uid, config.failed_folder)
                    result.too_large += 1
                    log.error(
                        "reply mailbox: message uid %s of %s bytes moved to %s unread", uid, size, config.failed_folder
                    )
                    continue
                raw = mailbox.fetch(uid)
                if raw is None:
                    continue
                failures_key = f"replies:imap-failures:{config.user}:{config.folder}:{validity}:{uid}"
                try:
                    receipt = inbound.receive(raw, source="imap")
                except (OperationalError, InterfaceError):
                    # The database is away: every message would fail alike. Stop; count nothing.
                    log.warning("reply mailbox: database unavailable, poll stopped", exc_info=True)
                    result.stopped_by_outage = True
                    break
                except Exception:
                    result.failed += 1
                    failures = _count_failure(failures_key)
                    log.exception("reply mailbox: message uid %s failed (%s of %s)", uid, failures, config.max_failures)
                    if failures >= config.max_failures:
                        mailbox.move(uid, config.failed_folder)
                        cache.delete(failures_key)
                        result.gave_up += 1
                        log.error("reply mailbox: message uid %s moved to %s", uid, config.failed_folder)
                    continue
                result.received += 1
                result.outcomes[outcome_of(receipt)] += 1
                if after_receive is not None:
                    after_receive(uid, receipt)
                mailbox.move(uid, config.processed_folder)
                cache.delete(failures_key)
                result.moved += 1
        finally:
            mailbox.close()
    finally:
        if cache.get(lock) == token:
            cache.delete(lock)
    return result


def _count_failure(key: str) -> int:
    """How many polls this message has failed, this one included (kept in the cache for a month)."""
    cache.add(key, 0, timeout=FAILURES_KEEP_SECONDS)
    try:
        return cache.incr(key)
    except (ValueError, *OUTAGE):  # the key vanished between add and incr, or the cache is down: count this one
        cache.set(key, 1, timeout=FAILURES_KEEP_SECONDS)
        return 1
