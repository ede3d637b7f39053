"""The community calendar, events, RSVPs, iCal files and feeds, and the live chat endpoint."""

from __future__ import annotations

import secrets
from bisect import bisect_right
from dataclasses import dataclass
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import panels, policy
from core import drafts
from core.refusals import Refused
from discussions import queries as discussion_queries
from discussions.models import PATH_SEGMENT, Post, ReadState, Thread
from discussions.views.threads import decorate_posts, remember_shown
from events import calendar, queries
from events import services as events
from events.forms import EventForm
from events.models import RSVP, CalendarToken, Event


def calendar_page(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    now = timezone.now()
    upcoming, past = queries.calendar(community, now)
    for event in upcoming + past:
        event.chat = policy.linked_thread(request.user, event.thread, beside=community)
    return render(
        request,
        "events/calendar.html",
        {
            "community": community,
            "upcoming": upcoming,
            "past": past,
            "can_manage": policy.can_manage_events(request.user, community),
            "now": now,
        },
    )


def event_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, queries.detailed_events(), slug, pk)
    return render(
        request,
        "events/event.html",
        {
            "community": event.community,
            "event": event,
            "chat": policy.linked_thread(request.user, event.thread, beside=event.community),
            "questions": list(event.questions.all()),
            "hosts": list(event.hosts.all()),
            "my_answer": queries.answer_of(event, request.user),
            "answers": RSVP.Answer.choices,
            "can_rsvp": policy.can_rsvp(request.user, event),
            "can_manage": policy.can_manage_events(request.user, event.community),
        },
    )


def _event_form(request: HttpRequest, community, event: Event | None) -> HttpResponse:
    initial = EventForm.initial_for(event) if event else {"time_zone": signed_in(request).time_zone}
    form = EventForm(request.POST or None, initial=initial, editing=event)
    if request.method == "POST" and form.is_valid():
        fields, questions = form.model_fields(), form.cleaned_data["questions"]
        repeat = form.cleaned_data.get("repeat_rule")
        actor = signed_in(request)
        try:
            if event is None and repeat is not None:
                event = events.create_series(actor, community, fields=fields, questions=questions, repeat=repeat)
                messages.success(
                    request, "Series scheduled: the occurrences of the next three months are on the calendar."
                )
            elif event is None:
                event = events.create_event(actor, community, fields=fields, questions=questions, hosts=[])
                messages.success(request, "Event scheduled.")
            elif repeat is not None:
                split = events.edit_following(actor, event, fields=fields, questions=questions, repeat=repeat)
                event = split.first
                messages.success(request, _split_message(split))
            elif event.series_id is not None:
                events.edit_occurrence(actor, event, fields=fields, questions=questions)
                messages.success(request, "This occurrence is updated; the rest of the series is unchanged.")
            else:
                events.update_event(actor, event, fields=fields, questions=questions, hosts=[])
                messages.success(request, "Event updated. Calendars pick up the change.")
        except events.EventError as exc:
            form.add_error(None, str(exc))
        else:
            # Only a new event's form keeps a draft (events/event_form.html).
            return drafts.posted(request, redirect(event.get_absolute_url()))
    return render(request, "events/event_form.html", {"community": community, "form": form, "event": event})


def _split_message(split: events.Split) -> str:
    said = ["This and the following occurrences are updated."]
    if split.moved:
        said.append(f"{split.moved} moved to a new time: their answers were cleared and those who had answered told.")
    if split.dropped:
        said.append(f"{split.dropped} no longer on the new dates were called off.")
    return " ".join(said)


