from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """A chat's live view reads a thread's posts after one of them, in id order: one index range scan."""

    dependencies = [
        ("discussions", "0008_thread_tag_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="post",
            index=models.Index(fields=["thread", "id"], name="post_arrival_idx"),
        ),
    ]
