from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "sounding.reports"
    label = "reports"
