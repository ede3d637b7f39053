"""Bookmarks and their reminders: on the member's clock, shown and delivered only while the post is theirs to read."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from bookmarks import services as bookmarks
from bookmarks import times
from bookmarks.models import Bookmark
from bookmarks.tasks import deliver_reminders
from communities import services as communities
from communities.models import Membership
from core.models import OutboundEmail
from discussions import services as discussions
from discussions.models import Post
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
LONDON = zoneinfo.ZoneInfo("Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- moments on the member's clock ------------------------------------------------------


def test_tomorrow_at_nine_is_nine_on_the_clock_across_the_spring_change():
    # Saturday noon in Berlin (UTC+1); the clocks go forward that night, so Sunday 09:00 is UTC+2.
    now = datetime(2025, 3, 29, 12, 0, tzinfo=BERLIN)
    moment = times.tomorrow_at_nine(now, BERLIN)
    assert moment.astimezone(UTC) == utc(2025, 3, 30, 7, 0)  # not 08:00, which "24 hours later" would give
    assert moment.astimezone(BERLIN).strftime("%a %H:%M %Z") == "Sun 09:00 CEST"


def test_tomorrow_at_nine_across_the_autumn_change_in_new_york():
    now = datetime(2025, 11, 1, 22, 30, tzinfo=NEW_YORK)  # EDT, UTC-4; clocks go back that night
    assert times.tomorrow_at_nine(now, NEW_YORK).astimezone(UTC) == utc(2025, 11, 2, 14, 0)  # 09:00 EST


def test_next_monday_at_nine_after_the_clocks_go_back_and_on_a_monday():
    friday = datetime(2025, 10, 24, 18, 0, tzinfo=LONDON)  # BST; Sunday 26th the clocks go back
    assert times.next_monday_at_nine(friday, LONDON).astimezone(UTC) == utc(2025, 10, 27, 9, 0)  # 09:00 GMT
    monday = datetime(2025, 10, 27, 8, 0, tzinfo=LONDON)
    assert times.next_monday_at_nine(monday, LONDON).astimezone(UTC) == utc(2025, 11, 3, 9, 0)  # a week on


def test_later_today_is_the_next_full_hour_three_hours_on_and_only_today():
    assert times.later_today(datetime(2025, 6, 3, 14, 20, tzinfo=BERLIN), BERLIN) == datetime(
        2025, 6, 3, 18, 0, tzinfo=BERLIN
    )
    assert times.later_today(datetime(2025, 6, 3, 14, 0, tzinfo=BERLIN), BERLIN) == datetime(
        2025, 6, 3, 17, 0, tzinfo=BERLIN
    )
    assert times.later_today(datetime(2025, 6, 3, 21, 30, tzinfo=BERLIN), BERLIN) is None
    # Three real hours after 00:30 on the night the clocks go forward is 04:30 on the clock.
    night = datetime(2025, 3, 30, 0, 30, tzinfo=BERLIN)
    assert times.later_today(night, BERLIN).astimezone(UTC) == utc(2025, 3, 30, 3, 0)  # 05:00 CEST


def test_a_time_the_clocks_skip_or_show_twice():
    skipped = times.on_the_clock(datetime(2025, 3, 30).date(), datetime(2025, 1, 1, 2, 30).time(), BERLIN)
    assert skipped.astimezone(UTC) == utc(2025, 3, 30, 1, 30)
    assert skipped.astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    twice = times.on_the_clock(datetime(2025, 10, 26).date(), datetime(2025, 1, 1, 2, 30).time(), BERLIN)
    assert twice.astimezone(UTC) == utc(2025, 10, 26, 0, 30)  # the first 02:30 (CEST)


# --- the bookmark button ----------------------------------------------------------------


def test_member_bookmarks_the_thread_from_its_opening_post_without_javascript(client, world, conversation):
    client.force_login(world.member)
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert f'id="bookmark-{conversation.opening.pk}"' in page and 'aria-pressed="false">Bookmark' in page
    url = f"/p/{conversation.opening.pk}/bookmark/"
    response = client.post(url, {"action": "add"}, follow=True)
    assert "Bookmarked." in response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"#post-{conversation.opening.pk}")
    client.post(url, {"action": "add"})  # a double click keeps one bookmark
    assert Bookmark.objects.filter(user=world.member).count() == 1
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert 'aria-pressed="true">Bookmark' in page and "Remind me" in page
    client.post(url, {"action": "remove"})
    client.post(url, {"action": "remove"})
    assert not Bookmark.objects.filter(user=world.member).exists()


def test_the_htmx_toggle_answers_with_the_control(client, world, conversation):
    client.force_login(world.member)
    url = f"/p/{conversation.answer.pk}/bookmark/"
    response = client.post(url, {"action": "add"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith(
        f'<div class="bookmark-control" id="bookmark-{conversation.answer.pk}"'
    )
    assert 'aria-pressed="true"' in body and "Remind me" in body and "<html" not in body
    response = client.post(url, {"action": "remove"}, headers={"HX-Request": "true"})
    assert 'aria-pressed="false"' in response.content.decode()


def test_odd_actions_and_people_who_may_not_bookmark(client, world, conversation):
    private_post = conversation.private_thread.opening_post
    assert client.post(f"/p/{conversation.opening.pk}/bookmark/", {"action": "add"}).status_code == 302  # log in
    assert client.post(f"/p/{private_post.pk}/bookmark/", {"action": "add"}).status_code == 404
    client.force_login(world.outsider)
    assert client.post(f"/p/{private_post.pk}/bookmark/", {"action": "add"}).status_code == 404
    assert client.post("/p/999999/bookmark/", {"action": "add"}).status_code == 404
    assert client.post(f"/p/{conversation.opening.pk}/bookmark/", {"action": "delete everything"}).status_code == 400
    # Anyone signed in may keep a public post, member or not.
    assert client.post(f"/p/{conversation.opening.pk}/bookmark/", {"action": "add"}).status_code == 302
    assert not Bookmark.objects.filter(post=private_post).exists()
    assert "bookmark" not in Client().get(conversation.thread.get_absolute_url()).content.decode().lower()


def test_no_bookmark_button_on_a_hidden_post_for_those_who_cannot_read_it(client, world, conversation):
    discussions.hide_post(world.facilitator, conversation.answer, "Names a patient.")
    client.force_login(world.outsider)
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert f'id="bookmark-{conversation.answer.pk}"' not in page
    assert client.post(f"/p/{conversation.answer.pk}/bookmark/", {"action": "add"}).status_code == 404


# --- the reminder -----------------------------------------------------------------------


def _bookmark(user: User, post: Post, **fields) -> Bookmark:
    bookmark = bookmarks.add_bookmark(user, post)
    if fields:
        Bookmark.objects.filter(pk=bookmark.pk).update(**fields)
        bookmark.refresh_from_db()
    return bookmark


def test_tomorrow_at_nine_is_stored_in_utc_for_the_members_zone(client, world, conversation):
    User.objects.filter(pk=world.member.pk).update(time_zone="Europe/Berlin")
    bookmark = _bookmark(world.member, conversation.opening)
    client.force_login(world.member)
    saturday_noon = datetime(2025, 3, 29, 11, 0, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=saturday_noon):
        page = client.get(f"/bookmarks/{bookmark.pk}/").content.decode()
        assert "Tomorrow at 9:00 (Sun 30 Mar)" in page and "Next Monday at 9:00 (Mon 31 Mar)" in page
        assert "Later today, 15:00" in page
        response = client.post(f"/bookmarks/{bookmark.pk}/", {"when": "tomorrow", "note": "Read before rounds"})
    assert response.status_code == 302
    bookmark.refresh_from_db()
    assert bookmark.remind_at == utc(2025, 3, 30, 7, 0) and bookmark.note == "Read before rounds"
    with mock.patch("django.utils.timezone.now", return_value=saturday_noon):
        listing = client.get("/bookmarks/").content.decode()
    assert "Reminder: " in listing and "Sun 30 Mar 2025, 09:00 CEST" in listing and "Read before rounds" in listing


def test_a_date_and_time_of_ones_own_is_read_on_the_members_clock(client, world, conversation):
    User.objects.filter(pk=world.member.pk).update(time_zone="America/New_York")
    bookmark = _bookmark(world.member, conversation.opening)
    client.force_login(world.member)
    year = timezone.now().year + 1
    response = client.post(
        f"/bookmarks/{bookmark.pk}/", {"when": "custom", "day": f"{year}-07-01", "at": "09:00", "note": ""}
    )
    assert response.status_code == 302
    bookmark.refresh_from_db()
    assert bookmark.remind_at == utc(year, 7, 1, 13, 0)  # 09:00 EDT
    assert bookmark.reminded_at is None


@pytest.mark.parametrize(
    ("data", "error", "field"),
    [
        ({"when": "custom", "day": "2001-01-01", "at": "09:00"}, "That moment has passed", "day"),
        ({"when": "custom", "day": "yesterday-ish", "at": "09:00"}, "Enter a valid date.", "day"),
        ({"when": "custom", "day": "2030-02-31", "at": "09:00"}, "Enter a valid date.", "day"),
        ({"when": "custom", "day": "2030-01-01", "at": "25:99"}, "Enter a valid time.", "at"),
        ({"when": "custom", "day": "9999-12-31", "at": "23:59"}, "within the next five years", "day"),
        ({"when": "custom", "day": "", "at": "09:00"}, "Choose a date and a time", "day"),
        ({"when": "soon-ish"}, "Select a valid choice", "when"),
        ({"when": "tomorrow", "note": "x" * 10_000}, "at most 200 characters", "note"),
        ({"when": "tomorrow", "note": "bad\x00note"}, "Null characters are not allowed", "note"),
        ({"when": "tomorrow", "note": "evil\u202eeton"}, "control or invisible formatting", "note"),
    ],
)
def test_hostile_reminders_are_refused_and_what_was_typed_stays(client, world, conversation, data, error, field):
    bookmark = _bookmark(world.member, conversation.opening, note="before")
    client.force_login(world.member)
    response = client.post(f"/bookmarks/{bookmark.pk}/", data)
    body = response.content.decode()
    assert response.status_code == 200 and error in body
    assert f'name="{field}"' in body and "field-invalid" in body
    for name, value in data.items():
        if name in ("day", "at") and value and "\x00" not in value:
            assert f'value="{value}"' in body  # kept as typed
    if data.get("note") == "x" * 10_000:
        assert "x" * 10_000 in body
    bookmark.refresh_from_db()
    assert (bookmark.remind_at, bookmark.note) == (None, "before")


def test_later_today_late_in_the_evening_is_refused(client, world, conversation):
    bookmark = _bookmark(world.member, conversation.opening)
    client.force_login(world.member)
    with mock.patch("django.utils.timezone.now", return_value=utc(2025, 6, 3, 22, 30)):
        page = client.get(f"/bookmarks/{bookmark.pk}/").content.decode()
        assert 'value="later_today"' not in page
        response = client.post(f"/bookmarks/{bookmark.pk}/", {"when": "later_today"})
    assert "too late in the day" in response.content.decode()


def test_someone_elses_bookmark_is_a_404(client, world, conversation):
    theirs = _bookmark(world.facilitator, conversation.opening, note="Fern's")
    client.force_login(world.member)
    assert client.get(f"/bookmarks/{theirs.pk}/").status_code == 404
    assert client.post(f"/bookmarks/{theirs.pk}/", {"when": "tomorrow", "note": "mine now"}).status_code == 404
    assert client.post(f"/bookmarks/{theirs.pk}/remove/").status_code == 404
    assert client.get(f"/bookmarks/{theirs.pk}/remove/").status_code in (404, 405)
    theirs.refresh_from_db()
    assert (theirs.note, theirs.remind_at) == ("Fern's", None)
    assert client.get("/bookmarks/").content.decode().count("bookmark-item") == 0


def test_removing_from_the_list(client, world, conversation):
    bookmark = _bookmark(world.member, conversation.opening)
    client.force_login(world.member)
    response = client.post(f"/bookmarks/{bookmark.pk}/remove/", follow=True)
    assert "Bookmark removed." in response.content.decode() and not Bookmark.objects.exists()


def test_the_inline_reminder_form_saves_and_closes(client, world, conversation):
    bookmark = _bookmark(world.member, conversation.answer)
    client.force_login(world.member)
    htmx = {"HX-Request": "true"}
    opened = client.get(f"/bookmarks/{bookmark.pk}/?inline=1", headers=htmx).content.decode()
    assert "reminder-form" in opened and "Save reminder" in opened and "<html" not in opened
    bad = client.post(
        f"/bookmarks/{bookmark.pk}/",
        {"inline": "1", "when": "custom", "day": "2001-01-01", "at": "09:00"},
        headers=htmx,
    )
    assert bad.status_code == 200 and "That moment has passed" in bad.content.decode()
    saved = client.post(
        f"/bookmarks/{bookmark.pk}/", {"inline": "1", "when": "tomorrow"}, headers=htmx
    ).content.decode()
    assert "reminder-form" not in saved and "Reminder: " in saved and "UTC</time>" in saved


# --- the Bookmarks page -----------------------------------------------------------------


def test_the_list_is_newest_first_with_where_each_post_is(client, world, conversation):
    older = _bookmark(world.member, conversation.opening, created_at=timezone.now() - timedelta(days=2))
    _bookmark(world.member, conversation.answer)
    client.force_login(world.member)
    page = client.get("/bookmarks/").content.decode()
    assert page.index("A reply by Fern Facilitator") < page.index("The thread in Ward Commons")
    assert "Try the abbey scale first." in page and "No reminder" in page
    assert f"/bookmarks/{older.pk}/" in page
    menu = client.get("/").content.decode()
    assert 'href="/bookmarks/">Bookmarks</a>' in menu


def _vanishing(world, conversation):
    """Bookmarks of the member's that, one way or another, they can no longer read."""
    moved = factories.thread(world.owner, world.public, title="Moved away")
    held = factories.thread(world.owner, world.public, title="Held after an edit")
    private_reply = discussions.reply(world.facilitator, conversation.private_thread, "Private answer")
    kept = {
        "hidden": _bookmark(world.member, conversation.answer),
        "deleted": _bookmark(world.member, conversation.nested),
        "moved": _bookmark(world.member, moved.opening_post),
        "held": _bookmark(world.member, held.opening_post),
        "private": _bookmark(world.member, private_reply),
    }
    discussions.hide_post(world.facilitator, conversation.answer, "Names a patient.")
    discussions.delete_post(world.owner, conversation.nested)
    discussions.move_thread(world.admin, moved, world.elsewhere)
    # An edit that adds links sends a post back for review (discussions.services.edit_post).
    Post.objects.filter(pk=held.opening_post.pk).update(state=Post.State.HELD, state_changed_at=timezone.now())
    communities.leave(world.member, world.private)
    return kept


