from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "sounding.destinations.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from sounding.destinations.webhooks import subscriptions

        subscriptions.connect()
