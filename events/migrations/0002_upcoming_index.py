from django.db import migrations, models


class Migration(migrations.Migration):
    """My calendar and the member home: events not over yet, found by their end."""

    dependencies = [
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["ends_at"], name="event_upcoming_idx"),
        ),
    ]