def test_bookmarks_of_posts_the_member_can_no_longer_read_vanish(client, world, conversation):
    _vanishing(world, conversation)
    still = _bookmark(world.member, conversation.opening)
    client.force_login(world.member)
    page = client.get("/bookmarks/").content.decode()
    assert page.count('class="bookmark-item"') == 1 and f"/bookmarks/{still.pk}/" in page
    for title in ("Moved away", "Held after an edit", "Yak canary case", "Private answer", "abbey", "chart it hourly"):
        assert title not in page
    for bookmark in Bookmark.objects.exclude(pk=still.pk):
        assert client.get(f"/bookmarks/{bookmark.pk}/").status_code == 404


def test_banned_from_a_private_community_the_bookmark_goes_but_a_public_one_stays(client, world, conversation):
    private = _bookmark(world.member, conversation.private_thread.opening_post)
    public = _bookmark(world.member, conversation.opening)
    for community in (world.private, world.public):
        membership = Membership.objects.get(user=world.member, community=community)
        communities.remove_member(world.owner, community, membership.pk, ban=True)
    client.force_login(world.member)
    page = client.get("/bookmarks/").content.decode()
    # A public community's posts stay readable to everyone, banned or not (policy.can_view_community).
    assert f"/bookmarks/{public.pk}/" in page and f"/bookmarks/{private.pk}/" not in page


