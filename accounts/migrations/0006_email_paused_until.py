from django.db import migrations, models


def reminders_by_email(apps, schema_editor):
    """The new "a reminder I set is due" email: on for every account, as for new ones (never asked before)."""
    User = apps.get_model("accounts", "User")
    for user in User.objects.filter(deleted_at__isnull=True).only("pk", "email_notifications").iterator():
        kinds = list(user.email_notifications or [])
        if "reminder" not in kinds:
            User.objects.filter(pk=user.pk).update(email_notifications=[*kinds, "reminder"])


class Migration(migrations.Migration):
    """One pause for all email.

    The email settings page had two controls for it, a "Pause all email"
    button and a "Pause all email from this site" box in the digest form,
    both writing ``email_paused``. It stays the one switch every sender
    asks, so a pause chosen with either keeps its meaning: paused until the
    person turns email back on (``email_paused_until`` empty). A pause for a
    while sets ``email_paused_until`` and ends by itself (accounts.resume_email).
    """

    dependencies = [
        ("accounts", "0005_email_new_notification_kinds"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_paused_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(reminders_by_email, migrations.RunPython.noop),
    ]
