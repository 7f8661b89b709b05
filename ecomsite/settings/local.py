"""Settings for a developer's machine and `make demo`: SQLite under var/, DEBUG on."""

from ecomsite.environment import refuse_in_production

from .base import *  # noqa: F403
from .base import VAR_DIR, env

refuse_in_production(__name__)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-insecure-key-change-me-in-production")
# The development key keeps tombstones written before PSEUDONYM_KEY existed valid.
PSEUDONYM_KEY = env.str("PSEUDONYM_KEY", default=SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

VAR_DIR.mkdir(parents=True, exist_ok=True)
