"""Mail that answers a notification: read it, decide, and post it as the web's reply form would.

``receive`` is the one way in, for every source (the ESP webhook's Celery task,
a polled mailbox). It is idempotent per Message-ID: the InboundMessage row is
written in the transaction that posts (or refuses, or ignores) the mail, so a
delivery repeated, or a task retried, posts once.

Machine mail is ignored without an answer: auto-submitted, bulk or list mail,
bounces, out-of-office replies, and our own mail come back (a loop). A person's
mail is refused, with one short explanation to a verified address (a few a day
at most), when the sender is not the person the address was made for, or when
the site would refuse the same reply on the web: not a member, banned, the
thread locked or gone, over the posting limit. Otherwise it goes through
``discussions.services.reply`` with the web's checks, limits, hold for review
and notifications; pictures and PDFs attached go through the composer's
checked upload (``attachments.services.upload``) and are added as Markdown.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import parseaddr

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from attachments import services as attachments
from communities import policy
from core import ratelimit
from core.mail import one_line, queue_email
from core.markup import MAX_SOURCE_CHARS, MarkupError
from discussions import services as discussions
from replies import text as texts
from replies import tokens
from replies.models import InboundMessage, ReplyKey

log = logging.getLogger(__name__)

# Our own mail says where it came from (core.mail.build_message); seen coming back, it is a loop.
OWN_HEADER = "X-Copsite"
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")
ATTACHABLE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf")
MAX_ATTACHMENTS = 10
_OUT_OF_OFFICE_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|abwesenheit|"
    r"absence|réponse automatique|respuesta automática|不在)",
    re.IGNORECASE,
)
_DAEMON = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)

Outcome = InboundMessage.Outcome


@dataclass(frozen=True)
class Receipt:
    """What became of one mail: ``outcome`` (posted, refused, ignored), why, and the post made."""

    outcome: str
    reason: str
    message_id: str
    post_id: int | None = None
    duplicate: bool = False
    explained: bool = False


def header(message: EmailMessage, name: str) -> str:
    """A header's value as text, "" when missing or unreadable (a hostile header must not stop the mail)."""
    return next(iter(headers(message, name)), "")


def headers(message: EmailMessage, name: str) -> list[str]:
    """Every value of a header; as written (not decoded) if the parser refuses it (CR/LF in a name…)."""
    try:
        return [str(value) for value in message.get_all(name) or []]
    except (ValueError, TypeError, IndexError, AttributeError):
        return [" ".join(str(value).split()) for key, value in message.raw_items() if key.lower() == name.lower()]