def test_the_bookmarks_page_costs_the_same_queries_for_few_and_many(
    client, world, conversation, django_assert_max_num_queries, settings
):
    settings.PAGE_CACHE_SECONDS = 0
    User.objects.filter(pk=world.member.pk).update(time_zone="Asia/Kolkata")
    client.force_login(world.member)

    def count() -> int:
        with django_assert_max_num_queries(BOOKMARKS_PAGE_BUDGET) as captured:
            response = client.get("/bookmarks/")
        assert response.status_code == 200
        return len(captured)

    _bookmark(world.member, conversation.opening, remind_at=timezone.now() + timedelta(days=1))
    few = count()
    for thread in [factories.thread(world.owner, world.public, title=f"Thread {i}", replies=1) for i in range(40)]:
        reply = Post.objects.filter(thread=thread, depth=1).get()
        _bookmark(world.member, reply, note=f"note {thread.pk}", remind_at=timezone.now() + timedelta(hours=5))
    _bookmark(world.member, conversation.private_thread.opening_post)
    many = count()
    assert few == many <= BOOKMARKS_PAGE_BUDGET
    page = client.get("/bookmarks/").content.decode()
    assert page.count('class="bookmark-item"') == 30 and "IST</time>" in page and "Page 1 of 2" in page


# Session, user, the count of bookmarks, the page of them, and the bell: a look for anything
# unread, then the count (this member has unread notifications).
BOOKMARKS_PAGE_BUDGET = 6


