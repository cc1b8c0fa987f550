"""Response, Answer and LinkClick moved to `answers` with their tables: dropped from this app's
state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("collect", "0004_link_clicks"),
        ("delivery", "0010_response_moved_to_answers"),
        ("webhooks", "0002_response_moved_to_answers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="linkclick",
                    name="survey",
                ),
                migrations.RemoveField(
                    model_name="response",
                    name="survey",
                ),
                migrations.DeleteModel(
                    name="Answer",
                ),
                migrations.DeleteModel(
                    name="LinkClick",
                ),
                migrations.DeleteModel(
                    name="Response",
                ),
            ],
            database_operations=[],
        )
    ]