class _Refusal(Exception):
    def __init__(self, reason: str, *, explain: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.explain = explain if explain is not None else reason


def receive(raw: bytes, *, source: str, recipient: str = "") -> Receipt:
    """Take one email (its raw bytes) from ``source`` ("mailgun", "imap", …) and post, refuse or ignore it.

    ``recipient``: the envelope recipient when the source knows it and the headers may not say it.
    Safe to call again with the same mail: the first outcome is returned, marked ``duplicate``.
    """
    message = message_from_bytes(raw, policy=email_policy.default)
    assert isinstance(message, EmailMessage)
    message_id = one_line(header(message, "Message-ID"), 255)
    key = hashlib.sha256((message_id or "").encode() if message_id else raw).hexdigest()
    seen = InboundMessage.objects.filter(key=key).first()
    if seen is not None:
        return _receipt(seen, duplicate=True)
    sender = parseaddr(header(message, "From"))[1].strip().lower()
    try:
        with transaction.atomic():
            record = InboundMessage.objects.create(
                key=key, message_id=message_id, source=source[:40], sender=sender[:254], outcome=Outcome.IGNORED
            )
            return _decide(record, message, sender, recipient)
    except IntegrityError:
        seen = InboundMessage.objects.filter(key=key).first()
        if seen is None:
            raise
        return _receipt(seen, duplicate=True)


def _receipt(record: InboundMessage, *, duplicate: bool = False, explained: bool = False) -> Receipt:
    return Receipt(
        outcome=record.outcome,
        reason=record.reason,
        message_id=record.message_id,
        post_id=record.post_id,
        duplicate=duplicate,
        explained=explained,
    )


def _finish(record: InboundMessage, outcome: str, reason: str, *, explained: bool = False) -> Receipt:
    record.outcome, record.reason = outcome, reason[:300]
    record.save(update_fields=["outcome", "reason", "post", "reply_key"])
    log.info("inbound mail %s: %s (%s)", record.message_id or record.key[:12], outcome, reason)
    return _receipt(record, explained=explained)


def _decide(record: InboundMessage, message: EmailMessage, sender: str, recipient: str) -> Receipt:
    machine = machine_mail(message)
    if machine:
        return _finish(record, Outcome.IGNORED, machine)
    found = _token(message, recipient)
    if found is None:
        return _finish(record, Outcome.IGNORED, "no reply address of this site among the recipients")
    try:
        key = tokens.read(found)
    except tokens.BadToken as exc:
        explained = _explain(
            sender,
            None,
            "This reply address is not valid any more (it may have expired). Please reply on the site instead.",
        )
        return _finish(record, Outcome.REFUSED, str(exc), explained=explained)
    record.reply_key = key
    try:
        post_id = _post(key, message, sender, record.key)
    except _Refusal as refusal:
        explained = _explain(sender, key, refusal.explain)
        return _finish(record, Outcome.REFUSED, refusal.reason, explained=explained)
    record.post_id = post_id
    return _finish(record, Outcome.POSTED, "posted")


# --- Machine mail -------------------------------------------------------------------


def machine_mail(message: EmailMessage) -> str:
    """Why this mail was sent by a machine (and must get no answer), or "" for a person's mail."""
    auto = header(message, "Auto-Submitted").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto[:40]}"
    precedence = header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if message.get_content_type() == "multipart/report" or any(
        part.get_content_type() in ("message/delivery-status", "message/disposition-notification")
        for part in message.walk()
    ):
        return "a delivery report"
    return_path = header(message, "Return-Path").strip()
    if "Return-Path" in message and return_path in ("", "<>"):
        return "an empty Return-Path (a bounce)"
    if _DAEMON.match(parseaddr(return_path)[1] or "") or _DAEMON.match(parseaddr(header(message, "From"))[1]):
        return "from a mailer daemon"
    if any(name in message for name in ("X-Autoreply", "X-Autorespond")):
        return "an automatic reply"
    if _OUT_OF_OFFICE_SUBJECT.match(header(message, "Subject")):
        return "an out-of-office reply"
    if OWN_HEADER in message:
        return "our own mail came back (a loop)"
    received = headers(message, "Received")
    if len(received) > settings.REPLY_MAX_RECEIVED:
        return f"{len(received)} Received headers (a loop)"
    return ""


# --- The reply address --------------------------------------------------------------


def _token(message: EmailMessage, recipient: str) -> str | None:
    texts_seen = [recipient]
    for name in RECIPIENT_HEADERS:
        texts_seen += headers(message, name)
    for text in texts_seen:
        found = tokens.tokens_in(text)
        if found:
            return found[0]
    return None


def _verified_address(user: User, address: str) -> bool:
    return bool(address) and EmailAddress.objects.filter(user=user, email__iexact=address, verified=True).exists()


# --- Posting ------------------------------------------------------------------------


