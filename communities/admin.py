from django.contrib import admin

from communities import services
from communities.models import (
    Activity,
    AuditEntry,
    Ban,
    Community,
    CommunityRequest,
    Invitation,
    LevelSnapshot,
    Membership,
)


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "visibility", "join_policy", "member_count", "last_activity_at")
    list_filter = ("visibility", "join_policy")
    search_fields = ("name", "slug", "domain")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("member_count", "last_activity_at", "created_by", "created_at")

    def get_readonly_fields(self, request, obj=None):
        # Visibility changes on the community's Edit page, which first shows what becomes
        # public (or stops being) and asks to confirm: one path, one audit entry.
        return (*self.readonly_fields, "visibility") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            services.update_community(request.user, obj, **{f: form.cleaned_data[f] for f in form.changed_data})
        else:
            # Same path as the page: the creator becomes owner, HTML rendered.
            fields = {f: form.cleaned_data[f] for f in form.cleaned_data if f not in {"name", "slug", "domain"}}
            created = services.create_community(request.user, name=obj.name, slug=obj.slug, domain=obj.domain, **fields)
            obj.pk = created.pk


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "community", "role", "state", "level", "level_pinned", "joined_at", "last_seen_on")
    list_filter = ("role", "state", "level", "community")
    search_fields = ("user__username", "user__email", "community__name")
    raw_id_fields = ("user", "community")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "community", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("community",)
    search_fields = ("email",)
    raw_id_fields = ("invited_by", "accepted_by", "community")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "community", "actor", "action", "target_user", "detail")
    list_filter = ("action", "community")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    list_select_related = ("community", "actor", "target_user")

    # The record of what happened: read here, written only by the services that did it.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    list_display = ("user", "community", "reason", "until", "created_at", "lifted_at")
    list_filter = ("community",)
    readonly_fields = [f.name for f in Ban._meta.fields]

    # Banned and lifted through the facilitator pages, which keep the membership and audit log in step.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CommunityRequest)
class CommunityRequestAdmin(admin.ModelAdmin):
    list_display = ("name", "requester", "state", "visibility", "created_at", "decided_by", "decided_at")
    list_filter = ("state", "visibility")
    search_fields = ("name", "domain", "requester__username", "requester__email")
    readonly_fields = [f.name for f in CommunityRequest._meta.fields]
    list_select_related = ("requester", "decided_by")

    # Decided on /c/requests/, which creates the community, makes the requester its owner and emails them.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(LevelSnapshot)
admin.site.register(Activity)
