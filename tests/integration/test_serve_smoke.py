"""`make serve` as an operator meets it: the process file (gunicorn, a worker on each
queue, beat) started by `scripts/serve.sh` with honcho against PostgreSQL and Redis;
sign in, start a small training run from the dashboard, see it succeed.

Redis database 5 keeps its queues apart from the other broker tests (TEST_REDIS_URL's).
"""

import os
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from mlops.models import ModelVersion, Run
from tests.factories import StaffFactory
from tests.forecasting.test_forecast_kinds import build_history
from tests.worker_support import broker_from_env, wait_for

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SERVE_REDIS_DB = 5
PASSWORD = "serve-smoke-password"


@pytest.fixture
def serve_redis_url():
    url = broker_from_env("TEST_REDIS_URL")
    url = urlunsplit(urlsplit(url)._replace(path=f"/{SERVE_REDIS_DB}"))
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """`scripts/serve.sh` running in its own process group, its output in a file."""

    def __init__(self, broker_url: str, port: int, folder: Path):
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ecomsite.settings.local",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "SERVE_MIGRATE": "0",  # pytest built the schema (--no-migrations)
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "VAR_DIR": str(folder / "var"),
            "STATIC_ROOT": str(folder / "static"),
            "ARTIFACTS_ROOT": str(settings.ARTIFACTS_ROOT),
            "WEB_CONCURRENCY": "1",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.log = folder / "serve.log"
        self.process = subprocess.Popen(
            [str(ROOT / "scripts" / "serve.sh")],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{port}"

    def answering(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"serve.sh exited early:\n{self.output()}")
        try:
            return requests.get(f"{self.url}/admin/login/", timeout=5).ok
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # honcho stops every process
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text()[-6000:]


@pytest.fixture
def served(serve_redis_url, tmp_path):
    server = Served(serve_redis_url, free_port(), tmp_path)
    yield server
    server.stop()


def csrf_token(session: requests.Session) -> str:
    return session.cookies["csrftoken"]


def test_make_serve_signs_in_and_trains_through_the_queue(served):
    build_history(products=3)
    # The test settings hash with MD5, which the served (local) settings do not read.
    operator = StaffFactory(username="operator", is_superuser=True)
    hashed = PBKDF2PasswordHasher().encode(PASSWORD, "servesmokesalt")
    type(operator).objects.filter(pk=operator.pk).update(password=hashed)
    wait_for(served.answering, timeout=180, interval=1, what="the web process")

    session = requests.Session()
    login = f"{served.url}/admin/login/"
    session.get(login, timeout=10)
    page = session.post(
        login,
        data={
            "username": "operator",
            "password": PASSWORD,
            "next": "/admin/",
            "csrfmiddlewaretoken": csrf_token(session),
        },
        headers={"Referer": login},
        timeout=30,
    )
    assert page.url == f"{served.url}/admin/", served.output()
    assert "Training and inference runs" in page.text

    started = session.post(
        f"{served.url}/admin/mlops/run/start/",
        data={
            "kind": "price",
            "type": "train",
            "next": "/admin/",
            "csrfmiddlewaretoken": csrf_token(session),
        },
        headers={"Referer": f"{served.url}/admin/"},
        timeout=30,
    )
    assert started.ok, started.text[:500]
    run = Run.objects.get()

    def finished() -> bool:
        run.refresh_from_db()
        return run.is_finished

    wait_for(finished, timeout=240, interval=1, what=f"{run}\n{served.output()}")
    assert run.state == Run.State.SUCCEEDED, run.error or served.output()
    assert ModelVersion.objects.filter(run=run, kind="price").exists()
    progress = session.get(
        f"{served.url}/admin/mlops/run/progress/", params={"ids": run.pk}, timeout=10
    ).json()
    assert progress["runs"][0]["state"] == "succeeded"
    took = [
        line
        for line in served.output().splitlines()
        if "Task mlops.tasks.train_model[" in line
    ]
    assert took and all(line.split()[1] == "gpu.1" for line in took), took