def _post(key: ReplyKey, message: EmailMessage, sender: str, mail_key: str) -> int:
    user = key.user
    if not user.is_active or user.deleted_at is not None:
        raise _Refusal("the account is closed", explain="")
    # The receiving server's verdict, when it gives one: a From its domain disowns is forged.
    if "dmarc=fail" in " ".join(headers(message, "Authentication-Results")).lower():
        raise _Refusal("the From address failed DMARC", explain="")
    if not _verified_address(user, sender):
        raise _Refusal(
            "the sender is not a verified address of the person the reply address was made for",
            explain=(
                "This reply address belongs to someone else's notification, so your message was not posted. "
                "Reply to the email the site sent you, or reply on the site."
            ),
        )
    thread = key.thread
    if not policy.can_view_thread(user, thread):
        raise _Refusal(
            "the thread is gone or no longer visible to them", explain="This thread can no longer be replied to."
        )
    if not policy.can_reply(user, thread):
        if thread.locked_at is not None and policy.can_post(user, thread.community):
            raise _Refusal("the thread is locked", explain="This thread is locked: it takes no new replies.")
        raise _Refusal("not a member", explain=f"Only members of {thread.community.name} can reply there.")
    if refusal := _rate_limited(user):
        raise _Refusal(
            "over the posting limit",
            explain=(
                "You're posting faster than this site allows. "
                f"Please wait about {refusal.minutes} minutes and send again."
            ),
        )
    body = texts.without_quotes(texts.body_text(message))
    if message.get_body(preferencelist=("plain",)) is None:
        body = texts.markdown_safe(body)
    body = body.strip("\n")
    too_long = _Refusal(
        "too long", explain=f"Your reply is longer than the {MAX_SOURCE_CHARS} characters a post takes."
    )
    if len(body) > MAX_SOURCE_CHARS:
        raise too_long
    added = _attachments(user, thread, message)
    if added:
        body = (body + "\n\n" + "\n\n".join(added)).strip("\n")
    if len(body) > MAX_SOURCE_CHARS:
        raise too_long
    if not body.strip():
        raise _Refusal("nothing to post", explain="Your message had no text of its own to post (only quoted text).")
    try:
        rendered = discussions.render_post(body)
    except MarkupError as exc:
        raise _Refusal("the text could not be rendered", explain=str(exc)) from None
    parent = key.post if key.post is not None and key.post.thread_id == thread.pk else None
    try:
        post = discussions.reply(
            user, thread, body, parent=parent, submission_key=f"mail-{mail_key[:35]}", rendered=rendered
        )
    except discussions.DiscussionError as exc:
        raise _Refusal(str(exc)) from None
    return post.pk


def _rate_limited(user: User) -> ratelimit.Refusal | None:
    """The web's posting limit, counted on the same per-person counter (an email has no client address)."""
    young = user.date_joined > timezone.now() - timedelta(days=1)
    spec = settings.NEW_ACCOUNT_POST_RATE_LIMIT if young else settings.POST_RATE_LIMIT
    wait = ratelimit.consume("post", f"user:{user.pk}", spec)
    return ratelimit.Refusal(wait) if wait is not None else None


def _attachments(user: User, thread: object, message: EmailMessage) -> list[str]:
    """Markdown for each picture or PDF attached that the composer's upload takes; the others are left out."""
    community = thread.community  # type: ignore[attr-defined]
    markdown: list[str] = []
    for part in message.iter_attachments():
        if len(markdown) >= MAX_ATTACHMENTS:
            break
        if not isinstance(part, EmailMessage) or part.get_content_type() not in ATTACHABLE_TYPES:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            continue
        if ratelimit.consume("attach", f"user:{user.pk}", settings.RATE_LIMITS["attach"][0]) is not None:
            break
        upload = SimpleUploadedFile(part.get_filename() or "attachment", payload, content_type=part.get_content_type())
        try:
            _, text = attachments.upload(user, community, upload)
        except (ValidationError, attachments.AttachmentError) as exc:
            log.info("inbound attachment left out: %s", exc)
            continue
        markdown.append(text)
    return markdown


# --- Explaining a refusal -------------------------------------------------------------


def _explain(sender: str, key: ReplyKey | None, why: str) -> bool:
    """One short email to a verified address saying why; at most REPLY_REFUSAL_RATE_LIMIT per address.

    Only to an address verified on some account: never backscatter to a forged or unknown sender.
    It is marked auto-replied and carries no reply address, so it cannot start a loop.
    """
    if not why or not sender:
        return False
    owner = EmailAddress.objects.filter(email__iexact=sender, verified=True).select_related("user").first()
    if owner is None or not owner.user.is_active:
        return False
    digest = hashlib.sha256(sender.encode()).hexdigest()[:32]
    if ratelimit.consume("reply-refusal", f"addr:{digest}", settings.REPLY_REFUSAL_RATE_LIMIT) is not None:
        return False
    context = {
        "why": why,
        "thread": key.thread if key is not None and key.user_id == owner.user_id else None,
        "site_url": settings.SITE_URL,
        "site_name": settings.COPSITE_NAME,
    }
    queue_email(
        to=sender,
        subject=f"Your reply to {settings.COPSITE_NAME} was not posted",
        text=render_to_string("replies/email/refused.txt", context),
        kind="replies.refused",
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
    return True
