from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "sounding.delivery"
    label = "delivery"
