"""Real worker processes on a real broker, for the integration tests.

These need PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL); `.ci/run` starts
both. Without them the tests skip, except in CI where that is an error.
"""

import contextlib

import pytest

from tests.worker_support import (  # noqa: F401 - fixtures and helpers of these tests
    Worker,
    broker_from_env,
    redis_url,
    start_worker,
    wait_for,
)


@pytest.fixture
def amqp_url():
    url = broker_from_env("TEST_AMQP_URL")
    from kombu import Connection

    with Connection(url) as connection:  # start clean: no tasks left from other runs
        for queue in ("gpu", "default"):
            with contextlib.suppress(Exception):
                connection.SimpleQueue(queue).clear()
    return url