# --- delivering reminders ---------------------------------------------------------------


def _due(user, post, *, minutes_ago: int = 1, **fields) -> Bookmark:
    return _bookmark(user, post, remind_at=timezone.now() - timedelta(minutes=minutes_ago), **fields)


def test_a_due_reminder_becomes_a_notification_linking_to_the_post_and_an_email(client, world, conversation):
    _due(world.member, conversation.answer, note="Try it tonight")
    assert deliver_reminders.apply().get() == 1
    notification = Notification.objects.get(user=world.member, kind="reminder")
    assert notification.post_id == conversation.answer.pk and notification.read_at is None
    client.force_login(world.member)
    page = client.get("/notifications/").content.decode()
    # A row of the bell's list (notifications.display), opened by a POST that reads it and leads to the post.
    assert "Reminder you set: “How do you assess pain in delirium?”" in page
    assert f'action="/notifications/{notification.pk}/open/"' in page
    opened = client.post(f"/notifications/{notification.pk}/open/")
    assert opened.status_code == 302 and opened["Location"] == f"/p/{conversation.answer.pk}/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    mail = OutboundEmail.objects.get(kind="bookmark.reminder")
    assert mail.to == world.member.email and mail.subject == "Reminder: How do you assess pain in delirium?"
    assert f"/p/{conversation.answer.pk}/" in mail.body_text and "Try it tonight" in mail.body_text
    # The notification sweep does not mail it a second time.
    from notifications import email as notification_email

    notification_email.sweep(timezone.now())
    assert OutboundEmail.objects.filter(to=world.member.email).count() == 1


