from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),  # optional in django-stubs; Django's UserAdmin always sets it
        ("Profile", {"fields": ("display_name", "bio", "time_zone", "deleted_at")}),
    )
    list_display = ("username", "email", "display_name", "is_active", "is_staff", "date_joined", "deleted_at")
    list_filter = (*BaseUserAdmin.list_filter, "deleted_at")
    readonly_fields = ("deleted_at",)
    search_fields = ("username", "email", "display_name")
