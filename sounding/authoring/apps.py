from django.apps import AppConfig


class AuthoringConfig(AppConfig):
    name = "sounding.authoring"
    label = "authoring"
