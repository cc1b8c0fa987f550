from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sounding.accounts"
    label = "accounts"

    def ready(self) -> None:
        from sounding import checks  # noqa: F401  (registers the installation's checks)
