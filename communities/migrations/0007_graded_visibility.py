"""Graded visibility: public becomes open, restricted is new, private stays private.

A private community is invisible, so nobody outside it can ask to join: a private
one whose join policy was "on request" (or "open") becomes "by invitation only".
The check constraint then holds the pairs of ``communities.models.ALLOWED_JOIN_POLICIES``.
"""

from django.db import migrations, models


def forwards(apps, schema_editor):
    Community = apps.get_model("communities", "Community")
    Community.objects.filter(visibility="public").update(visibility="open")
    Community.objects.filter(visibility="private").exclude(join_policy="invite").update(join_policy="invite")


def backwards(apps, schema_editor):
    Community = apps.get_model("communities", "Community")
    # Restricted had no equivalent: its content was members-only, so it goes back private.
    Community.objects.filter(visibility="restricted").update(visibility="private", join_policy="invite")
    Community.objects.filter(visibility="open").update(visibility="public")


class Migration(migrations.Migration):
    dependencies = [
        ("communities", "0006_alter_activity_kind"),
    ]

    operations = [
        # Wide enough for the old values while rows move, then the new choices and default.
        migrations.AlterField(
            model_name="community",
            name="visibility",
            field=models.CharField(
                choices=[
                    ("open", "Open: anyone can read, members post"),
                    ("restricted", "Restricted: anyone can find it and ask to join, only members read it"),
                    ("private", "Private: only members see anything, even its name"),
                ],
                default="open",
                max_length=10,
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddConstraint(
            model_name="community",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("join_policy__in", ["open", "approval", "invite"]), ("visibility", "open")),
                    models.Q(("join_policy__in", ["approval", "invite"]), ("visibility", "restricted")),
                    models.Q(("join_policy__in", ["invite"]), ("visibility", "private")),
                    _connector="OR",
                ),
                name="community_allowed_access",
            ),
        ),
    ]
