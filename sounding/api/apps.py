from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "sounding.api"
    label = "api"
