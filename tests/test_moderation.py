"""Moderation refinements: bans with a reason and an end date, confirm pages, the audit log, facilitator alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from communities import audit, policy
from communities import services as communities
from communities.models import AuditEntry, Ban, Membership
from core.models import OutboundEmail
from discussions import services as discussions
from notifications import alerts
from notifications import email as notify
from notifications.models import AlertSettings, Notification, UnansweredAlert
from tests import factories

pytestmark = pytest.mark.django_db
State, Role = Membership.State, Membership.Role


def membership(user, community) -> Membership:
    return Membership.objects.get(user=user, community=community)


def in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


# --- Banning -------------------------------------------------------------------------


def test_ban_asks_first_then_bans_with_reason_and_date_and_tells_the_person_once(client, world):
    client.force_login(world.facilitator)
    mira = membership(world.member, world.private)
    page = client.get(f"/c/circle/members/{mira.pk}/ban/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ban Mira Member from Zebra Quince Circle?" in html and 'name="reason"' in html
    assert membership(world.member, world.private).state == State.ACTIVE  # the page changed nothing

    response = client.post(f"/c/circle/members/{mira.pk}/ban/", {"reason": "Spam links", "until": in_days(10)})
    assert response.status_code == 302
    mira.refresh_from_db()
    assert mira.state == State.BANNED
    ban = Ban.objects.get(membership=mira)
    assert ban.reason == "Spam links" and ban.previous_role == Role.MEMBER and ban.lifted_at is None
    assert timezone.localtime(ban.until).date() == timezone.localdate() + timedelta(days=10)
    # Told once, with the reason and the date.
    [mail] = OutboundEmail.objects.filter(to=world.member.email, kind="membership.banned")
    assert "Spam links" in mail.body_text and audit.day_words(ban.until) in mail.body_text
    # Banned: cannot post, cannot see the private community, cannot rejoin.
    fresh = Membership.objects.get(pk=mira.pk).community
    assert not policy.can_post(world.member, fresh)
    client.force_login(world.member)
    assert client.get("/c/circle/").status_code == 404
    # In the log, in words.
    entry = AuditEntry.objects.get(community=world.private, action="member.ban")
    assert (
        audit.describe(entry) == f"Fern Facilitator banned Mira Member until {audit.day_words(ban.until)}: Spam links"
    )


def test_banned_member_of_a_public_community_cannot_post_or_rejoin(client, world):
    mira = membership(world.member, world.public)
    communities.remove_member(world.facilitator, world.public, mira.pk, ban=True, reason="Rude")
    client.force_login(world.member)
    assert not policy.can_post(world.member, world.public)
    response = client.post("/c/commons/join/", follow=True)
    assert "You can&#39;t join this community." in response.content.decode()
    assert membership(world.member, world.public).state == State.BANNED


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"reason": ""}, "This field is required."),
        ({"reason": "   "}, "This field is required."),
        ({"reason": "Spam", "until": in_days(0)}, "Choose a day after today, or leave it empty."),
        ({"reason": "Spam", "until": in_days(-3)}, "Choose a day after today, or leave it empty."),
        ({"reason": "Spam", "until": "not a date"}, "Enter a valid date."),
        ({"reason": "x" * 301}, "Ensure this value has at most 300 characters"),
    ],
)
def test_an_invalid_ban_shows_the_confirm_page_again_and_bans_no_one(client, world, data, error):
    client.force_login(world.facilitator)
    mira = membership(world.member, world.public)
    response = client.post(f"/c/commons/members/{mira.pk}/ban/", data)
    assert response.status_code == 400
    assert error in response.content.decode().replace("&#x27;", "'")
    assert membership(world.member, world.public).state == State.ACTIVE
    assert not Ban.objects.exists() and not OutboundEmail.objects.filter(kind="membership.banned").exists()


def test_remove_asks_first(client, world):
    client.force_login(world.facilitator)
    mira = membership(world.member, world.public)
    page = client.get(f"/c/commons/members/{mira.pk}/remove/")
    assert page.status_code == 200 and "Remove Mira Member from Ward Commons?" in page.content.decode()
    assert membership(world.member, world.public).state == State.ACTIVE
    client.post(f"/c/commons/members/{mira.pk}/remove/")
    assert membership(world.member, world.public).state == State.LEFT


def test_other_actions_are_not_pages(client, world):
    client.force_login(world.facilitator)
    mira = membership(world.member, world.public)
    assert client.get(f"/c/commons/members/{mira.pk}/unban/").status_code == 405
    assert client.get(f"/c/commons/members/{mira.pk}/teleport/").status_code == 404


def test_the_ban_ends_by_itself_once_when_its_date_passes(world):
    mira = membership(world.member, world.public)
    until = timezone.now() + timedelta(days=2)
    communities.remove_member(world.facilitator, world.public, mira.pk, ban=True, reason="Cool off", until=until)
    world.public.refresh_from_db()
    assert world.public.member_count == 2
    assert communities.lift_expired_bans(until - timedelta(minutes=1)) == 0
    assert membership(world.member, world.public).state == State.BANNED
    later = until + timedelta(minutes=5)
    assert communities.lift_expired_bans(later) == 1
    assert communities.lift_expired_bans(later) == 0  # run twice: lifted once
    mira.refresh_from_db()
    assert (mira.state, mira.role) == (State.ACTIVE, Role.MEMBER)
    assert policy.can_post(world.member, Membership.objects.get(pk=mira.pk).community)
    world.public.refresh_from_db()
    assert world.public.member_count == 3
    assert AuditEntry.objects.filter(action="member.ban_ended", target_user=world.member).count() == 1
    assert Ban.objects.get(membership=mira).lifted_at == later


def test_the_beat_task_lifts_expired_bans(world):
    from django.conf import settings

    from communities.tasks import lift_expired_bans

    assert settings.CELERY_BEAT_SCHEDULE["lift-expired-bans"]["task"] == "communities.lift_expired_bans"
    mira = membership(world.member, world.public)
    communities.remove_member(
        world.facilitator, world.public, mira.pk, ban=True, reason="x", until=timezone.now() + timedelta(hours=1)
    )
    Ban.objects.update(until=timezone.now() - timedelta(minutes=1))
    assert lift_expired_bans() == 1 and lift_expired_bans() == 0


def test_unban_gives_back_the_role_and_only_an_owner_lifts_a_former_facilitators_ban(client, world):
    fern = membership(world.facilitator, world.public)
    communities.remove_member(world.owner, world.public, fern.pk, ban=True, reason="Abused the role")
    fern.refresh_from_db()
    assert (fern.state, fern.role) == (State.BANNED, Role.MEMBER)
    Membership.objects.create(user=world.outsider, community=world.public, role=Role.FACILITATOR)
    client.force_login(world.outsider)
    response = client.post(f"/c/commons/members/{fern.pk}/unban/", follow=True)
    assert "Only an owner can lift the ban" in response.content.decode()
    assert membership(world.facilitator, world.public).state == State.BANNED
    client.force_login(world.owner)
    client.post(f"/c/commons/members/{fern.pk}/unban/")
    fern.refresh_from_db()
    assert (fern.state, fern.role) == (State.ACTIVE, Role.FACILITATOR)
    assert Ban.objects.get(membership=fern).lifted_by == world.owner
    entry = AuditEntry.objects.get(action="member.unban")
    assert audit.describe(entry) == "Olive Owner lifted the ban on Fern Facilitator"


# --- The audit log -------------------------------------------------------------------------


def test_the_audit_log_is_paged_filtered_and_in_words(client, world, django_assert_max_num_queries):
    for _ in range(60):
        audit.record(world.public, world.facilitator, "member.level", target_user=world.member, detail="core")
    mira = membership(world.member, world.public)
    communities.remove_member(world.facilitator, world.public, mira.pk, ban=True, reason="spam")
    client.force_login(world.facilitator)
    with django_assert_max_num_queries(12):
        page = client.get("/c/commons/facilitate/audit/")
    html = page.content.decode()
    assert html.count("<li><time") == 50
    assert "Fern Facilitator banned Mira Member: spam" in html  # newest first
    assert "Page 1 of 2" in html
    second = client.get("/c/commons/facilitate/audit/", {"page": 2}).content.decode()
    assert "Olive Owner created the community" in second
    bans = client.get("/c/commons/facilitate/audit/", {"action": "member.ban"}).content.decode()
    assert bans.count("<li><time") == 1
    owner = client.get("/c/commons/facilitate/audit/", {"person": "olive"}).content.decode()
    assert "Olive Owner created the community" in owner and "Mira Member" not in owner
    nobody = client.get("/c/commons/facilitate/audit/", {"person": "nobody-here"}).content.decode()
    assert "No entries match these filters." in nobody


def test_the_audit_log_is_read_only_in_the_admin(world):
    admin = Client()
    admin.force_login(world.admin)
    entry = AuditEntry.objects.filter(community=world.public).first()
    assert admin.get("/admin/communities/auditentry/").status_code == 200
    assert admin.get("/admin/communities/auditentry/add/").status_code == 403
    assert admin.get(f"/admin/communities/auditentry/{entry.pk}/delete/").status_code == 403
    change = admin.get(f"/admin/communities/auditentry/{entry.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    admin.post(f"/admin/communities/auditentry/{entry.pk}/change/", {"action": "forged"})
    entry.refresh_from_db()
    assert entry.action == "community.create"


# --- Facilitator alerts ----------------------------------------------------------------------


def newcomer_question(world, *, hours_ago: float = 25, **options):
    Membership.objects.filter(user=world.member, community=world.public).update(
        joined_at=timezone.now() - timedelta(days=3)
    )
    return factories.thread(
        world.member,
        world.public,
        title="Where do I start with PAINAD?",
        kind="question",
        created_at=timezone.now() - timedelta(hours=hours_ago),
        **options,
    )


def test_an_unanswered_newcomer_question_alerts_each_facilitator_once(world):
    question = newcomer_question(world)
    now = timezone.now()
    assert alerts.alert_unanswered(now) == 1
    assert alerts.alert_unanswered(now) == 0  # run twice: told once
    told = Notification.objects.filter(kind="unanswered", post=question.opening_post)
    assert sorted(told.values_list("user__username", flat=True)) == ["fern", "olive"]
    assert UnansweredAlert.objects.filter(thread=question).count() == 1
    # A facilitator who arrives later is not told of it again.
    Notification.objects.filter(kind="unanswered").delete()
    assert alerts.alert_unanswered(now + timedelta(hours=1)) == 0
    assert not Notification.objects.filter(kind="unanswered").exists()


def test_answered_recent_or_veteran_questions_alert_no_one(world):
    answered = newcomer_question(world)
    discussions.reply(world.facilitator, answered, "Start with the abbey scale.")
    newcomer_question(world, hours_ago=5)  # not a day yet
    assert alerts.alert_unanswered(timezone.now()) == 0
    Membership.objects.filter(user=world.member, community=world.public).update(
        joined_at=timezone.now() - timedelta(days=400)
    )
    factories.thread(
        world.member,
        world.public,
        title="Old hand asks",
        kind="question",
        created_at=timezone.now() - timedelta(days=2),
    )
    assert alerts.alert_unanswered(timezone.now()) == 0


def test_an_answer_settles_the_alert_it_leaves_the_count_and_no_email_goes_out(client, world):
    question = newcomer_question(world)
    alerts.set_cadence(world.owner, "immediately")
    assert alerts.alert_unanswered(timezone.now()) == 1
    client.force_login(world.owner)
    assert "1 to review" in client.get("/c/commons/").content.decode()
    # The questioner's own follow-up is not an answer.
    discussions.reply(world.member, question, "Anyone? I work nights.")
    assert Notification.objects.filter(kind="unanswered", read_at__isnull=True).count() == 2
    discussions.reply(world.facilitator, question, "Start with the abbey scale.")
    assert not Notification.objects.filter(kind="unanswered", read_at__isnull=True).exists()
    assert "to review" not in client.get("/c/commons/").content.decode()
    notify.sweep(timezone.now())
    assert not OutboundEmail.objects.filter(kind="notification.unanswered").exists()
    assert alerts.send_summaries(timezone.now()) == 0


def test_the_hourly_task_is_scheduled(world):
    from django.conf import settings

    from notifications.tasks import alert_unanswered_questions

    scheduled = settings.CELERY_BEAT_SCHEDULE["alert-unanswered-questions"]["task"]
    assert scheduled == "notifications.alert_unanswered_questions"
    newcomer_question(world)
    assert alert_unanswered_questions() == 1 and alert_unanswered_questions() == 0


def flag(world, conversation) -> None:
    discussions.flag_post(world.member, conversation.answer, "Wrong dose")


def facilitator_mail(world) -> list[OutboundEmail]:
    review = ("notification.flagged", "notification.facilitator_summary")
    return list(OutboundEmail.objects.filter(to=world.owner.email, kind__in=review))


def test_review_work_is_emailed_daily_by_default_once(world, conversation):
    flag(world, conversation)  # Fern wrote the answer: Olive is told
    assert Notification.objects.filter(user=world.owner, kind="flagged").exists()
    notify.sweep(timezone.now())
    assert facilitator_mail(world) == []  # not right away
    now = timezone.now()
    assert alerts.send_summaries(now) == 1
    assert alerts.send_summaries(now + timedelta(minutes=30)) == 0  # once a day
    [mail] = facilitator_mail(world)
    assert mail.kind == "notification.facilitator_summary"
    assert "flagged a post in" in mail.body_text and "How do you assess pain in delirium?" in mail.body_text
    assert mail.subject == "1 thing to review today"


def test_review_work_right_away_or_never(world, conversation):
    alerts.set_cadence(world.owner, "immediately")
    flag(world, conversation)
    notify.sweep(timezone.now())
    [mail] = facilitator_mail(world)
    assert mail.kind == "notification.flagged"
    assert alerts.send_summaries(timezone.now()) == 0
    OutboundEmail.objects.all().delete()
    alerts.set_cadence(world.owner, "off")
    Notification.objects.filter(user=world.owner).update(emailed_at=None, created_at=timezone.now())
    notify.sweep(timezone.now() + timedelta(hours=2))
    assert alerts.send_summaries(timezone.now()) == 0
    assert facilitator_mail(world) == []


def test_the_alert_settings_page(client, world):
    client.force_login(world.facilitator)
    page = client.get("/notifications/alerts/").content.decode()
    assert 'value="daily" checked' in page or ('value="daily"' in page and "checked" in page)
    response = client.post("/notifications/alerts/", {"cadence": "immediately"}, follow=True)
    assert "Saved: right away" in response.content.decode()
    assert AlertSettings.objects.get(user=world.facilitator).cadence == "immediately"
    assert client.post("/notifications/alerts/", {"cadence": "hourly"}).status_code == 400
    assert AlertSettings.objects.get(user=world.facilitator).cadence == "immediately"


def test_the_header_says_how_much_waits_for_review(client, world, conversation):
    flag(world, conversation)
    client.force_login(world.owner)
    html = client.get("/c/commons/").content.decode()
    assert "1 to review" in html
    client.force_login(world.member)
    assert "to review" not in client.get("/c/commons/").content.decode()
