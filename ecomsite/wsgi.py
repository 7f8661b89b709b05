"""WSGI entry point (gunicorn ecomsite.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.production")

application = get_wsgi_application()
