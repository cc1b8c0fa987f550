from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sounding.accounts"
    label = "accounts"
