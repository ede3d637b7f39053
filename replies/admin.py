from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from replies import tasks
from replies.models import DeliveryProblem, InboundMessage, QueuedMail


# Unparameterised, as in core/admin.py: ModelAdmin can't be subscripted at run time.
@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("received_at", "source", "sender", "outcome", "reason", "post")
    list_filter = ("outcome", "source")
    search_fields = ("sender", "message_id")
    readonly_fields = [f.name for f in InboundMessage._meta.fields]


@admin.register(QueuedMail)
class QueuedMailAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("received_at", "source", "recipient", "state", "attempts", "last_error")
    list_filter = ("state", "source")
    exclude = ("raw",)
    readonly_fields = ("source", "recipient", "state", "attempts", "last_error", "received_at", "not_before")
    actions = ["retry"]

    @admin.action(description="Take again (reset to pending)")
    def retry(self, request: HttpRequest, queryset: QuerySet[QueuedMail]) -> None:
        ids = list(queryset.filter(state=QueuedMail.State.FAILED).values_list("pk", flat=True))
        QueuedMail.objects.filter(pk__in=ids).update(
            state=QueuedMail.State.PENDING, attempts=0, not_before=timezone.now()
        )
        for mail_id in ids:
            tasks.publish(mail_id)
        self.message_user(request, f"{len(ids)} mail(s) queued again.")


@admin.register(DeliveryProblem)
class DeliveryProblemAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("at", "address", "kind", "user")
    list_filter = ("kind",)
    search_fields = ("address",)
    readonly_fields = [f.name for f in DeliveryProblem._meta.fields]
