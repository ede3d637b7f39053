"""The community calendar, events, RSVPs, iCal files and feeds, and the live chat endpoint."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from communities import panels, policy
from copsite.db import Columns, fetch_all
from discussions import calendar, events
from discussions.event_forms import EventForm
from discussions.models import RSVP, CalendarToken, Event, EventQuestion, Post, Thread
from discussions.views.threads import decorate_posts


def _with_counts(queryset):
    return queryset.annotate(
        going=Count("rsvps", filter=Q(rsvps__answer=RSVP.Answer.GOING)),
        maybe=Count("rsvps", filter=Q(rsvps__answer=RSVP.Answer.MAYBE)),
    )


def calendar_page(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    now = timezone.now()
    base = _with_counts(Event.objects.filter(community=community).select_related("thread"))
    upcoming = list(base.filter(ends_at__gte=now).order_by("starts_at")[:50])
    past = list(base.filter(ends_at__lt=now).order_by("-starts_at")[:20])
    for event in upcoming + past:
        event.community = community
        event.chat = policy.linked_thread(request.user, event.thread, beside=community)
    return render(
        request,
        "discussions/calendar.html",
        {
            "community": community,
            "upcoming": upcoming,
            "past": past,
            "can_manage": policy.can_manage_events(request.user, community),
            "viewer_tz": timezone.get_current_timezone_name(),
            "now": now,
        },
    )


def event_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, _with_counts(Event.objects.select_related("thread")), slug, pk)
    mine = None
    if request.user.is_authenticated:
        mine = RSVP.objects.filter(event=event, user=request.user).values_list("answer", flat=True).first()
    return render(
        request,
        "discussions/event.html",
        {
            "community": event.community,
            "event": event,
            "chat": policy.linked_thread(request.user, event.thread, beside=event.community),
            "questions": list(event.questions.all()),
            "hosts": list(event.hosts.all()),
            "my_answer": mine,
            "answers": RSVP.Answer.choices,
            "can_rsvp": policy.can_rsvp(request.user, event),
            "can_manage": policy.can_manage_events(request.user, event.community),
            "viewer_tz": timezone.get_current_timezone_name(),
        },
    )


def _event_form(request: HttpRequest, community, event: Event | None) -> HttpResponse:
    initial = EventForm.initial_for(event) if event else {"time_zone": request.user.time_zone}
    form = EventForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields, questions = form.model_fields(), form.cleaned_data["questions"]
        try:
            if event is None:
                event = events.create_event(request.user, community, fields=fields, questions=questions, hosts=[])
                messages.success(request, "Event scheduled.")
            else:
                events.update_event(request.user, event, fields=fields, questions=questions, hosts=[])
                messages.success(request, "Event updated. Calendars pick up the change.")
        except events.EventError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(event.get_absolute_url())
    return render(request, "discussions/event_form.html", {"community": community, "form": form, "event": event})


def create_event(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_manage_events(request.user, community):
        return render(request, "403.html", {"message": "Only facilitators can schedule events."}, status=403)
    return _event_form(request, community, None)


def edit_event(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, Event.objects.all(), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_manage_events(request.user, event.community):
        return render(request, "403.html", {"message": "Only facilitators can edit events."}, status=403)
    return _event_form(request, event.community, event)


@require_POST
def cancel_event(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, Event.objects.all(), slug, pk)
    if not policy.can_manage_events(request.user, event.community):
        if not request.user.is_authenticated:
            return redirect_to_login(event.get_absolute_url())
        return render(request, "403.html", {"message": "Only facilitators can cancel events."}, status=403)
    events.cancel_event(request.user, event)
    messages.success(request, "Event cancelled. Everyone going has been told.")
    return redirect(event.get_absolute_url())


@require_POST
def rsvp(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, Event.objects.all(), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(event.get_absolute_url())
    if not policy.can_rsvp(request.user, event):
        return render(request, "403.html", {"message": "Join the community to answer."}, status=403)
    try:
        row = events.rsvp(request.user, event, request.POST.get("answer", ""))
    except events.EventError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Thanks, you answered: {row.get_answer_display().lower()}.")
    return redirect(event.get_absolute_url())


def event_ics(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, Event.objects.all(), slug, pk)
    return calendar.ics_response([event], event.title, f"event-{event.pk}.ics")


def community_feed(request: HttpRequest, slug: str) -> HttpResponse:
    # Calendar apps fetch without cookies: decide as an anonymous visitor, public communities only.
    community = policy.get_community_or_404(AnonymousUser(), slug)
    items = calendar.feed_events(Event.objects.filter(community=community))
    return calendar.ics_response(items, community.name, f"{community.slug}.ics")


def personal_feed(request: HttpRequest, token: str) -> HttpResponse:
    row = CalendarToken.objects.select_related("user").filter(token=token, user__is_active=True).first()
    if row is None:
        raise Http404("No such calendar.")
    # The person's own communities, among those they may see.
    mine = Event.objects.visible_to(row.user).filter(
        community__memberships__user=row.user, community__memberships__state="active"
    )
    items = calendar.feed_events(mine)
    return calendar.ics_response(items, f"{row.user.name}: my communities", "my-communities.ics")


@login_required
def calendar_settings(request: HttpRequest) -> HttpResponse:
    row = CalendarToken.objects.filter(user=request.user).first()
    if request.method == "POST":
        # Resetting replaces the secret: the old URL stops working at once.
        CalendarToken.objects.filter(user=request.user).delete()
        row = CalendarToken.objects.create(user=request.user, token=secrets.token_urlsafe(32))
        messages.success(request, "Your calendar link is new. Update it in your calendar app.")
        return redirect("discussions:calendar-settings")
    return render(request, "discussions/calendar_settings.html", {"token": row})


def live(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Polled by a running chat: the answers under each question that changed since ``after``."""
    thread = policy.get_thread_or_404(request.user, Thread.objects.all(), pk)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    newest = Post.objects.filter(thread=thread).order_by("-pk").values_list("pk", flat=True).first() or 0
    event = Event.objects.filter(thread=thread).first()
    ended = event is None or event.ends_at < timezone.now() - timedelta(minutes=30)
    if newest <= after:
        # 204: nothing new, htmx swaps nothing; 286 tells htmx to stop polling.
        return HttpResponse(status=286 if ended else 204)
    context = chat_context(request, thread)
    context["after"] = newest
    # Sections whose question appeared since ``after`` are added whole; others only
    # get their answers list replaced, and only if it changed.
    context["added"] = [s for s in context["sections"] if s["question"] and s["question"].pk > after]
    context["changed"] = [
        s for s in context["sections"] if s not in context["added"] and any(p.pk > after for p in s["answers"])
    ]
    return render(request, "discussions/_chat_live.html", context, status=286 if ended else 200)


