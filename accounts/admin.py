from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Profile", {"fields": ("display_name", "bio", "time_zone")}))
    list_display = ("username", "email", "display_name", "is_active", "is_staff", "date_joined")
    search_fields = ("username", "email", "display_name")
