"""The front page: a member's own home (Latest / Unread / New, answered questions, events, what waits for a
facilitator), a visitor's introduction with public communities and activity; and My calendar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from accounts.models import User, signed_in
from communities.models import Community
from core.http import HtmxRequest
from discovery import queries, starting
from discovery.queries import Tab
from discussions import queries as discussion_queries
from discussions.models import Thread
from discussions.reading import unread_label
from events.models import RSVP, Event

# An account younger than this is greeted as new ("Welcome"), an older one as someone coming back.
NEW_ACCOUNT = timedelta(days=1)
KIND_LABELS = dict(Thread.Kind.choices)
TAB_LABELS = {Tab.LATEST: "Latest", Tab.UNREAD: "Unread", Tab.NEW: "New"}
CALENDAR_PER_PAGE = 30


def home(request: HtmxRequest) -> HttpResponse:
    if isinstance(request.user, User):
        return _member_home(request, request.user)
    return render(
        request,
        "discovery/home.html",
        {
            "communities": queries.public_communities(),
            "activity": _linked(queries.public_activity()),
            "kinds": KIND_LABELS,
        },
    )


def _member_home(request: HtmxRequest, user: User) -> HttpResponse:
    now = timezone.now()
    tab = request.GET.get("tab", Tab.LATEST)
    tab = tab if tab in queries.TABS else Tab.LATEST
    per_page = settings.THREADS_PER_PAGE
    last_page = queries.COUNT_CAP // per_page
    try:
        wanted = min(max(int(request.GET.get("page", 1)), 1), last_page)
    except ValueError:
        wanted = 1
    summary = queries.member_summary(user)
    home = queries.member_page(user, tab, now=now, offset=(wanted - 1) * per_page, limit=per_page, summary=summary)
    # Django's paginator decides what an odd page number means (the last page), as everywhere else.
    page = Paginator(range(home.counts[tab]), per_page).get_page(wanted)
    if page.number != wanted:
        home = queries.member_page(
            user, tab, now=now, offset=(page.number - 1) * per_page, limit=per_page, summary=summary
        )
    threads = _linked(home.threads)
    for thread in (*threads, *home.questions):
        # As the community lists show it: "99+" where counting stopped.
        thread.unread_label = unread_label(thread.unread_count) if thread.unread_count else ""
    joined = {m.community_id: m.joined_at for m in summary.memberships}
    since = now - timedelta(days=queries.NEW_DAYS)
    for thread in threads:
        # As the New tab decides it: never opened, someone else's, recent, begun after the member joined.
        after = max(since, joined.get(thread.community_id) or since)
        thread.is_new = not thread.opened and thread.author_id != user.pk and thread.created_at > after
    context = {
        "tab": tab,
        "tab_label": TAB_LABELS[tab],
        "tabs": [(key, label, home.counts[key] if key != Tab.LATEST else 0) for key, label in TAB_LABELS.items()],
        "threads": threads,
        "page": page,
        "capped": home.counts[tab] >= queries.COUNT_CAP,
        "count_cap": queries.COUNT_CAP,
        "has_communities": bool(summary.memberships),
        "kinds": KIND_LABELS,
    }
    if request.htmx and not request.htmx.history_restore_request:
        # A tab or a page of it, swapped in place (the links work without JavaScript too).
        response = render(request, "discovery/_home_threads.html", context)
    else:
        context.update(
            summary=summary,
            questions=_linked(home.questions),
            events=queries.upcoming_events(user, now, summary),
            community_urls=_community_urls(summary.communities.values()),
            is_new_account=user.date_joined > now - NEW_ACCOUNT,
            viewer_tz=timezone.get_current_timezone_name(),
            answers=dict(RSVP.Answer.choices),
            guest_places=discussion_queries.guest_places_of(user),
            ways=starting.ways_to_start(
                user, starting.newcomer_communities(summary.memberships, summary.communities), now
            ),
        )
        response = render(request, "discovery/member_home.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# An id and a slug no row has: links reversed once per process with them, then filled in per row.
_STAND_IN_PK = "2147483647"
_STAND_IN_SLUG = "stand-in-slug"


@cache
def _thread_links(script_prefix: str) -> tuple[str, str, str, str]:
    kwargs = {"slug": _STAND_IN_SLUG, "pk": int(_STAND_IN_PK)}
    return (
        reverse("discussions:thread", kwargs=kwargs),
        reverse("discussions:first-unread", kwargs=kwargs),
        reverse("discussions:post", kwargs={"pk": int(_STAND_IN_PK)}),
        reverse("communities:detail", kwargs={"slug": _STAND_IN_SLUG}),
    )


def _community_urls(communities: Iterable[Community]) -> dict[int, str]:
    """Each community's address by id, the route reversed once per process."""
    community_url = _thread_links(get_script_prefix())[3]
    return {c.pk: community_url.replace(_STAND_IN_SLUG, c.slug) for c in communities}


def _linked(threads: list[Thread]) -> list[Thread]:
    """``url``, ``first_unread_url``, ``accepted_url``, ``community_url`` on each thread: routes reversed once."""
    thread_url, first_unread, post_url, community_url = _thread_links(get_script_prefix())
    for thread in threads:
        pk, slug = str(thread.pk), thread.community.slug
        thread.community_url = community_url.replace(_STAND_IN_SLUG, slug)
        thread.url = thread_url.replace(_STAND_IN_SLUG, slug).replace(_STAND_IN_PK, pk)
        thread.first_unread_url = first_unread.replace(_STAND_IN_SLUG, slug).replace(_STAND_IN_PK, pk)
        answer = thread.accepted_answer_id
        thread.accepted_url = post_url.replace(_STAND_IN_PK, str(answer)) if answer else ""
    return threads


# --- My calendar ----------------------------------------------------------------------------------


@dataclass
class Day:
    day: date
    events: list[Event]


def _by_day(events: list[Event]) -> list[Day]:
    """Events grouped by the day they start on in the viewer's time zone (already in start order)."""
    days: list[Day] = []
    for event in events:
        day = timezone.localtime(event.starts_at).date()
        if not days or days[-1].day != day:
            days.append(Day(day, []))
        days[-1].events.append(event)
    return days


@login_required
def my_calendar(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    now: datetime = timezone.now()
    page = Paginator(queries.calendar_events(user, now), CALENDAR_PER_PAGE).get_page(request.GET.get("page"))
    events = list(page.object_list)
    return render(
        request,
        "discovery/calendar.html",
        {
            "page": page,
            "days": _by_day(events),
            "token": queries.calendar_token_of(user),
            "viewer_tz": timezone.get_current_timezone_name(),
            "today": timezone.localdate(now),
            "answers": dict(RSVP.Answer.choices),
            "now": now,
        },
    )
