"""Reports."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "sounding.reports"
    label = "reports"

    def ready(self) -> None:
        from sounding.reports import expressions

        # SQLite needs a lower() that folds every alphabet for the text search.
        expressions.connect()
