"""Reply by email: reply addresses, mail coming in, and what the member sees of it."""

from __future__ import annotations

import io
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.utils import timezone
from PIL import Image

from communities import services as communities
from communities.models import Membership
from core.models import OutboundEmail
from discussions import services as discussions
from discussions.models import Post
from replies import tokens
from replies.inbound import receive
from replies.models import InboundMessage, ReplyKey

pytestmark = pytest.mark.django_db

OURS = "<20261201.abc@example.org>"


@pytest.fixture(autouse=True)
def reply_by_email(settings):
    settings.REPLY_BY_EMAIL = True
    settings.REPLY_DOMAIN = "mail.example.org"


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