def test_no_email_when_the_member_did_not_ask_for_it_or_paused_email(world, conversation):
    User.objects.filter(pk=world.member.pk).update(email_notifications=["reply"])
    User.objects.filter(pk=world.facilitator.pk).update(email_paused=True)
    _due(world.member, conversation.opening)
    _due(world.facilitator, conversation.opening)
    assert bookmarks.deliver_due_reminders(timezone.now()) == 2
    assert Notification.objects.filter(kind="reminder").count() == 2
    assert not OutboundEmail.objects.filter(kind="bookmark.reminder").exists()


def test_a_reminder_not_yet_due_waits(world, conversation):
    _bookmark(world.member, conversation.opening, remind_at=timezone.now() + timedelta(minutes=5))
    assert bookmarks.deliver_due_reminders(timezone.now()) == 0
    assert bookmarks.deliver_due_reminders(timezone.now() + timedelta(minutes=5)) == 1


def test_each_reminder_is_delivered_once_however_often_the_task_runs(world, conversation):
    _due(world.member, conversation.opening)
    _due(world.facilitator, conversation.answer)
    now = timezone.now()
    assert bookmarks.deliver_due_reminders(now) == 2
    assert bookmarks.deliver_due_reminders(now) == 0
    assert deliver_reminders.apply(kwargs={"now": (now + timedelta(minutes=1)).isoformat()}).get() == 0
    assert Notification.objects.filter(kind="reminder").count() == 2
    assert OutboundEmail.objects.filter(kind="bookmark.reminder").count() == 2


