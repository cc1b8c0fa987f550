from django.apps import AppConfig


class AnswersConfig(AppConfig):
    name = "sounding.answers"
    label = "answers"
