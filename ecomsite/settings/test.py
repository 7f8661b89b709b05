"""Settings for the test suite: SQLite in memory unless DATABASE_URL says otherwise."""

import tempfile
from pathlib import Path

from ecomsite.environment import refuse_in_production

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, artifact_storage_config, env

refuse_in_production(__name__)

DEBUG = False
SECRET_KEY = "test-only-secret-key"
PSEUDONYM_KEY = "test-only-pseudonym-key"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"timeout": 30}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="ecomsite-test-media-"))
ARTIFACTS_ROOT = Path(
    env.str(
        "ARTIFACTS_ROOT", default=tempfile.mkdtemp(prefix="ecomsite-test-artifacts-")
    )
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "artifacts": artifact_storage_config(ARTIFACTS_ROOT),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "anon": "10000/minute",
        "user": "10000/minute",
        "auth": "10000/minute",
        "orders": "10000/minute",
    },
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
WHITENOISE_AUTOREFRESH = True

# Unit tests run tasks in-process; the integration tests start a real worker and broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
# Tasks record their own failures on the run; eager retries must re-run, not raise.
CELERY_TASK_EAGER_PROPAGATES = False
