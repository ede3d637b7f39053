"""How closely a member follows a thread: the watching control on the thread page and its form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import policy
from communities.models import WatchLevel
from communities.watching import Control
from core import ratelimit
from core.http import HtmxRequest
from core.refusals import Refused
from discussions import services
from discussions.forms import ThreadWatchForm
from discussions.models import THREAD_LEVEL_HELP, Level, Thread, ThreadWatch, thread_level

# Why a level is in force when the member did not choose it for this thread.
REASONS = {
    ThreadWatch.Reason.CREATED: "Because you started this thread.",
    ThreadWatch.Reason.REPLIED: "Because you replied in this thread.",
    Level.COMMUNITY: "Because of your level for {community}.",
}
SAVED = {
    WatchLevel.WATCHING: "You're watching this thread: you'll be told about every new post.",
    WatchLevel.TRACKING: "You're tracking this thread: lists show how many posts you haven't read.",
    WatchLevel.NORMAL: "This thread is back to normal: you'll be told of replies to you and mentions.",
    WatchLevel.MUTED: "You muted this thread: it leaves your lists and digests, and you won't be told about it.",
}


def thread_control(user, thread: Thread, *, saved: bool = False, back: str = "") -> Control | None:
    """The control for someone who may set a level here (members), from ``thread.level``; None otherwise."""
    if not policy.can_watch(user, thread.community):
        return None
    level = thread.level
    reason = REASONS.get(level.reason, "").format(community=thread.community.name)
    return Control(
        id="watch-thread",
        action=reverse("discussions:watch", kwargs={"slug": thread.community.slug, "pk": thread.pk}),
        title="Notifications for this thread",
        current=level.value,
        reason=reason,
        choices=[(value, WatchLevel(value).label, text) for value, text in THREAD_LEVEL_HELP.items()],
        back=back,
        saved=SAVED[WatchLevel(level.value)] if saved else "",
    )


@require_POST
@ratelimit.limited("watch")
def watch(request: HtmxRequest, slug: str, pk: int) -> HttpResponse:
    thread = policy.get_thread_or_404(request.user, Thread.objects.all(), pk)
    if not request.user.is_authenticated:
        return redirect_to_login(thread.get_absolute_url())
    form = ThreadWatchForm(request.POST)
    if not form.is_valid():
        raise Refused("Choose one of the watching levels.", status=400)
    watch = services.set_thread_level(signed_in(request), thread, form.cleaned_data["level"])
    thread.level = thread_level(watch, policy.membership_of(request.user, thread.community))
    control = thread_control(request.user, thread, saved=True)
    if request.htmx:
        return render(request, "includes/watch_control.html", {"control": control})
    messages.success(request, control.saved if control else "Saved.")
    if form.cleaned_data["back"] == "muted":
        return redirect(f"{thread.community.get_absolute_url()}?show=muted")
    return redirect(thread)
