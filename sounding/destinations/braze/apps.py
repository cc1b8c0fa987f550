from django.apps import AppConfig


class BrazeConfig(AppConfig):
    name = "sounding.destinations.braze"
    label = "braze"
    verbose_name = "Braze"
