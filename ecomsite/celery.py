"""The Celery application. Importing it must stay cheap: no TensorFlow here."""

from pathlib import Path

from celery import Celery

from .environment import use_default_settings

# Development settings unless DJANGO_ENV=production (which they then refuse).
use_default_settings()

app = Celery("ecomsite")
# Also the app of threads that did not create it (a live test server, threaded WSGI
# workers): otherwise they fall back to an empty default app that knows no task.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def make_embedded_broker_folders(sender, **kwargs):
    """Create the folders of the embedded filesystem broker when it is in use."""
    options = sender.conf.broker_transport_options or {}
    for key in (
        "data_folder_in",
        "data_folder_out",
        "processed_folder",
        "control_folder",
    ):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
