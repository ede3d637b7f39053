"""The library: listing, reading, adding, curating, downloading, discussing."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import panels, policy
from communities.models import Community
from core import drafts, ratelimit
from core.http import HtmxRequest, harden_file_response
from core.refusals import Refused
from discussions.models import Thread
from resources import queries, sections, services
from resources.forms import ResourceForm
from resources.models import Resource

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
    tag = request.GET.get("tag", "")[:40]
    sort = request.GET.get("sort", "newest")
    sort = sort if sort in queries.SORTS else "newest"
    rest = queries.library_cards(community, kind=kind if kind in Resource.Kind.values else "", tag=tag, sort=sort)
    page = Paginator(rest, PER_PAGE).get_page(request.GET.get("page"))
    for resource in page:
        resource.community = community
    _with_discussions(request.user, community, page)
    pinned = queries.pinned_cards(community) if not (kind or tag) and page.number == 1 else []
    _with_discussions(request.user, community, pinned)
    context = {
        "community": community,
        "pinned": pinned,
        "page": page,
        "kind": kind,
        "tag": tag,
        "sort": sort,
        "kinds": Resource.Kind.choices,
        "can_add": policy.can_add_resource(request.user, community),
        "can_curate": policy.can_moderate(request.user, community),
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


def detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = policy.get_resource_or_404(request.user, Resource.objects.select_related("added_by", "thread"), slug, pk)
    discussion = policy.linked_thread(request.user, resource.thread, beside=resource.community)
    context = {
        "community": resource.community,
        "resource": resource,
        "tags": list(resource.tags.all()),
        "i_found_helpful": queries.found_helpful(resource, request.user),
        "can_edit": policy.can_edit_resource(request.user, resource),
        "can_pin": policy.can_pin_resource(request.user, resource),
        "can_react": policy.can_react_to_resource(request.user, resource),
        "discussion": discussion,
        # A discussion moved where the viewer can't follow has no link here, and no second one starts.
        "can_discuss": resource.thread_id is None and policy.can_discuss_resource(request.user, resource),
        # What apps above add (the practice loop: "I'll try this" and what happened).
        "sections": sections.render(request, resource),
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
                )
                messages.success(request, "Added to the library.")
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
