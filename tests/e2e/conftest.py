"""Browser fixtures: one headless Chromium per session, a fresh context per test."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import CHROMIUM, _missing
from tests.e2e.helpers import VIEWPORTS, PageWatcher

SCREENSHOTS = Path(__file__).parent / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium calls Google at start-up and logs the refusals.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Session fixtures run before tests/conftest.py's per-test service check.
    if reason := _missing("browser"):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must provide this: {reason}")
        pytest.skip(reason)
    # Playwright's sync API keeps an asyncio loop running in the main thread while
    # the browser is open, so Django takes the tests' own database calls for async
    # code and refuses them (SynchronousOnlyOperation). Allowed while the browser
    # is open, and only then.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The login still checks the password; it just does not take 0.2 s twice."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[str], tuple[Page, PageWatcher]]]:
    """Factory: new_page("phone") gives a page in a fresh context, and its watcher.

    The context asks for English (Accept-Language: en-US), as an operator's browser
    installed in English would: the back office must still answer in Chinese.
    """
    contexts: list[BrowserContext] = []

    def make(viewport: str) -> tuple[Page, PageWatcher]:
        context = browser.new_context(locale="en-US", **VIEWPORTS[viewport])
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        return page, PageWatcher(page)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot_dir(request: pytest.FixtureRequest) -> Path:
    """tests/e2e/screenshots/<test function>/, created on demand."""
    path = SCREENSHOTS / request.node.originalname
    path.mkdir(parents=True, exist_ok=True)
    return path
