"""Reply by email: reply addresses, mail coming in, and what the member sees of it."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.utils import timezone
from PIL import Image

from attachments.models import Attachment
from communities import services as communities
from core.mail import build_message
from core.models import OutboundEmail
from discussions import services as discussions
from discussions.models import Post
from notifications import email as notify
from notifications.models import Notification
from replies import bounces, tokens
from replies.inbound import receive
from replies.models import DeliveryProblem, InboundMessage, QueuedMail, ReplyKey
from replies.tasks import receive_queued

pytestmark = pytest.mark.django_db

OURS = "<20261201.abc@example.org>"


@pytest.fixture(autouse=True)
def reply_by_email(settings, tmp_path):
    settings.REPLY_BY_EMAIL = True
    settings.REPLY_DOMAIN = "mail.example.org"
    settings.MEDIA_ROOT = tmp_path / "media"


def image_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def mail(
    to: str,
    body: str = "",
    *,
    sender: str = "mira@example.org",
    subject: str = "Re: How do you assess pain in delirium?",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Mira Member <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.net")
    message["In-Reply-To"] = OURS
    message["References"] = OURS
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None and not body:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    return message


def address_of(world, conversation, person=None, post=None) -> str:
    address = tokens.reply_address(person or world.member, conversation.thread, post or conversation.answer)
    assert address is not None
    return address


def refusals() -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(kind="replies.refused"))


# --- Tokens -----------------------------------------------------------------------------


def test_a_reply_address_is_short_lower_case_and_reads_back(world, conversation):
    address = address_of(world, conversation)
    local, domain = address.split("@")
    assert domain == "mail.example.org" and local.startswith("reply+") and local == local.lower()
    assert len(local) <= 64
    key = tokens.read(local.removeprefix("reply+"))
    assert (key.user, key.thread, key.post) == (world.member, conversation.thread, conversation.answer)
    # The next email about the same post carries the same address.
    assert address_of(world, conversation) == address


def test_a_tampered_token_does_not_read(world, conversation):
    token = address_of(world, conversation).split("@")[0].removeprefix("reply+")
    key_part, mac = token.split("-")
    flipped = mac[:-1] + ("a" if mac[-1] != "a" else "b")
    with pytest.raises(tokens.BadToken):
        tokens.read(f"{key_part}-{flipped}")
    other = address_of(world, conversation, person=world.facilitator).split("@")[0].removeprefix("reply+")
    # Another key's id with this key's MAC: the MAC binds the id.
    with pytest.raises(tokens.BadToken):
        tokens.read(f"{other.split('-')[0]}-{mac}")


def test_an_expired_or_revoked_token_does_not_read(world, conversation):
    token = address_of(world, conversation).split("@")[0].removeprefix("reply+")
    ReplyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(tokens.BadToken, match="expired"):
        tokens.read(token)
    ReplyKey.objects.update(expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now())
    with pytest.raises(tokens.BadToken, match="revoked"):
        tokens.read(token)


def test_no_address_when_reply_by_email_is_off_or_the_person_cannot_reply(settings, world, conversation):
    assert tokens.reply_address(world.outsider, conversation.thread) is None
    settings.REPLY_BY_EMAIL = False
    assert tokens.reply_address(world.member, conversation.thread) is None


# --- Receiving --------------------------------------------------------------------------


def test_a_plain_reply_is_posted_with_its_exact_text_under_the_post(world, conversation):
    text = "Thanks Fern, the Abbey scale worked on night shift.\n\nWe chart it hourly now."
    receipt = receive(mail(address_of(world, conversation), text).as_bytes(), source="test")
    assert receipt.outcome == "posted", receipt.reason
    post = Post.objects.get(pk=receipt.post_id)
    assert post.body == text and post.author == world.member and post.parent == conversation.answer
    assert not refusals()


def test_a_gmail_style_top_posted_reply_loses_the_quoted_history(world, conversation):
    text = (
        "Yes, we do the same on ward 3.\n\n"
        "On Tue, Dec 1, 2026 at 10:00 AM copsite <noreply@example.org> wrote:\n\n"
        "> Fern Facilitator replied in “How do you assess pain in delirium?”\n"
        "> Try the abbey scale first.\n"
        ">\n"
        "> Reply to this email to reply on the site.\n"
    )
    receipt = receive(mail(address_of(world, conversation), text).as_bytes(), source="test")
    assert Post.objects.get(pk=receipt.post_id).body == "Yes, we do the same on ward 3."


def test_a_signature_is_cut_off_and_indented_lines_keep_their_indentation(world, conversation):
    text = "Here is our chart:\n\n    pain 0-10 hourly\n    PAINAD at night\n\n-- \nMira Member\nWard 3, night shift\n"
    receipt = receive(mail(address_of(world, conversation), text).as_bytes(), source="test")
    assert (
        Post.objects.get(pk=receipt.post_id).body == "Here is our chart:\n\n    pain 0-10 hourly\n    PAINAD at night"
    )


def test_html_only_mail_becomes_plain_text_with_its_paragraphs_and_links(world, conversation):
    html = (
        "<html><body><p>First <b>paragraph</b> with a <a href='https://example.com/scale'>scale</a>.</p>"
        "<p># not a heading</p><script>alert(1)</script><img src='https://tracker.example/x.png'>"
        "<div class='gmail_quote'>On Tue, Dec 1, 2026 at 10:00 AM copsite wrote:<blockquote>"
        "<p>old text</p></blockquote></div></body></html>"
    )
    receipt = receive(mail(address_of(world, conversation), html=html).as_bytes(), source="test")
    post = Post.objects.get(pk=receipt.post_id)
    assert post.body.startswith("First paragraph with a [scale](https://example.com/scale).\n\n\\# not a heading")
    assert "old text" not in post.body and "alert" not in post.body and "tracker" not in post.body
    assert '<a href="https://example.com/scale"' in post.body_html and "<h1" not in post.body_html


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        (
            "Vielen Dank, das klappt bei uns auch.",
            "Am Di., 1. Dez. 2026 um 10:00 Uhr schrieb copsite <noreply@example.org>:",
        ),
        ("ありがとうございます。夜勤でも使えます。", "2026年12月1日(火) 10:00 copsite <noreply@example.org>:"),
    ],
)
def test_replies_in_other_languages_keep_their_text_and_lose_the_quote(world, conversation, text, quoted):
    raw = mail(address_of(world, conversation), f"{text}\n\n{quoted}\n> Try the abbey scale first.\n").as_bytes()
    receipt = receive(raw, source="test")
    assert Post.objects.get(pk=receipt.post_id).body == text


def test_a_picture_attached_goes_through_the_checked_upload_and_into_the_post(world, conversation):
    message = mail(address_of(world, conversation), "Our chart, photographed.")
    message.add_attachment(image_bytes(), maintype="image", subtype="png", filename="chart.png")
    message.add_attachment(
        b"MZ\x90\x00 not a picture", maintype="application", subtype="octet-stream", filename="x.exe"
    )
    receipt = receive(message.as_bytes(), source="test")
    post = Post.objects.get(pk=receipt.post_id)
    [attachment] = Attachment.objects.filter(post=post)
    assert post.body == f"Our chart, photographed.\n\n![chart]({attachment.get_absolute_url()})"
    assert attachment.uploader == world.member and attachment.content_type == "image/png"


def test_a_pdf_attached_becomes_a_link_and_a_picture_only_mail_is_posted(world, conversation):
    message = mail(address_of(world, conversation), "")
    message.add_attachment(
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", maintype="application", subtype="pdf", filename="Rota.pdf"
    )
    receipt = receive(message.as_bytes(), source="test")
    post = Post.objects.get(pk=receipt.post_id)
    [attachment] = Attachment.objects.filter(post=post)
    assert post.body == f"[Rota.pdf]({attachment.get_absolute_url()})"


def test_a_mail_with_only_quoted_text_is_refused(world, conversation):
    quoted = "On Tue, Dec 1, 2026 at 10:00 AM copsite <noreply@example.org> wrote:\n> Try the abbey scale first.\n"
    receipt = receive(mail(address_of(world, conversation), quoted).as_bytes(), source="test")
    assert receipt.outcome == "refused" and receipt.reason == "nothing to post"
    assert "no text of its own" in refusals()[0].body_text


def test_the_same_mail_delivered_twice_posts_once(world, conversation):
    raw = mail(address_of(world, conversation), "Only once, please.").as_bytes()
    first = receive(raw, source="mailgun")
    again = receive(raw, source="imap")
    assert first.outcome == again.outcome == "posted" and again.duplicate and again.post_id == first.post_id
    assert Post.objects.filter(body="Only once, please.").count() == 1
    assert InboundMessage.objects.count() == 1


def test_a_reply_from_another_persons_address_is_refused_with_one_explanation(world, conversation):
    address = address_of(world, conversation)  # Mira's
    receipt = receive(mail(address, "I am Mira, honest.", sender="otto@example.org").as_bytes(), source="test")
    assert receipt.outcome == "refused" and receipt.explained
    assert not Post.objects.filter(body__contains="honest").exists()
    [told] = refusals()
    assert told.to == "otto@example.org" and "someone else's notification" in told.body_text
    assert told.headers["Auto-Submitted"] == "auto-replied" and "Reply-To" not in told.headers


def test_a_from_that_fails_dmarc_is_refused_without_an_answer(world, conversation):
    forged = {"Authentication-Results": "mx.example.net; dmarc=fail (p=reject) header.from=example.org"}
    receipt = receive(mail(address_of(world, conversation), "Forged", headers=forged).as_bytes(), source="test")
    assert receipt.outcome == "refused" and "DMARC" in receipt.reason and not refusals()


def test_a_forged_unknown_sender_gets_no_mail_at_all(world, conversation):
    receipt = receive(mail(address_of(world, conversation), "Spam", sender="x@spam.example").as_bytes(), source="test")
    assert receipt.outcome == "refused" and not receipt.explained and not refusals()


def test_explanations_to_one_address_stop_after_three_a_day(world, conversation):
    address = address_of(world, conversation)
    for i in range(5):
        receive(mail(address, f"try {i}", sender="otto@example.org").as_bytes(), source="test")
    assert len(refusals()) == 3
    assert InboundMessage.objects.filter(outcome="refused").count() == 5


@pytest.mark.parametrize(
    ("headers", "subject", "why"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: thread", "Auto-Submitted"),
        ({"Precedence": "bulk"}, "Re: thread", "Precedence"),
        ({"X-Autoreply": "yes"}, "Re: thread", "automatic reply"),
        ({}, "Out of office: back on Monday", "out-of-office"),
        ({}, "Automatic reply: Re: thread", "out-of-office"),
        ({"Return-Path": "<>"}, "Re: thread", "bounce"),
        ({"X-Copsite": "notification.reply"}, "Re: thread", "loop"),
    ],
)
def test_machine_mail_is_ignored_without_a_post_or_an_answer(world, conversation, headers, subject, why):
    raw = mail(address_of(world, conversation), "I am away.", subject=subject, headers=headers).as_bytes()
    receipt = receive(raw, source="test")
    assert receipt.outcome == "ignored" and why in receipt.reason
    assert not Post.objects.filter(body="I am away.").exists() and not OutboundEmail.objects.exists()


def test_a_delivery_report_and_a_long_relay_chain_are_ignored(world, conversation):
    address = address_of(world, conversation)
    report = EmailMessage()
    report["From"] = "MAILER-DAEMON@mx.example.net"
    report["To"] = address
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = make_msgid()
    report.set_content("The mail could not be delivered.")
    report.add_attachment("Reporting-MTA: dns; mx.example.net\n", subtype="delivery-status")
    assert receive(report.as_bytes(), source="test").outcome == "ignored"
    looping = mail(address, "Round and round")
    for i in range(30):
        looping["Received"] = f"from relay{i}.example.net by relay{i + 1}.example.net"
    assert receive(looping.as_bytes(), source="test").reason.endswith("(a loop)")
    assert not OutboundEmail.objects.exists() and Post.objects.filter(body__contains="Round").count() == 0


def test_a_locked_thread_refuses_and_says_so(world, conversation):
    address = address_of(world, conversation)
    discussions.set_thread_state(world.facilitator, conversation.thread, "lock")
    receipt = receive(mail(address, "Too late?").as_bytes(), source="test")
    assert receipt.outcome == "refused" and receipt.reason == "the thread is locked"
    [told] = refusals()
    assert told.to == "mira@example.org" and "locked" in told.body_text


def test_someone_who_left_or_was_banned_cannot_reply_by_email(world, conversation):
    address = address_of(world, conversation)
    communities.leave(world.member, world.public)
    receipt = receive(mail(address, "Still here").as_bytes(), source="test")
    assert receipt.outcome == "refused" and "revoked" in receipt.reason
    assert ReplyKey.objects.get().revoked_at is not None
    # A key made before the ban (not revoked here on purpose) still meets the policy's no.
    key = ReplyKey.objects.create(
        user=world.banned, thread=conversation.thread, expires_at=timezone.now() + timedelta(days=1)
    )
    banned = mail(tokens.address_for(key), "Let me in", sender="bo@example.org")
    receipt = receive(banned.as_bytes(), source="test")
    assert receipt.outcome == "refused" and receipt.reason == "not a member"
    assert not Post.objects.filter(body__in=["Still here", "Let me in"]).exists()


def test_a_link_heavy_reply_from_someone_new_is_held_for_review_as_on_the_web(settings, world, conversation):
    settings.HOLD_LINK_LIMIT = 1
    links = "\n".join(f"https://shop{i}.example.com/" for i in range(3))
    body = f"See [a](https://a.example.com) [b](https://b.example.com) [c](https://c.example.com)\n{links}"
    receipt = receive(mail(address_of(world, conversation), body).as_bytes(), source="test")
    assert receipt.outcome == "posted" and Post.objects.get(pk=receipt.post_id).is_held


def test_the_web_posting_limit_applies_to_email(settings, world, conversation):
    settings.POST_RATE_LIMIT = settings.NEW_ACCOUNT_POST_RATE_LIMIT = "2/3600"
    address = address_of(world, conversation)
    outcomes = [receive(mail(address, f"Note {i}").as_bytes(), source="test").outcome for i in range(3)]
    assert outcomes == ["posted", "posted", "refused"]
    assert "faster than this site allows" in refusals()[0].body_text


def test_a_reply_by_email_notifies_as_a_web_reply_does(world, conversation):
    receive(mail(address_of(world, conversation), "Fern, see this.").as_bytes(), source="test")
    assert Notification.objects.filter(user=world.facilitator, kind="reply", post__body="Fern, see this.").exists()


# --- Reply-To on notification emails -----------------------------------------------------


def test_a_notification_email_about_a_post_carries_the_persons_reply_address(world, conversation):
    notify.sweep(timezone.now())
    [email] = OutboundEmail.objects.filter(to=world.facilitator.email, kind="notification.reply")
    address = email.headers["Reply-To"]
    key = tokens.read(address.split("@")[0].removeprefix("reply+"))
    assert key.user == world.facilitator and key.post == conversation.nested
    message = build_message(email).message()
    assert message["Reply-To"] == address and message["X-Copsite"]


def test_no_reply_to_when_reply_by_email_is_off(settings, world, conversation):
    settings.REPLY_BY_EMAIL = False
    notify.sweep(timezone.now())
    assert all("Reply-To" not in e.headers for e in OutboundEmail.objects.all())


# --- The webhooks ---------------------------------------------------------------------


SIGNING_KEY = "key-for-tests-only"


@pytest.fixture
def mailgun(settings):
    settings.ANYMAIL_INBOUND_ESP = "mailgun"
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def signed(fields: dict[str, str]) -> dict[str, str]:
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


def test_mail_posted_to_the_signed_mailgun_webhook_becomes_a_reply(
    client, mailgun, world, conversation, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    raw = mail(address_of(world, conversation), "Sent through Mailgun.").as_string()
    with django_capture_on_commit_callbacks() as published, django_assert_max_num_queries(4):
        response = client.post("/email/mailgun/inbound_mime/", signed({"body-mime": raw, "recipient": "x"}))
    assert response.status_code == 200 and len(published) == 1
    [queued] = QueuedMail.objects.all()
    assert receive_queued.apply(args=[queued.pk]).get() == "posted"
    assert Post.objects.filter(body="Sent through Mailgun.", author=world.member).count() == 1
    assert not QueuedMail.objects.exists()
    # The sweep has nothing left to hand on; a second run of the task finds nothing to do.
    assert receive_queued.apply(args=[queued.pk]).get() == "skipped"


def test_the_webhook_refuses_a_bad_signature_and_other_esps(client, mailgun, world, conversation):
    raw = mail(address_of(world, conversation), "Forged").as_string()
    bad = {**signed({"body-mime": raw}), "signature": "0" * 64}
    assert client.post("/email/mailgun/inbound_mime/", bad).status_code == 400
    assert client.post("/email/postmark/inbound/", {"x": "y"}).status_code == 404
    assert not QueuedMail.objects.exists()


def test_a_bounce_reported_by_mailgun_pauses_email_and_the_settings_page_says_so(
    client, mailgun, world, django_assert_max_num_queries
):
    event = {
        "signature": signed({}),
        "event-data": {
            "event": "failed",
            "severity": "permanent",
            "id": "evt-1",
            "timestamp": time.time(),
            "recipient": "mira@example.org",
            "reason": "bounce",
            "message": {"headers": {"message-id": "abc@example.org"}},
            "delivery-status": {"code": 550, "message": "No such user"},
        },
    }
    for _ in range(2):  # delivered twice: recorded once
        response = client.post("/email/mailgun/tracking/", json.dumps(event), content_type="application/json")
        assert response.status_code == 200
    world.member.refresh_from_db()
    assert world.member.email_paused and DeliveryProblem.objects.filter(user=world.member).count() == 1
    client.force_login(world.member)
    with django_assert_max_num_queries(12):
        page = client.get("/settings/email/").content.decode()
    today = timezone.localdate().strftime("%-d %b %Y")
    assert f"Email paused: your address bounced on {today}" in page and "Resume email" in page
    client.post("/settings/email/", {"pause": "off"})
    world.member.refresh_from_db()
    assert not world.member.email_paused and not world.member.email_paused_reason


def test_a_bounce_to_a_stranger_pauses_no_one(world):
    assert bounces.record("bounced", "nobody@example.net", event_id="e") == 0
    assert bounces.record("delivered", "mira@example.org", event_id="f") == 0


def test_deleting_the_account_revokes_its_reply_addresses(world, conversation):
    from portability import deletion

    address = address_of(world, conversation)
    receive(mail(address, "Before I go").as_bytes(), source="test")
    bounces.record("bounced", "mira@example.org", event_id="b1")
    deletion.delete_account(world.member)
    assert ReplyKey.objects.get().revoked_at is not None
    receipt = receive(mail(address, "From beyond").as_bytes(), source="test")
    assert receipt.outcome == "refused" and not refusals()
    # No trace of the address is kept.
    assert not DeliveryProblem.objects.exists()
    assert InboundMessage.objects.get(outcome="posted").sender == ""


def test_an_expired_address_is_refused_and_the_member_is_told_to_reply_on_the_site(world, conversation):
    address = address_of(world, conversation)
    ReplyKey.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    receipt = receive(mail(address, "Late reply").as_bytes(), source="test")
    assert receipt.outcome == "refused" and "expired" in receipt.reason
    [told] = refusals()
    assert told.to == "mira@example.org" and "reply on the site" in told.body_text


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not an email at all\x00\xff",
        b"From: mira@example.org\r\nTo: reply+zzzzzzzzzzzzzzzzzzzzzzzzzzz@mail.example.org\r\n\r\nhi",
        b"From: mira@example.org\r\nTo: reply+a-aaaaaaaaaaaaaaaa@mail.example.org\r\nSubject: x\r\n\r\nhi",
        b"From: =?utf-8?q?x=0D=0ABcc:_a@b.c?= <mira@example.org>\r\n"
        b"To: reply+b-bbbbbbbbbbbbbbbb@mail.example.org\r\n\r\nhi",
    ],
)
def test_hostile_or_broken_mail_posts_nothing_and_answers_no_stranger(world, conversation, raw):
    receipt = receive(raw, source="test")
    assert receipt.outcome in ("ignored", "refused") and receipt.post_id is None
    assert not Post.objects.filter(body="hi").exists()
    assert all(e.to == "mira@example.org" for e in refusals())


def test_a_mention_notification_email_carries_a_reply_address_too(world):
    world.owner.email_notifications = ["mention"]
    world.owner.save(update_fields=["email_notifications"])
    thread = discussions.start_thread(world.facilitator, world.public, title="Rotas", body="What do you think, @olive?")
    notify.sweep(timezone.now())
    [email] = OutboundEmail.objects.filter(to=world.owner.email, kind="notification.mention")
    key = tokens.read(email.headers["Reply-To"].split("@")[0].removeprefix("reply+"))
    assert (key.user, key.thread, key.post) == (world.owner, thread, thread.opening_post)


def test_the_sweep_hands_on_mail_whose_message_was_lost_and_forgets_old_records(world, conversation, monkeypatch):
    from replies import tasks

    raw = mail(address_of(world, conversation), "Lost and found").as_bytes()
    queued = QueuedMail.objects.create(raw=raw, source="mailgun", not_before=timezone.now() - timedelta(minutes=5))
    published: list[int] = []
    monkeypatch.setattr(tasks.receive_queued, "delay", published.append)
    InboundMessage.objects.create(
        key="x" * 64, source="t", outcome="ignored", received_at=timezone.now() - timedelta(days=91)
    )
    assert tasks.sweep_queued_mail() == 1 and published == [queued.pk]
    assert not InboundMessage.objects.filter(key="x" * 64).exists()
    assert tasks.receive_queued.apply(args=[queued.pk]).get() == "posted"
    assert Post.objects.filter(body="Lost and found").count() == 1


@pytest.mark.live_worker
def test_a_reply_through_the_webhook_is_posted_by_a_real_worker(client, mailgun, world, conversation, start_worker):
    from tests.worker import wait_until

    worker = start_worker(REPLY_DOMAIN="mail.example.org", REPLY_BY_EMAIL="1")
    raw = mail(address_of(world, conversation), "Posted by the worker.").as_string()
    response = client.post("/email/mailgun/inbound_mime/", signed({"body-mime": raw, "recipient": "x"}))
    assert response.status_code == 200
    wait_until(
        lambda: Post.objects.filter(body="Posted by the worker.", author=world.member).exists(),
        what="the reply posted",
        log=worker.output,
    )
    wait_until(lambda: not QueuedMail.objects.exists(), what="the queued mail taken", log=worker.output)
    assert InboundMessage.objects.get().outcome == "posted"
