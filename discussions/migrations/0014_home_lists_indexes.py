from django.db import migrations, models


class Migration(migrations.Migration):
    """The member home (discovery/queries.py): threads across communities by last activity, and unread counts."""

    dependencies = [
        ("discussions", "0013_watching_levels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="post",
            index=models.Index(fields=["thread", "created_at"], name="post_thread_time_idx"),
        ),
        migrations.AddIndex(
            model_name="thread",
            index=models.Index(fields=["-last_activity_at"], name="thread_activity_idx"),
        ),
    ]
