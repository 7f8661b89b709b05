"""Settings for a developer's machine and `make demo`: SQLite under var/, DEBUG on."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-insecure-key-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

VAR_DIR.mkdir(parents=True, exist_ok=True)