def create_event(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_manage_events(request.user, community):
        raise Refused("Only facilitators can schedule events.")
    return _event_form(request, community, None)


def edit_event(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, Event.objects.select_related("series"), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_manage_events(request.user, event.community):
        raise Refused("Only facilitators can edit events.")
    return _event_form(request, event.community, event)


@require_POST
def cancel_event(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, Event.objects.all(), slug, pk)
    if not policy.can_manage_events(request.user, event.community):
        if not request.user.is_authenticated:
            return redirect_to_login(event.get_absolute_url())
        raise Refused("Only facilitators can cancel events.")
    if event.series_id is not None:
        events.cancel_occurrence(signed_in(request), event)
    else:
        events.cancel_event(signed_in(request), event)
    messages.success(request, "Event cancelled. Everyone going has been told.")
    return redirect(event.get_absolute_url())


@require_POST
def rsvp(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, Event.objects.all(), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(event.get_absolute_url())
    if not policy.can_rsvp(request.user, event):
        raise Refused("Join the community to answer.")
    try:
        row = events.rsvp(request.user, event, request.POST.get("answer", ""))
    except events.EventError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Thanks, you answered: {row.get_answer_display().lower()}.")
    return redirect(event.get_absolute_url())


def event_ics(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    event = policy.get_event_or_404(request.user, Event.objects.all(), slug, pk)
    # One occurrence's own file holds that occurrence only; the feeds carry whole series.
    return calendar.ics_response([event], event.title, f"event-{event.pk}.ics", series=False)


def community_feed(request: HttpRequest, slug: str) -> HttpResponse:
    # Calendar apps fetch without cookies: decide as an anonymous visitor, public communities only.
    community = policy.get_community_or_404(AnonymousUser(), slug)
    items = queries.community_feed(community)
    return calendar.ics_response(items, community.name, f"{community.slug}.ics")


def personal_feed(request: HttpRequest, token: str) -> HttpResponse:
    row = queries.calendar_token(token)
    if row is None:
        raise Http404("No such calendar.")
    items = queries.personal_feed(row.user)
    return calendar.ics_response(items, f"{row.user.name}: my communities", "my-communities.ics")


@login_required
def calendar_settings(request: HttpRequest) -> HttpResponse:
    row = queries.calendar_token_of(signed_in(request))
    if request.method == "POST":
        # Resetting replaces the secret: the old URL stops working at once.
        CalendarToken.objects.filter(user=signed_in(request)).delete()
        row = CalendarToken.objects.create(user=signed_in(request), token=secrets.token_urlsafe(32))
        messages.success(request, "Your calendar link is new. Update it in your calendar app.")
        return redirect("events:calendar-settings")
    return render(request, "events/calendar_settings.html", {"token": row})


# The live endpoint answers at most this many posts; a client further behind
# asks again at once from the last one it got (see _chat_live.html).
LIVE_BATCH = 100
# Seconds a live answer may be reused. Below the page's 4 s poll, so one
# reader never waits on their own copy; long enough that a shared cache in
# front of the site answers a crowd of anonymous readers, who all poll the
# same "after" (the newest post), with one request per interval.
LIVE_MAX_AGE = 3
# A chat whose end is further back than this stops its readers' polling.
LIVE_GRACE = timedelta(minutes=30)
_LARGEST_ID = 2**63 - 1  # BigAutoField


def _bad_position(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def live(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Polled by a running chat: what was posted after the post ``after``, at most LIVE_BATCH posts.

    Only a hosted chat has a live view. ``after`` is the newest post the page
    holds; the answer adds the posts that came since, in the order they came,
    under their question, and hands the page its next ``after``. The cost of an
    answer is the same for a chat of ten posts or ten thousand.
    """
    thread, _ = discussion_queries.thread_for_reader(request.user, pk)
    event = queries.event_of_chat(thread)
    if event is None or thread.community.slug != slug:
        raise Http404("No such chat.")
    after = _position(thread, request.GET.get("after", ""))
    if after is None:
        return _bad_position("after must be the id of a post in this chat, e.g. ?after=123.")
    batch = queries.posts_after(thread, after, LIVE_BATCH + 1)
    more = len(batch) > LIVE_BATCH
    batch = batch[:LIVE_BATCH]
    ended = event.ends_at < timezone.now() - LIVE_GRACE
    if not batch:
        # 204: nothing new, htmx swaps nothing; 286 tells htmx to stop polling.
        response = HttpResponse(status=286 if ended else 204)
    else:
        context = {
            **_chat_flags(request, thread, event),
            "parts": _live_parts(request, thread, event, after, batch),
            "after": batch[-1].pk,
            "more": more,
        }
        response = render(request, "events/_chat_live.html", context, status=286 if ended and not more else 200)
    # Anonymous readers of a public community all get the same answer: shared
    # caches may keep it. Members' answers carry their own buttons and tokens.
    scope = "private" if request.user.is_authenticated else "public"
    patch_cache_control(response, **{scope: True, "max_age": LIVE_MAX_AGE})
    patch_vary_headers(response, ["Cookie"])
    return response


def _position(thread: Thread, raw: str) -> int | None:
    """The id of the post ``raw`` names if it is a post of ``thread``; None for anything else."""
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= _LARGEST_ID:
        return None
    after = int(raw)
    return after if queries.is_post_of(thread, after) else None


@dataclass
class _LivePart:
    """One out-of-band piece of a live answer: a new section (``question`` set, or the
    part before the first question), or more answers for a section the page has (``section``)."""

    answers: list[Post]
    question: Post | None = None
    new: bool = False
    section: str = ""


def _live_parts(request: HttpRequest, thread: Thread, event: Event, after: int, batch: list[Post]) -> list[_LivePart]:
    """The batch as the page takes it: new sections whole, then runs of answers for sections it has.

    A post belongs to the section of the last question at or before it in
    tree order, as on the page (paths are fixed-width digits, so the first
    segment orders them). Answers are appended in the order they came, so a
    reply to an earlier answer says whom it answers.
    """
    questions = queries.question_paths(event)
    starts = sorted(path[:PATH_SEGMENT] for path in questions)
    question_at = {path[:PATH_SEGMENT]: pk for path, pk in questions.items()}
    shown = [post for post in batch if post.depth > 0]  # the welcome is never new
    decorate_posts(request.user, thread, shown, fresh=True)
    parts: list[_LivePart] = []
    new_sections: dict[int | None, _LivePart] = {}
    open_on_page: bool | None = None  # looked up once, only if a post before the first question came
    for post in shown:
        at = bisect_right(starts, post.path[:PATH_SEGMENT])
        key = question_at[starts[at - 1]] if at else None
        if key == post.pk:
            new_sections[key] = _LivePart(answers=[], question=post, new=True)
            parts.append(new_sections[key])
            continue
        post.says_parent = post.parent_id not in (key, thread.opening_post_id)
        if key is None and key not in new_sections:
            if open_on_page is None:
                # Whether the page, which holds every post up to ``after``, shows a part before the first question.
                open_on_page = queries.has_replies_before(thread, after, starts[0] if starts else None)
            if not open_on_page:
                new_sections[key] = _LivePart(answers=[], new=True)
                parts.append(new_sections[key])
        section = "open" if key is None else str(key)
        if key in new_sections:
            new_sections[key].answers.append(post)
        elif parts and not parts[-1].new and parts[-1].section == section:
            parts[-1].answers.append(post)
        else:
            parts.append(_LivePart(answers=[post], section=section))
    return parts


def _chat_flags(request: HttpRequest, thread: Thread, event: Event | None) -> dict:
    return {
        "thread": thread,
        "community": thread.community,
        "event": event,
        # Answer boxes while the chat runs; the record afterwards reads without them.
        "chat_open": event is not None and event.ends_at > timezone.now() and event.cancelled_at is None,
        "can_reply": policy.can_reply(request.user, thread),
        "can_moderate": policy.can_moderate_thread(request.user, thread),
    }


def chat_page(request: HttpRequest, thread: Thread, read_state: ReadState | None) -> HttpResponse:
    """A hosted chat's thread page (``discussions.views.threads.register_kind_page``): every post, read once shown."""
    context = chat_context(request, thread)
    remember_shown(request, thread, context["posts"], read_state)
    context.update(
        is_member=policy.can_post(request.user, thread.community),
        # A visitor watching a live chat is offered a way in: log in, or join (or ask to) to answer.
        can_join=policy.can_join(request.user, thread.community),
        now=timezone.now(),
    )
    return render(request, "events/chat.html", context)


def chat_context(request: HttpRequest, thread: Thread) -> dict:
    """Questions as sections, each with what was said under it, in tree order."""
    posts = discussion_queries.posts_in_tree_order(thread)
    decorate_posts(request.user, thread, posts)
    question_ids = queries.question_posts(thread)
    opening, rest = (posts[0], posts[1:]) if posts else (None, [])
    # The event may be in another community than its chat now (threads move): linked only if visible.
    event = policy.linked_event(request.user, queries.event_of_thread(thread), beside=thread.community)
    sections: list[dict] = [{"question": None, "answers": []}]
    for post in rest:
        if post.pk in question_ids:
            sections.append({"question": post, "answers": []})
        else:
            sections[-1]["answers"].append(post)
    if not sections[0]["answers"]:
        sections.pop(0)
    return {
        **_chat_flags(request, thread, event),
        "posts": posts,
        "opening": opening,
        "sections": sections,
        "newest": max((p.pk for p in posts), default=0),
    }


def upcoming_panel(request: HttpRequest, community) -> panels.Panel | None:
    upcoming = queries.upcoming_events(community)
    return panels.Panel(
        "events/_events_panel.html",
        {"upcoming": upcoming, "can_manage_events": policy.can_manage_events(request.user, community)},
        order=8,
    )
