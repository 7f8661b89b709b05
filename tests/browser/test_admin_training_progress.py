"""Staff start a training run from the admin and watch its progress bar reach done.

The run is trained by a real `celery worker` process on Redis against the test
database (PostgreSQL), while the page polls the progress endpoint; nothing reloads.
"""

import pytest

from mlops.models import Run
from tests.browser.conftest import sign_in
from tests.factories import StaffFactory
from tests.recommender.test_segments_kind import build_lapsing_shop
from tests.worker_support import redis_url, start_worker  # noqa: F401 - fixtures

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT_MS = 180_000

# Record every state and percentage the bar shows, and notice a page reload.
WATCH = """() => {
  window.__notReloaded = true;
  window.__seen = [];
  const bar = document.querySelector(".run-progress");
  const note = () => window.__seen.push(
    [bar.getAttribute("data-state") || "", bar.querySelector("progress").value]);
  new MutationObserver(note).observe(bar, {attributes: true, subtree: true});
}"""


@pytest.fixture
def tasks_to_redis(redis_url):  # noqa: F811 - the fixture imported above
    """Send the live server's tasks to Redis instead of running them in-process."""
    from ecomsite.celery import app

    def forget_pooled_connections():
        # What app.close() does, without unregistering the app (tasks imported later
        # would then be unknown to it).
        app._pool = None

    # The settings come from Django's with the CELERY_ namespace: set them so.
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.CELERY_BROKER_URL, app.conf.CELERY_TASK_ALWAYS_EAGER = redis_url, False
    forget_pooled_connections()
    yield redis_url
    app.conf.CELERY_BROKER_URL, app.conf.CELERY_TASK_ALWAYS_EAGER = saved
    forget_pooled_connections()


def test_training_progress_moves_to_done_without_a_reload(
    page,
    tasks_to_redis,
    start_worker,  # noqa: F811 - the fixture imported above
):
    build_lapsing_shop(days=300)  # enough history for the default churn horizon
    StaffFactory(username="operator", password="operator-password")
    worker = start_worker(tasks_to_redis, "browser")
    errors = []  # e.g. a script the Content-Security-Policy blocked
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    sign_in(
        page,
        path="/admin/login/?next=/admin/",
        username="operator",
        password="operator-password",
    )
    page.select_option("#start-run-type", "train")
    page.select_option("#start-run-kind", "segments")
    page.get_by_role("button", name="Start run").click()
    page.wait_for_load_state()

    run = Run.objects.get()
    assert page.get_by_text(f"training run #{run.pk}").is_visible()
    page.evaluate(WATCH)
    bar = page.locator(f'.run-progress[data-run-id="{run.pk}"]')
    try:
        page.wait_for_function(
            f"""() => document.querySelector(
                '.run-progress[data-run-id="{run.pk}"]').dataset.finished === "true\"""",
            timeout=RUN_TIMEOUT_MS,
        )
    except Exception as exc:  # show why the worker did not finish
        raise AssertionError(worker.output()) from exc

    run.refresh_from_db()
    assert run.state == Run.State.SUCCEEDED, run.error or worker.output()
    assert page.evaluate("window.__notReloaded") is True
    assert bar.locator("progress").get_attribute("value") is not None
    assert bar.locator("progress").evaluate("el => el.value") == 100
    assert (
        bar.locator(".run-progress-label").inner_text().startswith("100% · Succeeded")
    )
    seen = page.evaluate("window.__seen")
    states = [state for state, _ in seen]
    values = [value for _, value in seen]
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert "running" in states, seen  # the bar showed the run under way …
    assert values == sorted(values), seen  # … never going backwards, up to done
