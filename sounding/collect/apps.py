from django.apps import AppConfig


class CollectConfig(AppConfig):
    name = "sounding.collect"
    label = "collect"
