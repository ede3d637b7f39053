"""Newcomers: ways to start, the first contribution celebrated once, buddies, and "good first reply"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from communities import services as community_services
from communities.models import AuditEntry, Community, Membership
from core.models import OutboundEmail
from digests.content import first_contributions
from discussions import services as discussions
from discussions.models import Post, Thread
from notifications import email as notification_email
from notifications.models import Notification
from tests import factories
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


@pytest.fixture
def nina(world, make_user):
    """A newcomer in the public community: joined, contributed nothing yet."""
    user = make_user("nina", display_name="Nina Newcomer")
    factories.membership(user, world.public)
    return user


def celebrations(user, community) -> int:
    return Notification.objects.filter(user=user, community=community, kind=Kind.FIRST_CONTRIBUTION).count()


# --- The first contribution, celebrated once ---------------------------------------------------


def test_first_reply_is_celebrated_in_the_bell_once(client, world, conversation, nina):
    discussions.reply(nina, conversation.thread, "Hello, first time here.")
    discussions.reply(nina, conversation.thread, "And a second post.")
    discussions.start_thread(nina, world.public, title="My own question", body="How?", kind="question")
    assert celebrations(nina, world.public) == 1
    assert Membership.objects.get(user=nina, community=world.public).first_contributed_at is not None
    client.force_login(nina)
    page = client.get("/notifications/").content.decode()
    assert "Your first contribution to" in page and "Ward Commons" in page
    assert "Thank you, and welcome in!" in page


def test_double_submitted_first_post_celebrates_once(world, conversation, nina):
    for _ in range(2):
        discussions.reply(nina, conversation.thread, "Typed once, sent twice.", submission_key="k-1")
    assert Post.objects.filter(author=nina).count() == 1
    assert celebrations(nina, world.public) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_posts_celebrate_once(world, conversation, nina):
    thread = Thread.objects.get(pk=conversation.thread.pk)
    other = factories.thread(world.owner, world.public, title="Another thread")
    results = run_together(
        lambda: discussions.reply(nina, thread, "First, at the same instant."),
        lambda: discussions.reply(nina, other, "Also first, at the same instant."),
        lambda: discussions.start_thread(nina, world.public, title="Mine", body="Hello"),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert celebrations(nina, world.public) == 1


def test_a_retried_announcement_makes_no_second_row(world, conversation, nina):
    from notifications import receivers

    post = discussions.reply(nina, conversation.thread, "First.")
    # What a retried task or a second delivery of the announcement would do.
    receivers.first_contribution(None, community=world.public, user=nina, kind="reply", post=post)
    assert celebrations(nina, world.public) == 1


def test_a_rolled_back_post_celebrates_nothing(world, conversation, nina):
    with pytest.raises(RuntimeError), transaction.atomic():
        discussions.reply(nina, conversation.thread, "Lost in a rollback.")
        raise RuntimeError
    assert celebrations(nina, world.public) == 0
    assert Membership.objects.get(user=nina, community=world.public).first_contributed_at is None
    discussions.reply(nina, conversation.thread, "Now for real.")
    assert celebrations(nina, world.public) == 1


def test_each_community_celebrates_its_own_first(world, conversation, nina):
    factories.membership(nina, world.private)
    discussions.reply(nina, conversation.thread, "Public first.")
    discussions.start_thread(nina, world.private, title="Private first", body="Hi")
    assert celebrations(nina, world.public) == 1 and celebrations(nina, world.private) == 1


def test_first_contribution_is_in_the_digests_celebrate_block(world, conversation, nina):
    post = discussions.reply(nina, conversation.thread, "Hello all.")
    now = timezone.now() + timedelta(seconds=1)
    firsts = first_contributions([world.public.pk], now - timedelta(days=7), now)
    assert post.pk in [p.pk for p in firsts]


def test_celebration_is_gone_once_the_member_leaves(client, world, conversation, nina):
    discussions.reply(nina, conversation.thread, "Hello.")
    community_services.leave(nina, world.public)
    client.force_login(nina)
    assert "Your first contribution" not in client.get("/notifications/").content.decode()


# --- Ways to start -----------------------------------------------------------------------------


@pytest.fixture
def starting_points(world, conversation):
    """A question marked "good first reply", one unanswered for three days, a resource, the next chat."""
    marked = factories.thread(world.owner, world.public, title="Which pain scale on nights?", kind="question")
    discussions.set_thread_state(world.facilitator, marked, "good_first_reply")
    factories.thread(
        world.owner,
        world.public,
        title="Who audits handovers?",
        kind="question",
        created_at=timezone.now() - timedelta(days=3),
    )
    factories.thread(world.owner, world.public, title="Fresh unanswered question", kind="question")
    factories.resource(world.owner, world.public, title="Night handover card", url="https://example.org/card")
    factories.event(world.owner, world.public, title="Monthly case chat", starts=timedelta(days=3))
    return marked


def test_newcomer_sees_ways_to_start_on_the_community_page(client, world, starting_points, nina):
    client.force_login(nina)
    page = client.get("/c/commons/").content.decode()
    ways = page.split('id="ways-to-start-heading"')[1].split("</section>")[0]
    assert "Which pain scale on nights?" in ways and "Good first reply" in ways
    assert "Who audits handovers?" in ways  # unanswered for more than two days
    assert "Fresh unanswered question" not in ways  # not yet two days old
    assert "Night handover card" in ways and "Monthly case chat" in ways


def test_contributors_outsiders_and_visitors_see_no_ways_to_start(client, world, starting_points):
    client.force_login(world.member)  # started the conversation's thread
    assert "Ways to start" not in client.get("/c/commons/").content.decode()
    client.force_login(world.outsider)
    assert "Ways to start" not in client.get("/c/commons/").content.decode()
    client.logout()
    assert "Ways to start" not in client.get("/c/commons/").content.decode()


def test_ways_to_start_leave_once_the_member_contributes(client, world, starting_points, nina):
    discussions.reply(nina, starting_points, "I use PAINAD.")
    client.force_login(nina)
    assert "Ways to start" not in client.get("/c/commons/").content.decode()


def test_a_resource_already_marked_helpful_is_not_offered(client, world, starting_points, nina):
    from resources import services as resources
    from resources.models import Resource

    resources.toggle_helpful(nina, Resource.objects.get(title="Night handover card"))
    client.force_login(nina)
    assert "Night handover card" not in client.get("/c/commons/").content.decode()


def test_newcomer_sees_ways_to_start_on_their_home(client, world, starting_points, nina):
    client.force_login(nina)
    home = client.get("/").content.decode()
    ways = home.split('id="ways-to-start-heading"')[1].split("</section>")[0]
    assert "Which pain scale on nights?" in ways and "Ward Commons" in ways and "Monthly case chat" in ways


def test_ways_to_start_cost_the_same_queries_with_few_and_many_threads(
    client, world, starting_points, nina, django_assert_max_num_queries
):
    client.force_login(nina)
    client.get("/c/commons/")  # the day's visit is recorded once
    with django_assert_max_num_queries(12) as few:
        client.get("/c/commons/")
    for i in range(40):
        factories.thread(
            world.owner,
            world.public,
            title=f"Question {i}",
            kind="question",
            created_at=timezone.now() - timedelta(days=4),
        )
        factories.resource(world.owner, world.public, title=f"Card {i}", url=f"https://example.org/{i}")
    with django_assert_max_num_queries(len(few)):
        page = client.get("/c/commons/").content.decode()
    assert "Ways to start" in page


# --- Good first reply --------------------------------------------------------------------------


def test_facilitator_marks_a_question_good_first_reply_from_the_thread_page(client, world, conversation):
    client.force_login(world.facilitator)
    url = f"/c/commons/t/{conversation.thread.pk}/moderate/"
    page = client.post(url, {"action": "good_first_reply"}, follow=True).content.decode()
    assert "Marked as a good first reply" in page and "Unmark good first reply" in page
    assert Thread.objects.get(pk=conversation.thread.pk).good_first_reply
    entry = AuditEntry.objects.get(action="thread.good_first_reply")
    assert entry.actor == world.facilitator and "How do you assess pain" in entry.detail
    client.post(url, {"action": "not_good_first_reply"})
    assert not Thread.objects.get(pk=conversation.thread.pk).good_first_reply


def test_member_cannot_mark_good_first_reply(client, world, conversation):
    client.force_login(world.member)
    response = client.post(f"/c/commons/t/{conversation.thread.pk}/moderate/", {"action": "good_first_reply"})
    assert response.status_code == 403
    assert not Thread.objects.get(pk=conversation.thread.pk).good_first_reply


def test_only_questions_are_good_first_replies(client, world):
    story = factories.thread(world.owner, world.public, title="A story", kind="story")
    client.force_login(world.facilitator)
    page = client.post(f"/c/commons/t/{story.pk}/moderate/", {"action": "good_first_reply"}, follow=True)
    assert "Only a question can be marked" in page.content.decode()
    assert not Thread.objects.get(pk=story.pk).good_first_reply


def test_mark_good_first_reply_needs_csrf(world, conversation):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.facilitator)
    response = client.post(f"/c/commons/t/{conversation.thread.pk}/moderate/", {"action": "good_first_reply"})
    assert response.status_code == 403
    assert not Thread.objects.get(pk=conversation.thread.pk).good_first_reply


# --- Buddies -----------------------------------------------------------------------------------


@pytest.fixture
def buddies_on(world):
    Community.objects.filter(pk=world.public.pk).update(buddies=True)
    world.public.refresh_from_db()
    # Mira takes part: active level.
    Membership.objects.filter(user=world.member, community=world.public).update(level=Membership.Level.ACTIVE)
    return world


def pair(client, world, newcomer, username):
    target = Membership.objects.get(user=newcomer, community=world.public)
    return client.post(f"/c/commons/members/{target.pk}/buddy/", {"username": username}, follow=True)


def test_facilitator_pairs_a_newcomer_with_an_active_member_and_both_are_told(client, buddies_on, nina):
    world = buddies_on
    client.force_login(world.facilitator)
    page = pair(client, world, nina, "mira").content.decode()
    assert "buddy is Mira Member; both are told." in page
    assert Membership.objects.get(user=nina, community=world.public).buddy == world.member
    assert Notification.objects.filter(user=nina, kind=Kind.BUDDY_PAIRED, actor=world.member).exists()
    assert Notification.objects.filter(user=world.member, kind=Kind.BUDDY_ASSIGNED, actor=nina).exists()
    entry = AuditEntry.objects.get(action="member.buddy")
    assert entry.target_user == nina and entry.detail == "Mira Member"
    client.force_login(nina)
    community_page = client.get("/c/commons/").content.decode()
    assert "Your buddy:" in community_page and "Mira Member" in community_page
    bell = client.get("/notifications/").content.decode()
    assert "is your buddy in" in bell


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("peripheral", "must be a core or active member"),
        ("otto", "must be an active member of this community"),  # not a member
        ("bo", "must be an active member of this community"),  # banned
        ("nobody-at-all", "must be an active member of this community"),
        ("<script>alert(1)</script>'; DROP TABLE x; --", "must be an active member of this community"),
    ],
)
def test_pairing_with_a_peripheral_member_or_a_non_member_is_refused(client, buddies_on, nina, make_user, who, message):
    world = buddies_on
    if who == "peripheral":
        quiet = make_user("quiet", display_name="Quiet Reader")
        factories.membership(quiet, world.public, level=Membership.Level.PERIPHERAL)
        who = "quiet"
    client.force_login(world.facilitator)
    page = pair(client, world, nina, who).content.decode()
    assert message in page and "<script>alert" not in page
    assert Membership.objects.get(user=nina, community=world.public).buddy is None
    assert not AuditEntry.objects.filter(action="member.buddy").exists()
    assert not Notification.objects.filter(kind__in=[Kind.BUDDY_PAIRED, Kind.BUDDY_ASSIGNED]).exists()


def test_pairing_is_refused_where_buddies_are_off_and_for_members(client, world, nina):
    Membership.objects.filter(user=world.member, community=world.public).update(level=Membership.Level.CORE)
    client.force_login(world.facilitator)
    assert "Buddies are not turned on" in pair(client, world, nina, "mira").content.decode()
    Community.objects.filter(pk=world.public.pk).update(buddies=True)
    client.force_login(world.member)
    assert pair(client, world, nina, "mira").status_code == 403
    assert Membership.objects.get(user=nina, community=world.public).buddy is None


def test_buddy_is_told_of_the_newcomers_first_post_in_the_bell_and_by_email(buddies_on, conversation, nina):
    world = buddies_on
    target = Membership.objects.get(user=nina, community=world.public)
    community_services.pair_buddy(world.facilitator, world.public, target.pk, "mira")
    post = discussions.reply(nina, conversation.thread, "Hello, my first post.")
    discussions.reply(nina, conversation.thread, "My second post.")
    told = Notification.objects.filter(user=world.member, kind=Kind.BUDDY_POST)
    assert [n.post_id for n in told] == [post.pk]
    notification_email.sweep(timezone.now())
    # One email for the conversation (the thread), which tells of the first post among the rest.
    mails = OutboundEmail.objects.filter(to=world.member.email)
    assert mails.count() == 1
    assert "(your buddy's newcomer) wrote a first post in" in mails.get().body_text


def test_buddy_who_turned_the_email_off_is_told_in_the_bell_only(buddies_on, conversation, nina):
    world = buddies_on
    world.member.email_notifications = [k for k in world.member.email_notifications if k != "buddy_post"]
    world.member.save(update_fields=["email_notifications"])
    target = Membership.objects.get(user=nina, community=world.public)
    community_services.pair_buddy(world.facilitator, world.public, target.pk, "mira")
    discussions.reply(nina, conversation.thread, "Hello.")
    notification_email.sweep(timezone.now())
    assert Notification.objects.filter(user=world.member, kind=Kind.BUDDY_POST).count() == 1
    assert not any("wrote a first post" in m.body_text for m in OutboundEmail.objects.filter(to=world.member.email))


def test_facilitator_unpairs_a_buddy(client, buddies_on, nina):
    world = buddies_on
    target = Membership.objects.get(user=nina, community=world.public)
    community_services.pair_buddy(world.facilitator, world.public, target.pk, "mira")
    client.force_login(world.facilitator)
    dashboard = client.get("/c/commons/facilitate/").content.decode()
    assert "Buddy: Mira Member" in dashboard
    page = client.post(f"/c/commons/members/{target.pk}/unbuddy/", follow=True).content.decode()
    assert "no longer has a buddy" in page
    assert Membership.objects.get(pk=target.pk).buddy is None
    assert AuditEntry.objects.filter(action="member.unbuddy", target_user=nina).exists()
    client.force_login(nina)
    assert "Your buddy:" not in client.get("/c/commons/").content.decode()


def test_owner_turns_buddies_on_in_community_settings(client, world):
    client.force_login(world.facilitator)
    data = {
        "name": world.public.name,
        "domain": world.public.domain,
        "description": world.public.description,
        "default_cadence": world.public.default_cadence,
        "buddies": "on",
    }
    response = client.post("/c/commons/edit/", data)
    assert response.status_code == 302
    assert Community.objects.get(pk=world.public.pk).buddies
