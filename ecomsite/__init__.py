"""The project package; loads the Celery app so that shared tasks bind to it."""

from .celery import app as celery_app

__all__ = ["celery_app"]
