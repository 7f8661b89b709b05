from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Customers and staff"

    def ready(self):
        from . import admin_customers  # noqa: F401 - registers the customer page
