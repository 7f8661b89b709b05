from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def sync_roles_after_migrate(sender, **kwargs):
    """Create the staff roles once every app's permissions exist: after the
    post_migrate of the last app with models (permissions are created per app)."""
    last = [config for config in apps.get_app_configs() if config.models_module][-1]
    if sender is not last:
        return
    from .roles import roles_sync

    roles_sync()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Customers and staff"

    def ready(self):
        from . import admin_customers  # noqa: F401 - registers the customer page

        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts-roles")
