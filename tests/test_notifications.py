"""Notifications: opening one reads it, the bell's dropdown groups per thread, every kind, who sees what, email.

Tests read the dropdown as htmx asks for it and the page as a browser does;
what they assert is what a person reads there (rows' sentences, the bell's count).
"""

from __future__ import annotations

import html
import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from communities import services as communities
from communities.models import Membership
from core.models import OutboundEmail
from discussions import services as discussions
from discussions.models import Post
from events import services as events
from events.models import RSVP
from notifications import alerts
from notifications import email as notify
from notifications.models import Notification
from tests import factories
from tests.bell import unread_on_bell

pytestmark = pytest.mark.django_db

TITLE = "How do you assess pain in delirium?"


def text_of(page: str) -> str:
    """A page's words as a person reads them: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" ,", ",")


def menu(client) -> str:
    """The bell's dropdown, asked for as htmx does."""
    response = client.get("/notifications/menu/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    return response.content.decode()


def rows_of(page: str) -> list[str]:
    """Each notification row's text, in order."""
    return [text_of(row) for row in re.findall(r'<li class="notification-row[^"]*">(.*?)</li>', page, re.DOTALL)]


def open_url(note: Notification) -> str:
    return f"/notifications/{note.pk}/open/"


def without_watching_news() -> None:
    """Forget what watching levels announced (facilitators watch new threads): beside the point of these counts."""
    Notification.objects.filter(kind__in=[Notification.Kind.NEW_THREAD, Notification.Kind.WATCHING]).delete()


def unread(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@pytest.fixture
def answered(world):
    """Olive asks, Mira answers; Olive accepts the answer and Fern finds it helpful: two notifications on one post."""
    thread = factories.thread(world.owner, world.public, title="Handover checklists?", kind="question")
    answer = discussions.reply(world.member, thread, "We use a two-line SBAR.")
    discussions.accept_answer(world.owner, thread, answer)
    discussions.toggle_helpful(world.facilitator, answer)
    return answer


# --- Opening a notification -------------------------------------------------------------------------


def test_opening_a_notification_reads_it_and_the_others_about_the_same_post(client, world, conversation, answered):
    accepted = Notification.objects.get(user=world.member, kind="accepted")
    assert Notification.objects.get(user=world.member, kind="helpful").post_id == accepted.post_id
    client.force_login(world.member)
    assert unread_on_bell(client.get("/").content.decode()) == 3  # accepted, helpful, and Fern's reply elsewhere

    response = client.post(open_url(accepted))
    # The post's permalink, which lands on the right page of the thread at the post's anchor.
    assert response.status_code == 302 and response["Location"] == f"/p/{answered.pk}/"
    landing = client.get(response["Location"])
    assert landing.status_code == 302 and landing["Location"].endswith(f"#post-{answered.pk}")

    # Both about that post are read; Fern's reply in the other thread still waits.
    assert list(
        Notification.objects.filter(user=world.member, read_at__isnull=True).values_list("kind", flat=True)
    ) == ["reply"]
    assert unread_on_bell(client.get("/").content.decode()) == 1
    # Opening it again reads nothing more and still lands on the post.
    again = client.post(open_url(accepted))
    assert again["Location"] == f"/p/{answered.pk}/" and unread(world.member) == 1


def test_opening_a_grouped_row_reads_the_whole_row_and_starts_at_its_first_unread_post(client, world, conversation):
    for person in (world.facilitator, world.owner, world.admin):
        discussions.reply(person, conversation.thread, f"Reply from {person.username}", parent=conversation.opening)
    client.force_login(world.member)
    assert unread_on_bell(client.get("/").content.decode()) == 4
    [row] = rows_of(menu(client))
    assert row.startswith(f"Ada Admin and 2 others replied to you in “{TITLE}” Ward Commons ·")
    assert row.endswith("4 new")

    first = Notification.objects.filter(user=world.member).order_by("created_at").first()
    assert first.post_id == conversation.answer.pk
    page = client.get("/notifications/").content.decode()
    assert f'action="{open_url(first)}"' in page  # the row opens where the news starts: Fern's answer

    response = client.post(open_url(first))
    assert response["Location"] == f"/p/{conversation.answer.pk}/"
    assert unread(world.member) == 0
    assert unread_on_bell(client.get("/").content.decode()) == 0
    assert "new" not in rows_of(menu(client))[0].split("·")[-1]  # still listed, no longer new


def test_mark_all_as_read_stays(client, world, conversation, answered):
    client.force_login(world.member)
    assert client.post("/notifications/").status_code == 302
    assert unread(world.member) == 0
    # From the dropdown (htmx) the answer is the dropdown again, with the header's count emptied.
    Notification.objects.filter(user=world.member).update(read_at=None)
    response = client.post("/notifications/", HTTP_HX_REQUEST="true").content.decode()
    assert unread(world.member) == 0
    assert "Mark all as read" not in response and "New" not in text_of(response)
    emptied = '<span class="visually-hidden">Notifications</span></span>'
    assert f'<span class="bell-words" id="bell-count" hx-swap-oob="true">{emptied}' in response


def test_the_full_page_works_without_javascript_and_groups_the_same_way(client, world, conversation):
    discussions.reply(world.owner, conversation.thread, "Also @mira see the chart", parent=conversation.nested)
    client.force_login(world.member)
    page = client.get("/notifications/").content.decode()
    # Fern's reply and Olive's mention share the thread: one row, each form posting to its own open URL.
    [row] = rows_of(page)
    assert row.startswith(f"Olive Owner and Fern Facilitator replied in “{TITLE}”")
    assert "2 unread." in text_of(page)
    # Each row is a form carrying the CSRF token (opening it is a POST).
    assert (
        len(re.findall(r'action="/notifications/\d+/open/">\s*<input type="hidden" name="csrfmiddlewaretoken"', page))
        == 1
    )
    dropdown = menu(client)
    assert (
        len(
            re.findall(
                r'action="/notifications/\d+/open/">\s*<input type="hidden" name="csrfmiddlewaretoken"', dropdown
            )
        )
        == 1
    )


# --- What each kind says ---------------------------------------------------------------------------


def test_a_facilitator_gets_the_join_request_and_it_opens_the_queue(client, world):
    communities.join(world.outsider, world.approval, "I run a rehab ward.")
    note = Notification.objects.get(kind="join_request")
    # Olive owns the approval community; Fern facilitates others only; the asker is told nothing.
    assert note.user == world.owner and note.actor == world.outsider and note.community == world.approval
    client.force_login(world.owner)
    assert rows_of(menu(client))[0].startswith("Otto Outsider asked to join Rehab Guild now")
    response = client.post(open_url(note))
    assert response["Location"] == "/c/guild/facilitate/#requests-heading"
    assert "Otto Outsider" in client.get(response["Location"]).content.decode()
    assert not Notification.objects.filter(user__in=[world.facilitator, world.outsider, world.member]).exists()


def test_asking_again_after_a_decline_is_news_again(world):
    membership = communities.join(world.outsider, world.approval)
    Notification.objects.filter(kind="join_request").update(read_at=timezone.now())
    communities.decide_request(world.owner, world.approval, membership.pk, approve=False)
    communities.join(world.outsider, world.approval, "Please reconsider.")
    note = Notification.objects.get(kind="join_request")
    assert note.read_at is None


def test_facilitators_get_the_flag_and_the_flagger_does_not(client, world, conversation):
    discussions.flag_post(world.member, conversation.nested, "Names a patient")
    told = set(Notification.objects.filter(kind="flagged").values_list("user__username", flat=True))
    # The community's facilitators, but not Mira, who flagged it, nor Olive, who wrote it (the others judge it).
    assert told == {"fern"}
    client.force_login(world.facilitator)
    assert rows_of(menu(client))[0].startswith(f"Mira Member flagged a post in “{TITLE}”")
    note = Notification.objects.get(user=world.facilitator, kind="flagged")
    assert client.post(open_url(note))["Location"] == f"/p/{conversation.nested.pk}/"


def test_a_flag_tells_nothing_to_someone_no_longer_a_facilitator(client, world, conversation):
    without_watching_news()
    alerts.set_cadence(world.owner, "immediately")  # review work by email right away (default: daily)
    alerts.set_cadence(world.facilitator, "immediately")
    by_ada = discussions.reply(world.admin, conversation.thread, "Bed 4 is Mr Jones")
    discussions.flag_post(world.member, by_ada, "Names a patient")
    Membership.objects.filter(user=world.facilitator, community=world.public).update(role=Membership.Role.MEMBER)
    client.force_login(world.facilitator)
    assert not [row for row in rows_of(menu(client)) if "flagged" in row]
    assert unread_on_bell(client.get("/").content.decode()) == 1  # Olive's reply to her answer only
    notify.sweep(timezone.now())
    assert not OutboundEmail.objects.filter(to=world.facilitator.email, kind="notification.flagged").exists()
    assert OutboundEmail.objects.filter(to=world.owner.email, kind="notification.flagged").exists()


def test_a_held_post_tells_the_facilitators(client, world, conversation):
    held = discussions.reply(world.member, conversation.thread, "Buy cheap pills", suspected_spam=True)
    assert held.is_held
    told = set(Notification.objects.filter(kind="held", post=held).values_list("user__username", flat=True))
    assert told == {"fern", "olive"}
    client.force_login(world.facilitator)
    assert rows_of(menu(client))[0].startswith(f"Mira Member wrote a post held for review in “{TITLE}”")
    landing = client.get(
        client.post(open_url(Notification.objects.get(user=world.facilitator, kind="held")))["Location"]
    )
    assert landing.status_code == 302 and landing["Location"].endswith(f"#post-{held.pk}")
    assert "Buy cheap pills" in client.get(landing["Location"]).content.decode()


def test_work_one_facilitator_settles_stops_counting_for_the_others(client, world, conversation):
    held = discussions.reply(world.member, conversation.thread, "Buy cheap pills", suspected_spam=True)
    discussions.flag_post(world.member, conversation.answer, "Wrong dose")
    membership = communities.join(world.outsider, world.approval)
    Membership.objects.create(user=world.facilitator, community=world.approval, role=Membership.Role.FACILITATOR)
    communities.join(world.banned, world.approval)
    waiting = Notification.objects.filter(kind__in=["held", "flagged", "join_request"], read_at__isnull=True)
    assert set(waiting.values_list("user__username", "kind", "actor__username")) == {
        ("fern", "held", "mira"),
        ("olive", "held", "mira"),
        ("olive", "flagged", "mira"),  # Fern's own post: the other facilitators judge it
        ("olive", "join_request", "otto"),
        ("olive", "join_request", "bo"),
        ("fern", "join_request", "bo"),  # Bo asked once Fern facilitated there
    }
    discussions.approve_post(world.owner, held)
    discussions.dismiss_flags(world.owner, conversation.answer)
    communities.decide_request(world.owner, world.approval, membership.pk, approve=True)
    left = set(waiting.values_list("user__username", "kind", "actor__username"))
    # Only Bo's request still waits, for both of them.
    assert left == {("olive", "join_request", "bo"), ("fern", "join_request", "bo")}
    communities.leave(world.banned, world.approval)  # withdrawn
    assert not waiting.exists()


def test_helpful_tells_the_author_and_counts_everyone_who_found_it_so(client, world, conversation):
    discussions.toggle_helpful(world.member, conversation.answer)
    discussions.toggle_helpful(world.owner, conversation.answer)
    [note] = Notification.objects.filter(user=world.facilitator, kind="helpful")
    assert note.actor == world.owner  # the latest, named
    client.force_login(world.facilitator)
    helpful = [row for row in rows_of(menu(client)) if "helpful" in row]
    assert helpful[0].startswith(f"Olive Owner and 1 other found your post helpful in “{TITLE}”")
    # Taking it back and giving it again is no news.
    Notification.objects.filter(pk=note.pk).update(read_at=timezone.now())
    discussions.toggle_helpful(world.owner, conversation.answer)
    discussions.toggle_helpful(world.owner, conversation.answer)
    assert Notification.objects.get(pk=note.pk).read_at is not None


def test_an_event_reminder_shows_in_the_bell_and_opens_the_event(client, world):
    event = factories.event(world.owner, world.public, title="Night-shift chat", starts=timedelta(minutes=40))
    events.rsvp(world.member, event, RSVP.Answer.GOING)
    events.send_reminders(timezone.now())
    note = Notification.objects.get(user=world.member, kind="event_reminder")
    client.force_login(world.member)
    assert rows_of(menu(client))[0].startswith("Starting soon: “Night-shift chat” Ward Commons ·")
    assert client.post(open_url(note))["Location"] == event.get_absolute_url()
    # The reminder email goes from events once; the notification sweep does not send it again.
    assert OutboundEmail.objects.filter(to=world.member.email, kind="event.reminder").count() == 1
    notify.sweep(timezone.now())
    assert not OutboundEmail.objects.filter(to=world.member.email, kind__startswith="notification").exists()


def test_an_event_reminder_by_email_follows_the_persons_choice(world):
    type(world.member).objects.filter(pk=world.member.pk).update(email_notifications=["reply"])
    event = factories.event(world.owner, world.public, starts=timedelta(minutes=40))
    events.rsvp(world.member, event, RSVP.Answer.GOING)
    assert events.send_reminders(timezone.now()) == 0
    assert not OutboundEmail.objects.filter(to=world.member.email).exists()
    assert Notification.objects.filter(user=world.member, kind="event_reminder").exists()  # the bell still has it


def test_kinds_the_watching_levels_write_are_drawn(client, world, conversation):
    """The watch feature decides who gets these; the bell draws them (rows written as it writes them)."""
    started = factories.thread(world.owner, world.public, title="Rota swaps")
    Notification.objects.create(user=world.member, kind="new_thread", actor=world.owner, post=started.opening_post)
    watched = factories.thread(world.facilitator, world.public, title="Pressure sores")
    [post] = factories.replies(watched, 1, by=world.owner)
    Notification.objects.create(user=world.member, kind="watching", actor=world.owner, post=post)
    client.force_login(world.member)
    rows = rows_of(menu(client))
    assert rows[0].startswith("Olive Owner posted in “Pressure sores”")  # a post in a thread they watch
    assert rows[1].startswith("Olive Owner started “Rota swaps” Ward Commons")


# --- Who sees what ---------------------------------------------------------------------------------


def test_a_hidden_posts_notification_shows_no_text_anywhere(client, world, conversation):
    thread = factories.thread(world.owner, world.public, title="Quokka rota")
    mention = discussions.reply(world.facilitator, thread, "Quiet word for @mira about Yarrow")
    note = Notification.objects.get(user=world.member, post=mention)
    client.force_login(world.member)
    assert "Quokka rota" in menu(client)
    discussions.hide_post(world.owner, mention, "Personal")

    for page in (menu(client), client.get("/notifications/").content.decode()):
        assert "Quokka rota" not in page and "Yarrow" not in page
    # The member home lists the thread itself (still public), never the hidden post nor the mention.
    home = client.get("/").content.decode()
    assert "Yarrow" not in home and "mentioned you" not in home
    assert unread_on_bell(client.get("/").content.decode()) == 1  # Fern's other reply only
    # Opened from an old tab: read, and nothing of it shown.
    response = client.post(open_url(note), follow=True)
    assert response.redirect_chain[-1][0] == "/notifications/"
    page = response.content.decode()
    assert "no longer there for you to see" in page and "Quokka" not in page and "Yarrow" not in page
    notify.sweep(timezone.now())
    assert not OutboundEmail.objects.filter(to=world.member.email, body_text__contains="Quokka").exists()


def test_a_member_who_left_a_private_community_sees_nothing_of_its_notifications(client, world, conversation):
    discussions.reply(world.facilitator, conversation.private_thread, "A reply for Mira", parent=None)
    communities.leave(world.member, world.private)
    client.force_login(world.member)
    for page in (menu(client), client.get("/notifications/").content.decode()):
        assert "Yak canary" not in page and "Zebra Quince" not in page


def test_the_list_and_one_notification_agree_on_what_is_shown(world, conversation, answered):
    """``shown_to`` (lists, counts) and ``is_shown_to`` (one row, emails) give the same answer for every row."""
    discussions.flag_post(world.member, conversation.nested, "Names a patient")
    discussions.reply(world.member, conversation.thread, "Spam", suspected_spam=True)
    communities.join(world.outsider, world.approval)
    event = factories.event(world.owner, world.private, starts=timedelta(minutes=30))
    events.rsvp(world.member, event, RSVP.Answer.GOING)
    events.send_reminders(timezone.now())
    hidden = discussions.reply(world.facilitator, conversation.thread, "Hey @mira", parent=conversation.opening)
    discussions.hide_post(world.owner, hidden, "No")
    deleted = discussions.reply(world.owner, conversation.thread, "Typo @mira")
    discussions.delete_post(world.owner, deleted)
    Membership.objects.filter(user=world.facilitator, community=world.public).update(role=Membership.Role.MEMBER)
    communities.leave(world.member, world.private)
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert {"reply", "mention", "accepted", "helpful", "flagged", "held", "join_request", "event_reminder"} <= kinds
    for person in (world.member, world.facilitator, world.owner, world.admin, world.outsider):
        listed = set(Notification.objects.shown_to(person).values_list("pk", flat=True))
        one_by_one = {
            n.pk
            for n in Notification.objects.filter(user=person).select_related(
                "post__thread__community", "event__community", "community"
            )
            if n.is_shown_to(person)
        }
        assert listed == one_by_one, person
    assert Notification.objects.filter(user=world.member).count() > len(
        Notification.objects.shown_to(world.member).values_list("pk")
    )


def test_each_notification_has_exactly_the_target_its_kind_is_about(world, conversation):
    post = conversation.answer
    event = factories.event(world.owner, world.public)
    refused = [
        {"kind": "reply"},  # no target
        {"kind": "reply", "post": post, "event": event},  # two
        {"kind": "join_request", "post": post},  # a join request is about a community
        {"kind": "event_reminder", "community": world.public},  # a reminder about an event
        {"kind": "mention", "community": world.public},  # a mention is about a post
    ]
    for fields in refused:
        with pytest.raises(IntegrityError), transaction.atomic():
            Notification.objects.create(user=world.member, **fields)
    Notification.objects.create(user=world.member, kind="event_reminder", event=event)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(user=world.member, kind="event_reminder", event=event)  # once per event


# --- Email -----------------------------------------------------------------------------------------


def test_a_facilitator_is_emailed_the_join_request_with_a_link_to_the_queue(world, settings):
    alerts.set_cadence(world.owner, "immediately")  # review work by email right away (default: daily)
    communities.join(world.outsider, world.approval, "I run a rehab ward.")
    notify.sweep(timezone.now())
    mail = OutboundEmail.objects.get(to=world.owner.email, kind="notification.join_request")
    assert mail.subject == "Otto Outsider asked to join Rehab Guild"
    assert f"{settings.SITE_URL}/c/guild/facilitate/#requests-heading" in mail.body_text


def test_new_kinds_follow_the_email_choices(world, conversation):
    for facilitator in (world.owner, world.facilitator):  # review work by email right away (default: daily)
        alerts.set_cadence(facilitator, "immediately")
    notify.sweep(timezone.now())  # what the conversation made so far is handled
    OutboundEmail.objects.all().delete()
    discussions.toggle_helpful(world.member, conversation.answer)  # helpful: not emailed unless asked for
    other = factories.thread(world.owner, world.public, title="Rota swaps")
    discussions.flag_post(world.member, other.opening_post, "Names a patient")  # flags: on by default
    type(world.owner).objects.filter(pk=world.owner.pk).update(email_notifications=["reply"])
    notify.sweep(timezone.now())
    kinds = set(OutboundEmail.objects.values_list("to", "kind"))
    assert kinds == {(world.facilitator.email, "notification.flagged")}


def test_the_send_time_check_drops_an_email_whose_flagged_post_a_demoted_facilitator_can_no_longer_review(
    world, conversation
):
    from core.mail import at_send_time, still_deliverable

    alerts.set_cadence(world.facilitator, "immediately")  # review work by email right away (default: daily)
    discussions.flag_post(world.member, conversation.nested, "Names a patient")
    notify.sweep(timezone.now())
    mail = OutboundEmail.objects.get(to=world.facilitator.email, kind="notification.flagged")
    assert still_deliverable(mail) and "flagged a post" in mail.body_text
    Membership.objects.filter(user=world.facilitator, community=world.public).update(role=Membership.Role.MEMBER)
    # The same email also told of Olive's reply: it goes out without the flag.
    rewritten = at_send_time(mail)
    assert rewritten is not None and "flagged a post" not in rewritten.body_text
    assert "replied to you" in rewritten.body_text
    assert "flagged a post" not in OutboundEmail.objects.get(pk=mail.pk).body_html


def test_existing_accounts_get_the_new_default_on_kinds_beside_their_own_choice(world):
    migration = importlib.import_module("accounts.migrations.0005_email_new_notification_kinds")
    type(world.member).objects.filter(pk=world.member.pk).update(email_notifications=["accepted"])
    type(world.outsider).objects.filter(pk=world.outsider.pk).update(email_notifications=[], deleted_at=timezone.now())
    migration.add_kinds(django_apps, None)
    world.member.refresh_from_db()
    world.outsider.refresh_from_db()
    assert world.member.email_notifications == ["accepted", *migration.ADDED]
    assert world.outsider.email_notifications == []  # a deleted account gets no email at all


# --- Hostile input ---------------------------------------------------------------------------------


def test_nobody_opens_someone_elses_notification(client, world, conversation):
    note = Notification.objects.get(user=world.member)
    client.force_login(world.outsider)
    assert client.post(open_url(note)).status_code == 404
    assert Notification.objects.get(pk=note.pk).read_at is None


def test_opening_takes_a_post_with_the_csrf_token_only(client, world, conversation):
    note = Notification.objects.get(user=world.member)
    anonymous = client.post(open_url(note))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    client.force_login(world.member)
    assert client.get(open_url(note)).status_code == 405  # a prefetch or a link scanner reads nothing
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.member)
    assert strict.post(open_url(note)).status_code == 403
    assert strict.post(open_url(note), HTTP_ORIGIN="https://evil.example").status_code == 403
    assert Notification.objects.get(pk=note.pk).read_at is None


@pytest.mark.parametrize("pk", ["0", "99999999999999999999", "-1", "1e3", "%00", "abc"])
def test_odd_notification_ids_are_a_plain_404(client, world, conversation, pk):
    client.force_login(world.member)
    assert client.post(f"/notifications/{pk}/open/").status_code in (400, 404)
    assert unread(world.member) == 1


def test_mark_all_reads_only_ones_own_whatever_else_is_sent(client, world, conversation):
    without_watching_news()
    discussions.reply(world.owner, conversation.thread, "@fern thanks")
    client.force_login(world.member)
    client.post("/notifications/", {"user": world.facilitator.pk, "user_id": world.facilitator.pk, "pk": "1"})
    assert unread(world.member) == 0 and unread(world.facilitator) == 2


def test_the_dropdown_needs_a_login_and_without_htmx_is_the_page(client, world, conversation):
    assert client.get("/notifications/menu/", HTTP_HX_REQUEST="true").status_code == 302
    client.force_login(world.member)
    response = client.get("/notifications/menu/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert client.post("/notifications/menu/", HTTP_HX_REQUEST="true").status_code == 405


# --- Query budgets ---------------------------------------------------------------------------------

# Session, user, and one statement for the rows and the count (a window over every row shown).
MENU_BUDGET = 3
# Session, user, the rows and the count; the header reuses the count.
PAGE_BUDGET = 3


def _every_kind(world, threads: int) -> None:
    """Notifications of every kind for Mira (a facilitator here), spread over ``threads`` threads and events."""
    Membership.objects.filter(user=world.member, community=world.public).update(role=Membership.Role.FACILITATOR)
    Membership.objects.update_or_create(
        user=world.member, community=world.approval, defaults={"role": Membership.Role.FACILITATOR}
    )
    Notification.objects.get_or_create(
        user=world.member, kind="join_request", community=world.approval, actor=world.outsider
    )
    for i in range(threads):
        thread = factories.thread(world.owner, world.public, title=f"Thread {i}", kind="question")
        answer = discussions.reply(world.member, thread, f"Answer {i}")
        reply = discussions.reply(world.facilitator, thread, f"@mira and reply {i}", parent=answer)
        discussions.accept_answer(world.owner, thread, answer)
        discussions.toggle_helpful(world.facilitator, answer)
        discussions.flag_post(world.owner, reply, "Check")
        event = factories.event(world.owner, world.public, title=f"Chat {i}", starts=timedelta(minutes=30))
        events.rsvp(world.member, event, RSVP.Answer.GOING)
    events.send_reminders(timezone.now())


def test_the_dropdown_costs_three_queries_with_few_or_many_notifications(
    client, world, conversation, django_assert_max_num_queries
):
    client.force_login(world.member)
    _every_kind(world, 1)
    with django_assert_max_num_queries(MENU_BUDGET) as small:
        page = menu(client)
    assert "Starting soon" in page and "flagged" in page and "asked to join" in page
    _every_kind(world, 12)
    assert Notification.objects.filter(user=world.member).count() >= 50
    with django_assert_max_num_queries(len(small)) as large:
        page = menu(client)
    assert len(large) == len(small) <= MENU_BUDGET
    assert len(rows_of(page)) == 8


def test_the_page_costs_the_same_few_queries_with_few_or_many_notifications(
    client, world, conversation, django_assert_max_num_queries
):
    client.force_login(world.member)
    _every_kind(world, 1)
    with django_assert_max_num_queries(PAGE_BUDGET) as small:
        client.get("/notifications/")
    _every_kind(world, 12)
    with django_assert_max_num_queries(len(small)) as large:
        page = client.get("/notifications/").content.decode()
    assert len(large) == len(small) <= PAGE_BUDGET
    assert unread_on_bell(page) == unread(world.member)
    assert len(rows_of(page)) > 8


def test_opening_a_post_from_the_page_lands_on_its_page_of_a_long_thread(client, world, conversation, settings):
    late = factories.replies(conversation.thread, settings.POSTS_PER_PAGE + 3, by=world.owner)[-1]
    discussions.reply(world.facilitator, conversation.thread, "@mira see above", parent=late)
    note = Notification.objects.get(user=world.member, kind="mention")
    client.force_login(world.member)
    landing = client.get(client.post(open_url(note))["Location"])
    assert landing["Location"].endswith(f"?page=2#post-{note.post_id}")
    assert Post.objects.get(pk=note.post_id).body == "@mira see above"
