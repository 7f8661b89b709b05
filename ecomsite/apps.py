from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The project package as an app: its system checks."""

    name = "ecomsite"
    verbose_name = "Platform"

    def ready(self):
        from . import checks  # noqa: F401 - registers the checks
