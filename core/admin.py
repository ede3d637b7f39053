from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from core.mail import _publish
from core.models import Heartbeat, OutboundEmail


# Unparameterised: Django's ModelAdmin can't be subscripted at run time (django-stubs-ext,
# which would allow it, is a development tool only).
@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # see above
    list_display = ("created_at", "kind", "to", "subject", "state", "attempts", "last_error", "sent_at")
    list_filter = ("state", "kind")
    search_fields = ("to", "subject")
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
    actions = ["retry"]

    @admin.action(description="Send again (reset to pending)")
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboundEmail]) -> None:
        ids = list(queryset.filter(state=OutboundEmail.State.FAILED).values_list("pk", flat=True))
        OutboundEmail.objects.filter(pk__in=ids).update(
            state=OutboundEmail.State.PENDING, attempts=0, not_before=timezone.now()
        )
        for email_id in ids:
            _publish(email_id)  # with the broker down the rows wait for the sweep; no 500
        self.message_user(request, f"{len(ids)} email(s) queued again.")


admin.site.register(Heartbeat)
