from django.db import migrations, models


def copy_tag_names(apps, schema_editor):
    """Fill Thread.tag_names from taggit's rows (discussions/tagnames.py keeps it from now on)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    TaggedItem = apps.get_model("taggit", "TaggedItem")
    Thread = apps.get_model("discussions", "Thread")
    thread_type = ContentType.objects.filter(app_label="discussions", model="thread").first()
    if thread_type is None:  # a new database: no thread is tagged yet
        return
    names: dict[int, list[str]] = {}
    rows = TaggedItem.objects.filter(content_type=thread_type).order_by("tag__name")
    for object_id, name in rows.values_list("object_id", "tag__name").iterator():
        names.setdefault(object_id, []).append(name)
    for pk, tag_list in names.items():
        Thread.objects.filter(pk=pk).update(tag_names=tag_list)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
        ("discussions", "0007_listed_threads_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="thread",
            name="tag_names",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(copy_tag_names, migrations.RunPython.noop),
    ]
