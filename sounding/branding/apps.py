from django.apps import AppConfig


class BrandingConfig(AppConfig):
    name = "sounding.branding"
    label = "branding"
