"""Which settings a process runs with: production ones when DJANGO_ENV says so.

Imported by manage.py, the Celery app and the WSGI/ASGI apps before Django is set
up, so it reads only the environment.
"""

import os

from django.core.exceptions import ImproperlyConfigured

PRODUCTION = "production"
PRODUCTION_SETTINGS = "ecomsite.settings.production"
DEVELOPMENT_SETTINGS = "ecomsite.settings.local"


def is_production() -> bool:
    return os.environ.get("DJANGO_ENV", "").strip().lower() == PRODUCTION


def use_default_settings() -> str:
    """Set DJANGO_SETTINGS_MODULE when unset: production settings when DJANGO_ENV is
    `production`, else the development ones. Return the module in use."""
    default = PRODUCTION_SETTINGS if is_production() else DEVELOPMENT_SETTINGS
    return os.environ.setdefault("DJANGO_SETTINGS_MODULE", default)


def refuse_in_production(settings_module: str) -> None:
    """Stop a process loading development or test settings when DJANGO_ENV is
    `production` (DEBUG on, a known secret)."""
    if is_production():
        raise ImproperlyConfigured(
            f"DJANGO_ENV is production but the settings are {settings_module} "
            f"(DEBUG, a known secret key). Unset DJANGO_SETTINGS_MODULE or set it to "
            f"{PRODUCTION_SETTINGS}."
        )
