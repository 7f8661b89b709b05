"""Settings shared by every environment, read from the environment (django-environ)."""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

# DJANGO_ENV=production makes manage.py and Celery use the production settings and
# the development and test settings refuse to load (ecomsite.environment).
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")  # required in production.py
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # only until its tokens are migrated to knox
    "knox",
    "axes",
    "ecomsite.apps.PlatformConfig",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "accounts",
    "catalog",
    "orders",
    "recommender",
    "forecasting",
    "mlops",
    "storefront",
]

MIDDLEWARE = [
    "ecomsite.security.NulInPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "ecomsite.security.AdminSelectionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ecomsite.security.ContentSecurityPolicyMiddleware",
    # Last: turns a sign-in refused by the lockout into a 429 answer.
    "axes.middleware.AxesMiddleware",
]

# Scripts, styles, images and fonts from the site itself only, no inline script;
# inline style attributes are allowed because the admin's templates use them.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

ROOT_URLCONF = "ecomsite.urls"
WSGI_APPLICATION = "ecomsite.wsgi.application"
ASGI_APPLICATION = "ecomsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server, workers and imports share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# The lockout backend first: it refuses sign-ins from a locked-out client.
AUTHENTICATION_BACKENDS = [
    "ecomsite.signin.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
ARTIFACTS_ROOT = Path(env.str("ARTIFACTS_ROOT", default=str(VAR_DIR / "artifacts")))
# Artifacts on S3-compatible object storage when workers share no file system
# (docs/scale-out.md): ARTIFACT_STORAGE=s3, ARTIFACT_S3_BUCKET, and for MinIO or another
# non-AWS store ARTIFACT_S3_ENDPOINT_URL; credentials as boto3 reads them (AWS_* vars).
ARTIFACT_STORAGE = env.str("ARTIFACT_STORAGE", default="filesystem")


def artifact_storage_config(root: Path) -> dict:
    """STORAGES["artifacts"] for ARTIFACT_STORAGE: "filesystem" (under root) or "s3"."""
    from django.core.exceptions import ImproperlyConfigured

    if ARTIFACT_STORAGE == "filesystem":
        return {
            "BACKEND": "mlops.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(root)},
        }
    if ARTIFACT_STORAGE != "s3":
        raise ImproperlyConfigured(
            f"ARTIFACT_STORAGE={ARTIFACT_STORAGE!r}; expected 'filesystem' or 's3'."
        )
    if not env.str("ARTIFACT_S3_BUCKET", default=""):
        raise ImproperlyConfigured("ARTIFACT_STORAGE=s3 needs ARTIFACT_S3_BUCKET.")
    return {
        "BACKEND": "mlops.s3storage.ArtifactS3Storage",
        "OPTIONS": {
            "bucket_name": env.str("ARTIFACT_S3_BUCKET"),
            "location": env.str("ARTIFACT_S3_PREFIX", default="artifacts"),
            "endpoint_url": env.str("ARTIFACT_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("ARTIFACT_S3_REGION", default=None),
        },
    }


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Model artifacts: a folder, or object storage when workers run on several hosts.
    "artifacts": artifact_storage_config(ARTIFACTS_ROOT),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"

# --- Shop -------------------------------------------------------------------
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="EUR")
SHOP_DEFAULT_LEAD_TIME_DAYS = env.int("SHOP_DEFAULT_LEAD_TIME_DAYS", default=7)
SHOP_DEFAULT_SERVICE_LEVEL = env.float("SHOP_DEFAULT_SERVICE_LEVEL", default=0.95)
# Products first seen in a file without stock figures are untracked (never out of
# stock) unless this is set: a missing figure is not an empty shelf.
SHOP_NEW_PRODUCTS_STOCK_TRACKED = env.bool(
    "SHOP_NEW_PRODUCTS_STOCK_TRACKED", default=False
)
# "auto" (None): each recommender training decides from the data where customers
# re-buy; true/false: repeat purchases always / never shown.
SHOP_REPEAT_PURCHASE = {"auto": None, "true": True, "false": False}.get(
    env.str("SHOP_REPEAT_PURCHASE", default="auto").strip().lower(),
    env.bool("SHOP_REPEAT_PURCHASE", default=False),
)
# Key of the keyed hashes that pseudonymise customers in training data and tombstones.
# Required in production, apart from SECRET_KEY (rotating the secret must not let
# erased customers back in); changing it makes old tombstones unrecognisable.
PSEUDONYM_KEY = env.str("PSEUDONYM_KEY", default="")
# Views, cart adds and searches older than this are deleted nightly (accounts.tasks).
BEHAVIOUR_EVENT_RETENTION_DAYS = env.int("BEHAVIOUR_EVENT_RETENTION_DAYS", default=365)
# Upload limits for product images (validated with Pillow on the way in).
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
IMAGE_ALLOWED_FORMATS = env.list(
    "IMAGE_ALLOWED_FORMATS", default=["JPEG", "PNG", "WEBP", "GIF"]
)
IMAGE_THUMBNAIL_SIZE = (256, 256)
IMPORT_BATCH_SIZE = env.int("IMPORT_BATCH_SIZE", default=5000)

# --- REST API ---------------------------------------------------------------
# The hottest reads (API tokens, served lists) run as prepared statements on
# PostgreSQL. Turn off behind a pooler that cannot keep them (PgBouncer in
# transaction mode before 1.21).
PREPARED_READS = env.bool("PREPARED_READS", default=True)

# --- Client addresses, sign-in lockout, API tokens ---------------------------
# How many reverse proxies in front of the app append to X-Forwarded-For. 0 (the
# default) trusts REMOTE_ADDR only: the header is then ignored, so that a client
# cannot choose the address its throttles and lockout count against.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
# django-axes: failed sign-ins on the admin, the storefront and the API token
# endpoint, counted per client address (the same rule as the API throttles).
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "ecomsite.signin.client_address"
AXES_LOCKOUT_CALLABLE = "ecomsite.signin.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False
# django-rest-knox: API tokens are stored as SHA-512 digests and expire.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# The most live tokens one user holds; obtaining another retires the oldest.
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=10)

