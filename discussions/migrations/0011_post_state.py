"""A post's visibility becomes one field, ``state``, with the time it left "visible" and a check constraint.

Before: ``deleted_at``, ``hidden_at`` and ``held_at``, kept consistent by
convention (a held post had ``held_at`` and ``hidden_at``; a turned-down one
``hidden_at`` alone). The most final wins: deleted, then held, then hidden.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Q


def to_state(apps, schema_editor):
    Post = apps.get_model("discussions", "Post")
    Post.objects.filter(deleted_at__isnull=False).update(state="deleted", state_changed_at=F("deleted_at"))
    held = Post.objects.filter(deleted_at__isnull=True, held_at__isnull=False)
    held.update(state="held", state_changed_at=F("held_at"))
    hidden = Post.objects.filter(deleted_at__isnull=True, held_at__isnull=True, hidden_at__isnull=False)
    hidden.update(state="hidden", state_changed_at=F("hidden_at"))


def from_state(apps, schema_editor):
    Post = apps.get_model("discussions", "Post")
    Post.objects.filter(state="deleted").update(deleted_at=F("state_changed_at"))
    Post.objects.filter(state="held").update(held_at=F("state_changed_at"), hidden_at=F("state_changed_at"))
    Post.objects.filter(state="hidden").update(hidden_at=F("state_changed_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("discussions", "0010_move_events_and_notifications_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="state",
            field=models.CharField(
                choices=[
                    ("visible", "visible"),
                    ("held", "held for review"),
                    ("hidden", "hidden by a facilitator"),
                    ("deleted", "deleted"),
                ],
                default="visible",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="post",
            name="state_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(to_state, from_state),
        migrations.RemoveIndex(model_name="post", name="post_held_idx"),
        migrations.RemoveField(model_name="post", name="deleted_at"),
        migrations.RemoveField(model_name="post", name="hidden_at"),
        migrations.RemoveField(model_name="post", name="held_at"),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(condition=Q(state="held"), fields=["state_changed_at"], name="post_held_idx"),
        ),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.CheckConstraint(
                condition=Q(state="visible", state_changed_at__isnull=True)
                | Q(state__in=["held", "hidden", "deleted"], state_changed_at__isnull=False),
                name="post_state_consistent",
            ),
        ),
    ]
