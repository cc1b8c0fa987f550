"""The identifiers a link carried move from a column each to one `identities` object, keyed by
identity name: identities belong to the destinations, and a new one needs no column.

Copied in one statement per table (a response holds only the identifiers its link carried);
undone the same way.
"""

from django.db import migrations, models

NAMES = ("braze_id", "external_id", "email")


def _forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    pairs = ", ".join(f"'{n}', NULLIF({n}, '')" for n in NAMES)
    if vendor == "postgresql":
        sql = f"UPDATE collect_response SET identities = jsonb_strip_nulls(jsonb_build_object({pairs}))"
    else:
        # A merge patch drops the members whose value is null.
        sql = f"UPDATE collect_response SET identities = json_patch('{{}}', json_object({pairs}))"
    schema_editor.execute(sql)


def _backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        sets = ", ".join(f"{n} = COALESCE(identities ->> '{n}', '')" for n in NAMES)
    else:
        sets = ", ".join(f"{n} = COALESCE(json_extract(identities, '$.{n}'), '')" for n in NAMES)
    schema_editor.execute(f"UPDATE collect_response SET {sets}")


class Migration(migrations.Migration):
    dependencies = [
        ("answers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="response",
            name="identities",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(_forwards, _backwards, elidable=False),
        migrations.RemoveField(model_name="response", name="braze_id"),
        migrations.RemoveField(model_name="response", name="email"),
        migrations.RemoveField(model_name="response", name="external_id"),
    ]
