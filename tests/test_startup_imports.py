"""Web and worker processes start without importing TensorFlow or Keras."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
import django
django.setup()
from ecomsite.celery import app
app.loader.import_default_modules()  # what a worker does at start: every tasks module
import ecomsite.urls, ecomsite.wsgi  # what the web process loads
from django.urls import resolve
resolve("/api/v1/products/")
heavy = sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
print("TASKS:" + ",".join(sorted(t for t in app.tasks if t.startswith("mlops."))))
"""


def test_celery_app_and_urlconf_do_not_import_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            "DJANGO_SETTINGS_MODULE": "ecomsite.settings.test",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY:\n" in result.stdout, result.stdout
    assert "mlops.tasks.train_model" in result.stdout
