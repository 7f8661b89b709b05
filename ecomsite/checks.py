"""Deployment checks (`manage.py check --deploy`): what production needs shared."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)


@register(Tags.security, deploy=True)
def check_shared_cache(app_configs, **kwargs):
    """API throttles count in the default cache: it must be shared by every process."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in PROCESS_LOCAL_CACHES:
        return [
            Warning(
                f"The default cache is {backend.rsplit('.', 1)[-1]}: each web process "
                "counts API throttles on its own, so limits multiply by processes and "
                "hosts and reset on restart.",
                hint="Set CACHE_URL to a shared cache, e.g. redis://host:6379/1.",
                id="ecomsite.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_pseudonym_key(app_configs, **kwargs):
    """Tombstones must not depend on SECRET_KEY, which gets rotated."""
    key = settings.PSEUDONYM_KEY
    if not key or key == settings.SECRET_KEY:
        return [
            Error(
                "PSEUDONYM_KEY is empty or equal to SECRET_KEY: rotating the secret "
                "would make erasure tombstones unrecognisable and let erased "
                "customers back in on the next import.",
                hint="Set PSEUDONYM_KEY to its own long random value and keep it.",
                id="ecomsite.E002",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_sign_in_lockout(app_configs, **kwargs):
    """Failed sign-ins must be counted and locked out."""
    if not settings.AXES_ENABLED:
        return [
            Warning(
                "AXES_ENABLED is off: repeated failed sign-ins are never locked out.",
                id="ecomsite.W003",
            )
        ]
    return []
