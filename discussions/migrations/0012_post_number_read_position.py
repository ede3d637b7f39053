"""Read tracking by post: every post gets its number in its thread, read states a position by number.

Before: a read state was one time (``last_read_at``), and opening any page
of a thread marked all of it read. After: ``Post.number`` (1 is the opening
post, then the order the posts were written), ``Thread.highest_post_number``
(the counter replies take the next number from) and, per read state,
``last_read_post_number`` with ``read_beyond`` (discussions/reading.py).

Existing rows: posts are numbered in the order they were written (the
opening post first, then by time, then by id); a read state keeps, as its
prefix, every post written up to its time, which is what it meant.
``last_read_at`` stays: it now says when the position last moved.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def number_posts(apps, schema_editor):
    Post = apps.get_model("discussions", "Post")
    Thread = apps.get_model("discussions", "Thread")
    ReadState = apps.get_model("discussions", "ReadState")
    q = schema_editor.quote_name
    post, thread, read = q(Post._meta.db_table), q(Thread._meta.db_table), q(ReadState._meta.db_table)
    # Table names from the models; no values. UPDATE … FROM: PostgreSQL, and SQLite since 3.33.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {post} SET number = ranked.n FROM ("  # noqa: S608
            f"  SELECT id, ROW_NUMBER() OVER (PARTITION BY thread_id"
            f"    ORDER BY CASE WHEN depth = 0 THEN 0 ELSE 1 END, created_at, id) AS n FROM {post}"
            f") AS ranked WHERE {post}.id = ranked.id"
        )
        cursor.execute(
            f"UPDATE {thread} SET highest_post_number = COALESCE("  # noqa: S608
            f"(SELECT MAX(p.number) FROM {post} p WHERE p.thread_id = {thread}.id), 0)"
        )
        # Read up to the first post written after the state's time; all of it if there is none.
        cursor.execute(
            f"UPDATE {read} SET last_read_post_number = COALESCE("  # noqa: S608
            f"(SELECT MIN(p.number) - 1 FROM {post} p"
            f"  WHERE p.thread_id = {read}.thread_id AND p.created_at > {read}.last_read_at),"
            f"(SELECT t.highest_post_number FROM {thread} t WHERE t.id = {read}.thread_id))"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("discussions", "0011_post_state"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="number",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="thread",
            name="highest_post_number",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="readstate",
            name="last_read_post_number",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="readstate",
            name="read_beyond",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AlterField(
            model_name="readstate",
            name="last_read_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="readstate",
            name="thread",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="read_states", to="discussions.thread"
            ),
        ),
        migrations.RunPython(number_posts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="post",
            name="number",
            field=models.PositiveIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.UniqueConstraint(fields=("thread", "number"), name="post_unique_number"),
        ),
    ]
