"""Real worker processes on a real broker, for the integration and browser tests.

These need PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL); `.ci/run` starts
both. Without them the tests skip, except in CI where that is an error. Import the
fixtures into a test module or conftest to use them.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def broker_from_env(variable: str) -> str:
    url = os.environ.get(variable)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"CI must set {variable} for the integration tests.")
        pytest.skip(f"needs a broker: set {variable}")
    return url


@pytest.fixture
def redis_url():
    url = broker_from_env("TEST_REDIS_URL")
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


class Worker:
    """A `celery worker` subprocess sharing the test database and artifact folder."""

    def __init__(self, broker_url: str, name: str, extra_env: dict[str, str]):
        db = connection.settings_dict
        database_url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            f"/{db['NAME']}"
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ecomsite.settings.test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "ARTIFACTS_ROOT": str(settings.ARTIFACTS_ROOT),
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        self.log = Path(settings.ARTIFACTS_ROOT).parent / f"worker-{name}.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "ecomsite",
                "worker",
                "-Q",
                "gpu,default",
                "--concurrency",
                "1",
                "--prefetch-multiplier",
                "1",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL takes the children too
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text()[-4000:]


@pytest.fixture
def start_worker():
    workers: list[Worker] = []

    def start(broker_url: str, name: str, **extra_env) -> Worker:
        worker = Worker(broker_url, name, extra_env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


def wait_for(predicate, *, timeout: float, interval: float = 0.25, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
