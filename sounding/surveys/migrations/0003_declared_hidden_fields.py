"""Hidden fields are declared in the survey definition (`hidden_fields`) from now on: a link
keeps only the parameters its survey names, and exports have a column for those alone.

Before, every unknown link parameter was kept. Each survey now declares the names its
responses already hold, so the links already sent on keep filling the same columns: the
distinct keys of `collect_response.hidden` per survey, counted by the responses holding them,
most used first (then by name), keeping only names a definition accepts, at most 20. Every
definition gets the field, `[]` where no response held a valid name.

A survey whose names change gets a new `version`, so every process's per-version caches
(the spec, the report's tallies) are built again from the new definition. A survey given `[]`
keeps its version: nothing it does changes.

Stored values are left as they were. A value under a name that is not declared (one beyond
the 20, or a name no definition accepts) stays on its response page, and is no longer in
exports or the API.

The rules are copied here, as of this change, so that the migration does the same thing
whatever later code says.
"""

import re
from collections import defaultdict

from django.db import migrations

LIMIT = 20
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
RESERVED = frozenset(
    {"user_braze_id", "user_external_id", "user_email", "lang", "sig", "r", "preview", "q",
     "restart"}
)

# How many responses of each survey hold each name: (survey_id, name, count) rows. A value of
# `hidden` that is not an object holds no name.
COUNTS = {
    "postgresql": (
        "SELECT r.survey_id, k.name, COUNT(*) FROM collect_response AS r "
        "CROSS JOIN LATERAL jsonb_object_keys(CASE WHEN jsonb_typeof(r.hidden) = 'object' "
        "THEN r.hidden ELSE '{}'::jsonb END) AS k(name) "
        "WHERE r.erase_requested_at IS NULL GROUP BY r.survey_id, k.name"
    ),
    "sqlite": (
        "SELECT r.survey_id, j.key, COUNT(*) FROM collect_response AS r, "
        "json_each(CASE WHEN json_valid(r.hidden) AND json_type(r.hidden) = 'object' "
        "THEN r.hidden ELSE '{}' END) AS j "
        "WHERE r.erase_requested_at IS NULL GROUP BY r.survey_id, j.key"
    ),
}


def stored_names(apps, connection):
    """{survey_id: {name: responses holding it}} for every survey with hidden values."""
    found: defaultdict[int, dict[str, int]] = defaultdict(dict)
    sql = COUNTS.get(connection.vendor)
    if sql is None:  # another database: the same count, read row by row
        Response = apps.get_model("collect", "Response")
        rows = Response.objects.filter(erase_requested_at__isnull=True)
        for survey_id, hidden in rows.values_list("survey_id", "hidden").iterator():
            for name in hidden if isinstance(hidden, dict) else ():
                found[survey_id][name] = found[survey_id].get(name, 0) + 1
        return found
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for survey_id, name, count in cursor.fetchall():
            found[survey_id][str(name)] = count
    return found


def declarable(name, keys):
    return (
        bool(NAME.fullmatch(name))
        and name not in RESERVED
        and not name.startswith("user_")
        and name not in keys
    )


def chosen(counts, definition):
    keys = {q.get("key") for q in definition.get("questions", []) if isinstance(q, dict)}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _count in ranked if declarable(name, keys)][:LIMIT]


def with_hidden_fields(definition, names):
    """The definition with `hidden_fields` where normalize() writes it: before `questions`."""
    out = {}
    for field, value in definition.items():
        if field == "questions":
            out["hidden_fields"] = names
        out[field] = value
    out.setdefault("hidden_fields", names)
    return out


def declare(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    counts = stored_names(apps, schema_editor.connection)
    surveys = Survey.objects.order_by("pk").values_list("pk", "definition", "version")
    for pk, definition, version in surveys.iterator():
        if not isinstance(definition, dict) or isinstance(definition.get("hidden_fields"), list):
            continue
        names = chosen(counts.get(pk, {}), definition)
        Survey.objects.filter(pk=pk).update(
            definition=with_hidden_fields(definition, names),
            version=version + 1 if names else version,
        )


def undeclare(apps, schema_editor):
    """Back to the definition format before this change, which has no `hidden_fields`."""
    Survey = apps.get_model("surveys", "Survey")
    surveys = Survey.objects.order_by("pk").values_list("pk", "definition", "version")
    for pk, definition, version in surveys.iterator():
        if not isinstance(definition, dict) or "hidden_fields" not in definition:
            continue
        names = definition.pop("hidden_fields")
        Survey.objects.filter(pk=pk).update(
            definition=definition, version=version + 1 if names else version
        )


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0002_survey_destinations"),
        ("collect", "0003_email_identities_in_lower_case"),
    ]

    operations = [
        migrations.RunPython(declare, undeclare),
    ]