REST_FRAMEWORK = {
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ecomsite.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
        "auth": env.str("API_THROTTLE_AUTH", default="10/minute"),
        "orders": env.str("API_THROTTLE_ORDERS", default="30/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ecomsite API",
    "DESCRIPTION": "Catalogue, orders and customer data of the shop's back office.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from the project itself (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ecomsite.openapi.document_error_responses",
    ],
}

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Celery -----------------------------------------------------------------
# With no broker configured, an embedded one that needs no server is used: kombu's
# filesystem transport under var/ (one machine only). Set CELERY_BROKER_URL to
# redis://… or amqp://… to scale out.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Above the longest expected run, so that a slow task is not redelivered meanwhile.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=8 * 3600),
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(VAR_DIR / "broker" / "out"),
        "data_folder_out": str(VAR_DIR / "broker" / "out"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "mlops.tasks.train_model": {"queue": "gpu"},
    "mlops.tasks.infer_chunk": {"queue": "gpu"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=6 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int(
    "CELERY_TASK_SOFT_TIME_LIMIT", default=6 * 3600 - 300
)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- ML platform ------------------------------------------------------------
MLOPS_ARTIFACT_PREFIX = "artifacts"
# A run whose heartbeat is older than this is taken to be abandoned by a dead worker.
MLOPS_RUN_STALE_SECONDS = env.int("MLOPS_RUN_STALE_SECONDS", default=120)
MLOPS_MAX_ATTEMPTS = env.int("MLOPS_MAX_ATTEMPTS", default=3)
# Batch inference chunks: a fixed size, or (0) sized from the workers on the chunk queue
# (MLOPS_INFERENCE_WORKERS, 0 = ask Celery) and the catalogue (mlops/chunking.py).
MLOPS_INFERENCE_CHUNK_SIZE = env.int("MLOPS_INFERENCE_CHUNK_SIZE", default=0)
MLOPS_INFERENCE_WORKERS = env.int("MLOPS_INFERENCE_WORKERS", default=0)
MLOPS_INFERENCE_CHUNKS_PER_WORKER = env.int(
    "MLOPS_INFERENCE_CHUNKS_PER_WORKER", default=4
)
MLOPS_INFERENCE_CHUNK_CELLS = env.int("MLOPS_INFERENCE_CHUNK_CELLS", default=50_000_000)
MLOPS_INFERENCE_SMALLEST_CHUNK = env.int("MLOPS_INFERENCE_SMALLEST_CHUNK", default=500)
MLOPS_SEED = env.int("MLOPS_SEED", default=42)
# Automatic categories: the precision each category's auto-assign threshold must reach.
CATEGORY_TARGET_PRECISION = env.float("CATEGORY_TARGET_PRECISION", default=0.95)
MLOPS_CPU_THREADS = env.int("MLOPS_CPU_THREADS", default=0)
