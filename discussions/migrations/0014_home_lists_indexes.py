from django.db import migrations, models


class Migration(migrations.Migration):
    """The member home (discovery/queries.py): threads across communities by last activity."""

    dependencies = [
        ("discussions", "0013_watching_levels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="thread",
            index=models.Index(fields=["-last_activity_at"], name="thread_activity_idx"),
        ),
    ]