def test_a_run_that_crashes_half_way_delivers_nothing_and_the_next_run_delivers_each_once(world, conversation):
    for person in (world.member, world.facilitator, world.owner):
        _due(person, conversation.opening)
    real = bookmarks.email.queue_reminder
    calls = []

    def crash_on_the_second(bookmark):
        calls.append(bookmark.pk)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        real(bookmark)

    with mock.patch("bookmarks.services.email.queue_reminder", crash_on_the_second), pytest.raises(RuntimeError):
        bookmarks.deliver_due_reminders(timezone.now())
    assert not Notification.objects.filter(kind="reminder").exists()
    assert not OutboundEmail.objects.filter(kind="bookmark.reminder").exists()
    assert Bookmark.objects.filter(reminded_at__isnull=True).count() == 3
    assert bookmarks.deliver_due_reminders(timezone.now()) == 3
    assert bookmarks.deliver_due_reminders(timezone.now()) == 0
    assert Notification.objects.filter(kind="reminder").count() == 3
    assert OutboundEmail.objects.filter(kind="bookmark.reminder").count() == 3


def test_reminders_for_posts_no_longer_readable_are_never_delivered_or_mailed(world, conversation):
    kept = _vanishing(world, conversation)
    Bookmark.objects.filter(pk__in=[b.pk for b in kept.values()]).update(
        remind_at=timezone.now() - timedelta(minutes=1)
    )
    assert bookmarks.deliver_due_reminders(timezone.now()) == 0
    assert not Notification.objects.filter(kind="reminder").exists()
    assert not OutboundEmail.objects.filter(kind="bookmark.reminder").exists()
    # Dealt with: a later run does not look at them again.
    assert not Bookmark.objects.filter(reminded_at__isnull=True, remind_at__isnull=False).exists()


def test_a_reminder_of_someone_who_left_or_deleted_their_account_is_not_delivered(world, conversation):
    from portability.deletion import delete_account

    _due(world.facilitator, conversation.opening)
    User.objects.filter(pk=world.facilitator.pk).update(is_active=False)
    _due(world.member, conversation.opening)
    delete_account(world.member)
    assert not Bookmark.objects.filter(user=world.member).exists()
    assert bookmarks.deliver_due_reminders(timezone.now()) == 0


def test_a_queued_reminder_email_is_not_sent_once_the_post_is_hidden_or_the_bookmark_removed(world, conversation):
    from core import mail

    _due(world.member, conversation.answer)
    _due(world.facilitator, conversation.nested)
    bookmarks.deliver_due_reminders(timezone.now())
    to_member, to_fern = (
        OutboundEmail.objects.get(kind="bookmark.reminder", to=p.email) for p in (world.member, world.facilitator)
    )
    assert mail.still_deliverable(to_member) and mail.still_deliverable(to_fern)
    discussions.hide_post(world.owner, conversation.answer, "Names a patient.")
    bookmarks.remove_bookmark(world.facilitator, conversation.nested)
    assert not mail.still_deliverable(to_member) and not mail.still_deliverable(to_fern)


def test_a_new_moment_after_a_delivered_reminder_reminds_again(world, conversation):
    bookmark = _due(world.member, conversation.opening)
    bookmarks.deliver_due_reminders(timezone.now())
    Notification.objects.filter(user=world.member).update(read_at=timezone.now())
    later = timezone.now() + timedelta(hours=1)
    bookmarks.set_reminder(world.member, bookmark, remind_at=later, note="")
    assert bookmarks.deliver_due_reminders(later) == 1
    notification = Notification.objects.get(user=world.member, kind="reminder")
    assert notification.read_at is None and notification.created_at == later


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_deliver_each_reminder_once(world, conversation):
    from tests.concurrency import run_together
    from tests.services import database_is_postgres

    if not database_is_postgres():
        pytest.skip("row locks need PostgreSQL")
    for person in (world.member, world.facilitator, world.owner, world.outsider):
        _due(person, conversation.opening)
    now = timezone.now()
    results = run_together(*(lambda: bookmarks.deliver_due_reminders(now) for _ in range(3)))
    assert sorted(results) == [0, 0, 4] or sum(r for r in results if isinstance(r, int)) == 4, results
    assert Notification.objects.filter(kind="reminder").count() == 4
    assert OutboundEmail.objects.filter(kind="bookmark.reminder").count() == 4


def test_the_members_data_download_lists_their_bookmarks_with_notes(world, conversation):
    from portability import member

    bookmark = _bookmark(world.member, conversation.answer, note="For the night team")
    [entry] = member.collect(world.member)["bookmarks"]
    assert entry["post"] == conversation.answer.pk and entry["note"] == "For the night team"
    assert entry["thread"] == conversation.thread.pk and entry["created_at"] == bookmark.created_at.isoformat()
