"""The library: listing, reading, adding, curating, downloading, discussing."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import panels, policy
from communities.models import Community
from core import drafts, ratelimit
from core.http import HtmxRequest, harden_file_response
from core.refusals import Refused
from discussions.models import Thread
from resources import extras, queries, services
from resources.forms import LinkThreadForm, OwnerForm, ResourceForm, ReviewForm, SupersedeForm
from resources.models import Resource, ResourceFileVersion, ResourceThread

PER_PAGE = 20


def _with_discussions(user, community: Community, cards) -> list[Resource]:
    """Each card's ``discussion``: its thread, if the viewer may see it where it is now."""
    cards = list(cards)
    for resource in cards:
        resource.discussion = policy.linked_thread(user, resource.thread, beside=community)
    return cards


def library(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    kind = request.GET.get("kind", "")
    kind = kind if kind in Resource.Kind.values else ""
    tag = request.GET.get("tag", "")[:40]
    sort = request.GET.get("sort", "newest")
    sort = sort if sort in queries.SORTS else "newest"
    status = request.GET.get("status", "")
    status = status if status in queries.STATUSES else ""
    rest = queries.library_cards(community, kind=kind, tag=tag, sort=sort, status=status, viewer=request.user)
    page = Paginator(rest, PER_PAGE).get_page(request.GET.get("page"))
    for resource in page:
        resource.community = community
    _with_discussions(request.user, community, page)
    if kind or tag or status:
        # Filtered, the matching pinned resources lead the same list (queries.library_cards): shown apart.
        pinned = [r for r in page if r.pin_position is not None]
        page.object_list = [r for r in page if r.pin_position is None]
    else:
        pinned = queries.pinned_cards(community) if page.number == 1 else []
        _with_discussions(request.user, community, pinned)
    can_curate = policy.can_moderate(request.user, community)
    context = {
        "community": community,
        "pinned": pinned,
        "page": page,
        "kind": kind,
        "tag": tag,
        "sort": sort,
        "status": status,
        "statuses": queries.STATUSES.items(),
        "kinds": Resource.Kind.choices,
        "can_add": policy.can_add_resource(request.user, community),
        "can_curate": can_curate and not (kind or tag or status),
        "can_restore": policy.can_restore_resource(request.user, community),
        "has_feeds": policy.has_public_feeds(community),
    }
    return render(request, "resources/library.html", context)


def pinned_panel(request: HttpRequest, community: Community) -> panels.Panel:
    return panels.Panel(
        "resources/_pinned_panel.html",
        {
            "pinned": _with_discussions(request.user, community, queries.pinned_cards(community)),
            "can_add": policy.can_add_resource(request.user, community),
            "has_feeds": policy.has_public_feeds(community),
        },
        order=5,
    )


def welcome_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    """A new member's Start here: the pinned resources, in the facilitators' order (none pinned: nothing)."""
    pinned = queries.pinned_cards(community)
    if not pinned:
        return None
    return panels.Panel("resources/_welcome_start_here.html", {"start_here": pinned}, order=10)


def detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = policy.get_resource_or_404(request.user, queries.for_page(request.user), slug, pk)
    community = resource.community
    discussion = policy.linked_thread(request.user, resource.thread, beside=community)
    replacement = resource.superseded_by
    if replacement is not None:
        replacement.community = community  # same community, by the service's check
        if not policy.can_view_resource(request.user, replacement):
            replacement = None
    produced_by: list[ResourceThread] = []
    discussed_in: list[ResourceThread] = []
    for link in queries.thread_links(resource):
        thread = policy.linked_thread(request.user, link.thread, beside=community)
        if thread is not None:
            link.shown_thread = thread  # type: ignore[attr-defined]  # for the template
            (produced_by if link.relation == ResourceThread.Relation.PRODUCED_BY else discussed_in).append(link)
    can_review = policy.can_review_resource(request.user, resource)
    can_edit = policy.can_edit_resource(request.user, resource)
    context = {
        "community": community,
        "resource": resource,
        "replacement": replacement,
        "tags": list(resource.tags.all()),
        "i_found_helpful": queries.found_helpful(resource, request.user),
        "can_edit": can_edit,
        "can_pin": policy.can_pin_resource(request.user, resource)
        and not (resource.is_superseded or resource.is_draft),
        "can_react": policy.can_react_to_resource(request.user, resource),
        "can_endorse": policy.can_endorse_resource(request.user, resource) and not resource.is_superseded,
        "can_supersede": policy.can_supersede_resource(request.user, resource) and not resource.is_superseded,
        "can_publish": resource.is_draft and policy.can_publish_resource(request.user, resource),
        "can_review": can_review,
        "can_change_owner": policy.can_change_resource_owner(request.user, resource),
        "can_unpublish": policy.can_unpublish_resource(request.user, resource),
        "can_link": policy.can_link_threads(request.user, resource),
        "reviews": queries.reviews(resource) if can_review else [],
        "versions": queries.file_versions(resource) if resource.file else [],
        "produced_by": produced_by,
        "discussed_in": discussed_in,
        "link_form": LinkThreadForm(),
        "discussion": discussion,
        # A discussion moved where the viewer can't follow has no link here, and no second one starts.
        "can_discuss": resource.thread_id is None and policy.can_discuss_resource(request.user, resource),
        # What apps above add (resources/extras.py), e.g. the resource's value notes.
        "extras": extras.render_extras(request, resource),
    }
    return render(request, "resources/detail.html", context)


def _form_view(request: HttpRequest, community: Community, resource: Resource | None) -> HttpResponse:
    form = ResourceForm(request.POST or None, request.FILES or None, instance=resource)
    refusal = None
    if request.method == "POST" and form.is_valid() and (refusal := ratelimit.check(request, "resource")):
        form.add_error(None, refusal.message)
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("upload")
        try:
            if resource is None:
                resource = services.add_resource(
                    signed_in(request),
                    community,
                    fields=form.model_fields(),
                    tags=form.cleaned_data["tags"],
                    upload=upload,
                    draft=form.cleaned_data.get("draft", False),
                )
                messages.success(request, "Saved as a draft." if resource.is_draft else "Added to the library.")
            else:
                services.edit_resource(
                    signed_in(request),
                    resource,
                    fields=form.model_fields(),
                    tags=form.cleaned_data["tags"],
                    upload=upload,
                )
                messages.success(request, "Your changes are saved.")
        except ValidationError as exc:
            form.add_error("upload", exc)
        except services.ResourceError as exc:
            form.add_error(None, str(exc))
        else:
            # Only a new resource's form keeps a draft (resources/form.html).
            return drafts.posted(request, redirect(resource.get_absolute_url()))
    context = {
        "community": community,
        "form": form,
        "resource": resource,
        "max_mb": settings.RESOURCE_MAX_UPLOAD_BYTES // 1_048_576,
    }
    response = render(request, "resources/form.html", context)
    return refusal.stamp(response) if refusal else response


def add(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_add_resource(request.user, community):
        raise Refused("Join the community to add resources.")
    return _form_view(request, community, None)


def edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = policy.get_resource_or_404(request.user, Resource.objects.all(), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_edit_resource(request.user, resource):
        raise Refused("You can't edit this resource.")
    return _form_view(request, resource.community, resource)


def remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = policy.get_resource_or_404(request.user, Resource.objects.all(), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_remove_resource(request.user, resource):
        raise Refused("You can't remove this resource.")
    if request.method == "POST":
        services.remove_resource(request.user, resource)
        messages.success(request, f"“{resource.title}” is removed from the library.")
        return redirect("resources:library", slug=slug)
    return render(request, "resources/confirm_remove.html", {"resource": resource, "community": resource.community})


@require_POST
def pin(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = policy.get_resource_or_404(request.user, Resource.objects.all(), slug, pk)
    if not policy.can_pin_resource(request.user, resource):
        if not request.user.is_authenticated:
            return redirect_to_login(resource.get_absolute_url())
        raise Refused("Only facilitators can pin resources.")
    action = request.POST.get("action", "")
    services.set_pin(signed_in(request), resource, action)
    labels = {
        "pin": "Pinned: it shows first in the library and on the community page.",
        "unpin": "Unpinned.",
        "up": "Moved up.",
        "down": "Moved down.",
    }
    if action in labels:
        messages.success(request, labels[action])
    back = request.POST.get("next")
    return redirect("resources:library", slug=slug) if back == "library" else redirect(resource.get_absolute_url())


@require_POST
@ratelimit.limited("react")
def helpful(request: HtmxRequest, slug: str, pk: int) -> HttpResponse:
    resource = policy.get_resource_or_404(request.user, Resource.objects.all(), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(resource.get_absolute_url())
    if not policy.can_react_to_resource(request.user, resource):
        message = "Only members can mark resources as helpful, and not their own."
        raise Refused(message)
    try:
        reacted, count = services.toggle_helpful(request.user, resource)
    except services.ResourceError as exc:
        if request.htmx:
            return HttpResponse(str(exc), status=403)
        messages.error(request, str(exc))
        return redirect(resource.get_absolute_url())
    if request.htmx:
        resource.helpful_count = count
        return render(
            request, "resources/_helpful.html", {"resource": resource, "i_found_helpful": reacted, "can_react": True}
        )
    return redirect(resource.get_absolute_url())


@require_POST
def discuss(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = policy.get_resource_or_404(request.user, Resource.objects.select_related("thread"), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(resource.get_absolute_url())
    if not policy.can_discuss_resource(request.user, resource):
        raise Refused("Join the community to discuss this resource.")
    try:
        thread: Thread = services.start_discussion(request.user, resource)
    except services.ResourceError as exc:
        messages.error(request, str(exc))
        return redirect(resource.get_absolute_url())
    if policy.linked_thread(request.user, thread, beside=resource.community) is None:
        # Its discussion was moved where this person can't follow: no address of it, not even in a redirect.
        messages.info(request, "This resource's discussion isn't open to you.")
        return redirect(resource.get_absolute_url())
    return redirect(thread.get_absolute_url())


def download(request: HttpRequest, slug: str, pk: int) -> FileResponse:
    """The file, after the policy check, always as an attachment (never rendered by the browser)."""
    resource = policy.get_resource_or_404(request.user, Resource.objects.all(), slug, pk)
    if not resource.file:
        raise Http404("No file.")
    response = FileResponse(
        resource.file.open("rb"), as_attachment=True, filename=resource.file_name, content_type=resource.file_type
    )
    harden_file_response(response)
    return response


def preview(request: HttpRequest, slug: str, pk: int) -> FileResponse:
    """A re-encoded PNG thumbnail of an image resource, shown inline."""
    resource = policy.get_resource_or_404(request.user, Resource.objects.all(), slug, pk)
    if not resource.preview:
        raise Http404("No preview.")
    response = FileResponse(resource.preview.open("rb"), content_type="image/png")
    harden_file_response(response)
    return response


def _signed_in_resource(request: HttpRequest, slug: str, pk: int, queryset=None) -> Resource:
    resource = policy.get_resource_or_404(request.user, queryset or Resource.objects.all(), slug, pk)
    if not request.user.is_authenticated:
        raise Refused("Sign in first.")
    return resource


@require_POST
def publish(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = _signed_in_resource(request, slug, pk)
    if not policy.can_publish_resource(request.user, resource):
        raise Refused("Only its owner or a facilitator can publish this resource.")
    services.publish_resource(signed_in(request), resource)
    messages.success(request, "Published: it is in the library now.")
    return redirect(resource.get_absolute_url())


@require_POST
def endorse(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = _signed_in_resource(request, slug, pk)
    if not policy.can_endorse_resource(request.user, resource):
        raise Refused("Only facilitators can endorse resources.")
    try:
        services.endorse_resource(signed_in(request), resource)
    except services.ResourceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Endorsed.")
    return redirect(resource.get_absolute_url())


def supersede(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = _signed_in_resource(request, slug, pk)
    if not policy.can_supersede_resource(request.user, resource):
        raise Refused("Only facilitators can mark resources as superseded.")
    form = SupersedeForm(request.POST or None, choices=queries.replacement_choices(resource))
    if request.method == "POST" and form.is_valid():
        try:
            services.supersede_resource(signed_in(request), resource, form.cleaned_data["replacement"])
        except services.ResourceError as exc:
            form.add_error("replacement", str(exc))
        else:
            messages.success(request, "Marked as superseded: it left “Start here” and the digests.")
            return redirect(resource.get_absolute_url())
    return render(
        request, "resources/supersede.html", {"community": resource.community, "resource": resource, "form": form}
    )


def change_owner(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A facilitator hands the resource to another member, by username."""
    resource = _signed_in_resource(request, slug, pk, queries.for_page(request.user))
    if not policy.can_change_resource_owner(request.user, resource):
        raise Refused("Only facilitators can change a resource's owner.")
    form = OwnerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.change_owner(signed_in(request), resource, form.cleaned_data["username"])
        except services.ResourceError as exc:
            form.add_error("username", str(exc))
        else:
            owner = changed.owner.name if changed.owner is not None else "Nobody"
            messages.success(request, f"{owner} owns “{resource.title}” now.")
            return redirect(resource.get_absolute_url())
    return render(
        request, "resources/owner.html", {"community": resource.community, "resource": resource, "form": form}
    )


def unpublish(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Back to draft, after a confirmation page (a GET changes nothing)."""
    resource = _signed_in_resource(request, slug, pk)
    if not policy.can_unpublish_resource(request.user, resource):
        raise Refused("Only a facilitator can take a published resource back to draft.")
    if request.method == "POST":
        services.unpublish_resource(signed_in(request), resource)
        messages.success(request, "Back to draft: only its owner and the facilitators see it now.")
        return redirect(resource.get_absolute_url())
    return render(request, "resources/unpublish.html", {"community": resource.community, "resource": resource})


def review(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = _signed_in_resource(request, slug, pk)
    if not policy.can_review_resource(request.user, resource):
        raise Refused("Only facilitators can review resources.")
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_review(
                signed_in(request),
                resource,
                checked=form.cleaned_data["checked"],
                next_review_by=form.cleaned_data["next_review_by"],
            )
        except services.ResourceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Review recorded.")
            if request.POST.get("next") == "due":
                return redirect("resources:due", slug=slug)
            return redirect(resource.get_absolute_url())
    context = {
        "community": resource.community,
        "resource": resource,
        "form": form,
        "next": "due" if "due" in (request.GET.get("next"), request.POST.get("next")) else "",
    }
    return render(request, "resources/review.html", context)


def due(request: HttpRequest, slug: str) -> HttpResponse:
    """Facilitators' list of resources whose review date has come."""
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_moderate(request.user, community):
        raise Refused("Only facilitators review the library.")
    context = {"community": community, "due": queries.due_for_review(community, timezone.localdate())}
    return render(request, "resources/due.html", context)


def due_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    if not policy.can_moderate(request.user, community):
        return None
    return panels.Panel(
        "resources/_due_panel.html", {"due": queries.due_for_review(community, timezone.localdate())}, order=40
    )


@require_POST
def link_thread(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = _signed_in_resource(request, slug, pk, Resource.objects.select_related("owner"))
    form = LinkThreadForm(request.POST)
    if form.is_valid():
        thread = Thread.objects.select_related("community").filter(pk=form.cleaned_data["thread"]).first()
        try:
            if thread is None or not policy.can_view_thread(request.user, thread):
                raise services.ResourceError("Link a discussion of this community that you can see.")
            services.link_thread(signed_in(request), resource, thread, form.cleaned_data["relation"])
        except services.ResourceError as exc:
            form.add_error("thread", str(exc))
        else:
            messages.success(request, "The discussion is linked.")
            return redirect(resource.get_absolute_url())
    # A refused link: its own page, the form keeping what was typed.
    context = {"community": resource.community, "resource": resource, "form": form}
    return render(request, "resources/link_thread.html", context, status=400)


@require_POST
def unlink_thread(request: HttpRequest, slug: str, pk: int, link: int) -> HttpResponse:
    resource = _signed_in_resource(request, slug, pk)
    found = get_object_or_404(ResourceThread.objects.select_related("thread__community"), pk=link, resource=resource)
    found.resource = resource
    try:
        services.unlink_thread(signed_in(request), found)
    except services.ResourceError as exc:
        raise Refused(str(exc)) from None
    messages.success(request, "The link is removed.")
    return redirect(resource.get_absolute_url())


def removed(request: HttpRequest, slug: str) -> HttpResponse:
    """Facilitators' list of removed resources they can still restore."""
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_restore_resource(request.user, community):
        raise Refused("Only facilitators see removed resources.")
    since = timezone.now() - services.RESTORE_WINDOW
    context = {"community": community, "removed": queries.removed_cards(community, since)}
    return render(request, "resources/removed.html", context)


@require_POST
def restore(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_restore_resource(request.user, community):
        raise Refused("Only facilitators can restore removed resources.")
    resource = get_object_or_404(Resource, pk=pk, community=community, removed_at__isnull=False)
    try:
        services.restore_resource(signed_in(request), resource)
    except services.ResourceError as exc:
        messages.error(request, str(exc))
        return redirect("resources:removed", slug=slug)
    messages.success(request, f"“{resource.title}” is back in the library.")
    return redirect(resource.get_absolute_url())


def _version(request: HttpRequest, slug: str, pk: int, version: int) -> tuple[Resource, ResourceFileVersion]:
    resource = policy.get_resource_or_404(request.user, Resource.objects.all(), slug, pk)
    found = get_object_or_404(ResourceFileVersion, pk=version, resource=resource)
    found.resource = resource
    return resource, found


def version_download(request: HttpRequest, slug: str, pk: int, version: int) -> FileResponse:
    """An earlier file: the same check and headers as the current one."""
    _, found = _version(request, slug, pk, version)
    response = FileResponse(
        found.file.open("rb"), as_attachment=True, filename=found.file_name, content_type=found.file_type
    )
    harden_file_response(response)
    return response


@require_POST
def version_restore(request: HttpRequest, slug: str, pk: int, version: int) -> HttpResponse:
    resource, found = _version(request, slug, pk, version)
    if not request.user.is_authenticated:
        return redirect_to_login(resource.get_absolute_url())
    if not policy.can_edit_resource(request.user, resource):
        raise Refused("You can't change this resource's file.")
    services.restore_file_version(signed_in(request), found)
    messages.success(request, f"“{found.file_name}” is the current file again.")
    return redirect(resource.get_absolute_url())
