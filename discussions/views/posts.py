"""Acting on one post: edit, history, delete, helpful, flag, accept; and facilitator moderation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import exposure as community_exposure
from communities import panels, policy
from communities.models import Community, is_more_open
from core import ratelimit
from core.http import HtmxRequest
from core.refusals import Refused
from discussions import queries, services
from discussions.forms import EditForm, MoveForm, ReasonForm, TurnDownForm
from discussions.models import Post, Thread
from discussions.views.threads import post_url, submission_limited, too_fast


def _post_or_404(request: HttpRequest, pk: int) -> Post:
    """The post if its thread is visible to the viewer; 404 otherwise (missing and forbidden look alike)."""
    post = queries.post_with_thread(pk)
    if post is None or not policy.can_view_thread(request.user, post.thread):
        raise Http404("No such post.")
    return post


EDIT_HELD_MESSAGE = "Thanks! Your edit adds links, so a facilitator will look at it before others see it again."


def edit(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    if not policy.can_edit_post(request.user, post):
        raise Refused("You can't edit this post.")
    initial = {"body": post.body, "title": post.thread.title}
    form = EditForm(request.POST or None, initial=initial, opening=post.is_opening)
    preview = refusal = None
    if request.method == "POST" and form.is_valid():
        if refusal := submission_limited(request):
            form.add_error(None, too_fast(request, refusal))
        elif not form.render_body():
            pass  # the reason is on the field, the text kept
        elif "preview" in request.POST:
            preview = form.rendered.html
        else:
            edited = services.edit_post(
                signed_in(request),
                post,
                form.cleaned_data["body"],
                title=form.cleaned_data.get("title"),
                rendered=form.rendered,
            )
            if edited.is_held:
                messages.info(request, EDIT_HELD_MESSAGE)
            else:
                messages.success(request, "Your changes are saved.")
            return redirect(post_url(post))
    context = {
        "post": post,
        "thread": post.thread,
        "community": post.thread.community,
        "form": form,
        "preview": preview,
    }
    response = render(request, "discussions/edit.html", context)
    return refusal.stamp(response) if refusal else response


def history(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    if not policy.can_view_history(request.user, post):
        raise Http404("No such post.")
    revisions = queries.revisions_of(post)
    context = {"post": post, "thread": post.thread, "community": post.thread.community, "revisions": revisions}
    return render(request, "discussions/history.html", context)


def delete(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    if not policy.can_delete_post(request.user, post):
        raise Refused("You can't delete this post.")
    if request.method == "POST":
        services.delete_post(signed_in(request), post)
        messages.success(request, "The post is deleted. Replies to it stay in place.")
        return redirect(post_url(post))
    return render(
        request,
        "discussions/confirm_delete.html",
        {"post": post, "thread": post.thread, "community": post.thread.community},
    )


@require_POST
@ratelimit.limited("react")
def helpful(request: HtmxRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(post.get_absolute_url())
    if not policy.can_react(request.user, post):
        message = "Only members can mark posts as helpful, and not their own."
        raise Refused(message)
    try:
        result = services.toggle_helpful(request.user, post)
    except services.DiscussionError as exc:
        if request.htmx:
            return HttpResponse(str(exc), status=403)
        messages.error(request, str(exc))
        return redirect(post_url(post))
    if request.htmx:
        post.helpful_count, post.i_found_helpful, post.can_react = result.count, result.reacted, True
        post.helpful_url = reverse("discussions:helpful", kwargs={"pk": post.pk})
        return render(request, "discussions/_helpful.html", {"post": post})
    return redirect(post_url(post))


def flag(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    if not policy.can_flag(request.user, post):
        raise Refused("You can't flag this post.")
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if refusal := ratelimit.check(request, "flag"):
            form.add_error(None, refusal.message)
            context = {"post": post, "thread": post.thread, "community": post.thread.community, "form": form}
            return refusal.stamp(render(request, "discussions/reason.html", {**context, "action": "flag"}))
        try:
            services.flag_post(signed_in(request), post, form.cleaned_data["reason"])
        except services.DiscussionError as exc:
            messages.info(request, str(exc))
        else:
            messages.success(request, "Thank you. A facilitator will review the post.")
        return redirect(post_url(post))
    context = {"post": post, "thread": post.thread, "community": post.thread.community, "form": form, "action": "flag"}
    return render(request, "discussions/reason.html", context)


@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    thread = post.thread
    if not policy.can_accept_answer(request.user, thread):
        raise Refused("Only the person who asked, or a facilitator, can accept an answer.")
    chosen = None if thread.accepted_answer_id == post.pk else post
    try:
        services.accept_answer(signed_in(request), thread, chosen)
    except services.DiscussionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Answer accepted." if chosen else "Answer no longer accepted.")
    return redirect(post_url(post))


# --- Moderation ---------------------------------------------------------------------


def hide(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    if not policy.can_moderate(request.user, post.thread.community):
        raise Refused("Only facilitators can hide posts.")
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.hide_post(signed_in(request), post, form.cleaned_data["reason"])
        messages.success(request, "The post is hidden. Its author sees your reason.")
        return redirect(_dashboard(post) if request.POST.get("back") == "flags" else post_url(post))
    context = {"post": post, "thread": post.thread, "community": post.thread.community, "form": form, "action": "hide"}
    return render(request, "discussions/reason.html", context)


def _dashboard(post: Post) -> str:
    return reverse("communities:facilitate", kwargs={"slug": post.thread.community.slug}) + "#flags-heading"


@require_POST
def unhide(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    if not policy.can_moderate(request.user, post.thread.community):
        raise Refused("Only facilitators can unhide posts.")
    services.unhide_post(signed_in(request), post)
    messages.success(request, "The post is visible again.")
    return redirect(post_url(post))


@require_POST
def dismiss_flags(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    if not policy.can_moderate(request.user, post.thread.community):
        raise Refused("Only facilitators can review flags.")
    services.dismiss_flags(signed_in(request), post)
    messages.success(request, "Flags dismissed; the post stays as it is.")
    return redirect(_dashboard(post))


def moderate_thread(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    thread = policy.get_thread_or_404(request.user, Thread.objects.all(), pk)
    if not policy.can_moderate_thread(request.user, thread):
        raise Refused("Only facilitators can do that.")
    targets = policy.moderated_communities(request.user).exclude(pk=thread.community_id)
    if thread.subgroup_id is not None:  # a subgroup's thread stays in its community (policy.can_move_thread)
        targets = targets.none()
    move_form = MoveForm(request.POST or None, communities=targets)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "move":
                if not move_form.is_valid():
                    raise services.DiscussionError("Choose a community you facilitate.")
                target: Community = move_form.cleaned_data["community"]
                seen = ""
                if is_more_open(target.visibility, thread.community.visibility):
                    # More people will read it there: show exactly what, and to whom, before moving.
                    what = community_exposure.of_thread(thread.pk)
                    confirmed = request.POST.get("confirm_move") == str(target.pk)
                    if not confirmed or request.POST.get("exposure") != what.fingerprint:
                        return _confirm_move(request, thread, target, what, changed_since=confirmed)
                    seen = f"now readable by {_audience(target)}: {what.summary()}"
                thread = services.move_thread(signed_in(request), thread, target, exposure=seen)
                messages.success(request, f"Thread moved to {target.name}.")
            else:
                services.set_thread_state(signed_in(request), thread, action)
                messages.success(
                    request,
                    {
                        "pin": "Thread pinned.",
                        "unpin": "Thread unpinned.",
                        "lock": "Thread locked.",
                        "unlock": "Thread unlocked.",
                        "good_first_reply": "Marked as a good first reply: newcomers see it among their ways to start.",
                        "not_good_first_reply": "No longer marked as a good first reply.",
                    }[action],
                )
        except services.DiscussionError as exc:
            messages.error(request, str(exc))
        return redirect(thread.get_absolute_url())
    return render(
        request,
        "discussions/moderate.html",
        {"thread": thread, "community": thread.community, "move_form": move_form},
    )


def _audience(target: Community) -> str:
    """Who reads a thread in ``target``, as the confirmation and the audit entry say it."""
    if target.is_open:
        return "anyone, without an account"
    members = target.member_count
    return f"the {members} member{'s' if members != 1 else ''} of {target.name}"


def _confirm_move(
    request: HttpRequest, thread: Thread, target: Community, what: community_exposure.Exposure, *, changed_since: bool
) -> HttpResponse:
    """The second step of moving a thread into a more open community: what its page shows, to whom."""
    context = {
        "thread": thread,
        "community": thread.community,
        "target": target,
        "audience": _audience(target),
        # "open", "restricted" or "private", as the communities' settings name them.
        "source_kind": thread.community.get_visibility_display().split(":")[0].lower(),
        "target_kind": target.get_visibility_display().split(":")[0].lower(),
        "exposure": what,
        "changed_since": changed_since,
    }
    return render(request, "discussions/confirm_move.html", context)


@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post_or_404(request, pk)
    if not policy.can_review_held(request.user, post):
        raise Refused("Only facilitators can review held posts, and only while they wait.")
    services.approve_post(signed_in(request), post)
    messages.success(request, "Approved: the post is visible and its notifications are on their way.")
    return redirect(_review_queue(post) if request.POST.get("back") == "dashboard" else post_url(post))


def reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Turning a held post down asks first (with an optional reason the author reads), like hiding one."""
    post = _post_or_404(request, pk)
    if not policy.can_review_held(request.user, post):
        raise Refused("Only facilitators can review held posts, and only while they wait.")
    form = TurnDownForm(request.POST if request.method == "POST" else None)
    back = (request.POST if request.method == "POST" else request.GET).get("back", "")
    if request.method == "POST" and form.is_valid():
        services.reject_post(signed_in(request), post, form.cleaned_data["reason"])
        messages.success(request, "Turned down: the post stays hidden and its author sees why.")
        return redirect(_review_queue(post) if back == "dashboard" else post_url(post))
    context = {
        "post": post,
        "thread": post.thread,
        "community": post.thread.community,
        "form": form,
        "action": "reject",
        "back": "dashboard" if back == "dashboard" else "",
        "cancel_url": _review_queue(post) if back == "dashboard" else post_url(post),
    }
    return render(request, "discussions/reason.html", context)


def _review_queue(post: Post) -> str:
    return reverse("communities:facilitate", kwargs={"slug": post.thread.community.slug}) + "#held-heading"


def held_queue_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    """Posts held for review, oldest first, on the facilitator dashboard beside the flags."""
    if not policy.can_moderate(request.user, community):
        return None
    return panels.Panel("discussions/_held_queue.html", {"held": queries.held_posts(community)}, order=4)


def flag_queue_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    if not policy.can_moderate(request.user, community):
        return None
    by_post: dict[int, dict] = {}
    for f in queries.open_flags(community):
        entry = by_post.setdefault(f.post_id, {"post": f.post, "flags": []})
        entry["flags"].append(f)
    return panels.Panel("discussions/_flag_queue.html", {"flagged": list(by_post.values())}, order=5)
