from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.models import AuthenticatedRequest
from notifications import queries
from notifications.models import Notification


@login_required
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    # Checked at read time: the person may have left, or the post been hidden, held or deleted since.
    items = queries.latest(request.user)
    if request.method == "POST":
        Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
        return redirect("notifications:list")
    return render(request, "notifications/list.html", {"items": items})
