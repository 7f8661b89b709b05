"""Headless Chromium (Debian's package) driven by Playwright against a live server.

`.ci/run` installs `chromium`; Playwright is told where it is, so nothing is downloaded.
Each test that fails leaves a full-page screenshot under `var/screenshots/`.
"""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TIMEOUT_MS = 15_000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module.

    Playwright's sync API runs an event loop in this thread while the browser is
    open; the ORM calls a test makes between browser steps (and the database
    fixtures' own) are still plain synchronous code, so Django's async guard is
    lifted for that time only: the variable must not leak into other tests'
    subprocesses (`check --deploy` refuses it).
    """
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(
                f"CI must install Chromium at {CHROMIUM} (apt-get install chromium)"
            )
        pytest.skip(f"needs Chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(request, browser, live_server):
    """A fresh browser context on the live server; screenshot if the test fails."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True
        )
    context.close()


def sign_in(page, *, path: str, username: str, password: str) -> None:
    """Fill in a Django login form at `path` and submit it."""
    page.goto(path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()