def chat_context(request: HttpRequest, thread: Thread) -> dict:
    """Questions as sections, each with what was said under it, in tree order."""
    posts = list(Post.objects.filter(thread=thread).select_related("author", "parent__author").order_by("path"))
    decorate_posts(request.user, thread, posts)
    question_ids = set(
        EventQuestion.objects.filter(event__thread=thread, post__isnull=False).values_list("post_id", flat=True)
    )
    opening, rest = (posts[0], posts[1:]) if posts else (None, [])
    # The event may be in another community than its chat now (threads move): linked only if visible.
    event = policy.linked_event(request.user, Event.objects.filter(thread=thread).first(), beside=thread.community)
    sections: list[dict] = [{"question": None, "answers": []}]
    for post in rest:
        if post.pk in question_ids:
            sections.append({"question": post, "answers": []})
        else:
            sections[-1]["answers"].append(post)
    if not sections[0]["answers"]:
        sections.pop(0)
    return {
        "thread": thread,
        "community": thread.community,
        "opening": opening,
        "sections": sections,
        "newest": max((p.pk for p in posts), default=0),
        "event": event,
        # Answer boxes while the chat runs; the record afterwards reads without them.
        "chat_open": event is not None and event.ends_at > timezone.now() and event.cancelled_at is None,
        "can_reply": policy.can_reply(request.user, thread),
        "can_moderate": policy.can_moderate_thread(request.user, thread),
    }


# The next events on a community's page: written out (copsite.db.Columns), as
# composing the ORM query cost more CPU than answering it; event_calendar_idx serves it.
_UPCOMING_COLUMNS = Columns(Event, "e", fields=["community", "title", "kind", "starts_at", "ends_at", "cancelled_at"])
_UPCOMING_SQL = (
    f"SELECT {_UPCOMING_COLUMNS.sql} FROM {Event._meta.db_table} e"  # noqa: S608
    " WHERE e.community_id = %s AND e.ends_at >= %s AND e.cancelled_at IS NULL ORDER BY e.starts_at LIMIT %s"
)
UPCOMING_SHOWN = 3


def upcoming_events(community) -> list[Event]:
    """The next few events not cancelled or over, soonest first."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())  # as the ORM stores it (naive UTC on SQLite)
    upcoming = [_UPCOMING_COLUMNS.build(row) for row in fetch_all(_UPCOMING_SQL, [community.pk, now, UPCOMING_SHOWN])]
    for event in upcoming:
        event.community = community
    return upcoming


def _upcoming_panel(request: HttpRequest, community) -> panels.Panel | None:
    upcoming = upcoming_events(community)
    return panels.Panel(
        "discussions/_events_panel.html",
        {"upcoming": upcoming, "can_manage_events": policy.can_manage_events(request.user, community)},
        order=8,
    )


panels.register("community", _upcoming_panel)
