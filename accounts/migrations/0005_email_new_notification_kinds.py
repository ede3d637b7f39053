# The bell added notification kinds. Those emailed at once by default for new accounts
# (accounts.models.ADDED_EMAIL_NOTIFICATIONS) are turned on for existing accounts too, beside
# what each person had chosen; deleted accounts (no email at all) are left as they are.

from django.db import migrations

ADDED = ["new_thread", "watching", "event_reminder", "join_request", "flagged", "held"]


def add_kinds(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    changed = []
    for user in User.objects.filter(deleted_at__isnull=True).only("pk", "email_notifications").iterator(chunk_size=2000):
        kinds = list(user.email_notifications or [])
        missing = [kind for kind in ADDED if kind not in kinds]
        if missing:
            user.email_notifications = kinds + missing
            changed.append(user)
        if len(changed) >= 1000:
            User.objects.bulk_update(changed, ["email_notifications"])
            changed = []
    if changed:
        User.objects.bulk_update(changed, ["email_notifications"])


def remove_kinds(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for user in User.objects.only("pk", "email_notifications").iterator(chunk_size=2000):
        kinds = [kind for kind in (user.email_notifications or []) if kind not in ADDED]
        if kinds != list(user.email_notifications or []):
            User.objects.filter(pk=user.pk).update(email_notifications=kinds)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_user_lookalike_name_keys"),
    ]

    operations = [migrations.RunPython(add_kinds, remove_kinds)]
