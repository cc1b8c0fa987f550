from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "sounding.surveys"
    label = "surveys"
