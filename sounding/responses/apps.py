from django.apps import AppConfig


class ResponsesConfig(AppConfig):
    name = "sounding.responses"
    label = "responses"
