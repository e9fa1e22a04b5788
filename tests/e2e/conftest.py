"""Browser tests: Debian's chromium, headless, against the real stack (Daphne + a worker).

The browser is never downloaded: the tests skip when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders

from flows.engine.keys import ACTIVE_RUNS
from flows.formats.scenario import scenario_load_file
from flows.redis_state import client as redis_client
from tests.stack.conftest import Stack, live_stack  # noqa: F401

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # a checkout whose requirements do not bring Playwright in
    sync_playwright = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}
STAFF_USER = "staff"
STAFF_PASSWORD = "correct-horse-battery-staple"
SLUG = "shop"
ORIGIN = "http://eventviz.test"


def serve_static(route: Route) -> None:
    """Answer a /static/ request from the staticfiles finders, as the server does."""
    path = urlsplit(route.request.url).path.removeprefix(settings.STATIC_URL)
    found = finders.find(path)
    if not found:
        route.fulfill(status=404, body="not found")
        return
    if path.endswith((".js", ".mjs")):
        content_type = "text/javascript"
    else:
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    route.fulfill(path=str(found), content_type=content_type)


def skip_without_chromium() -> None:
    if sync_playwright is None:
        pytest.skip("the playwright package is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}")


@contextmanager
def chromium() -> Iterator[Browser]:
    skip_without_chromium()
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def can_browse() -> None:
    """Skip before starting any process when there is no browser to drive."""
    skip_without_chromium()


@pytest.fixture
def browser(
    can_browse: None,
    live_stack: Stack,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Browser]:
    # Playwright's sync API leaves its event loop marked as running in this thread, and
    # Django then refuses ORM calls from the test. Nothing runs on that loop while a test
    # body runs, so the calls are safe. The stack's processes, started before, do not
    # inherit this variable.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium() as launched:
        yield launched


@pytest.fixture
def module_page() -> Iterator[Page]:
    """A page on a made-up origin that serves only /static/: for testing one ES module."""
    with chromium() as launched:
        page = launched.new_page()
        page.route(f"{ORIGIN}{settings.STATIC_URL}**", serve_static)
        page.route(
            f"{ORIGIN}/",
            lambda route: route.fulfill(
                body="<!doctype html><title>t</title>", content_type="text/html"
            ),
        )
        page.goto(f"{ORIGIN}/")
        yield page


class Dashboard:
    """A page of the browser, with the errors it logged and the dashboard's test hooks."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self.dialogs: list[str] = []

        def on_console(message: Any) -> None:
            # The admin pages link no icon, so the browser asks for /favicon.ico and logs
            # its 404; that is no error of the page under test.
            if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"
            ):
                self.errors.append(f"{message.text} ({message.location.get('url', '')})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

    def open(self, slug: str = SLUG) -> None:
        self.page.goto(f"{self.base_url}/topologies/{slug}/")
        self.wait_for("window.__eventviz && __eventviz.connected", what="the live connection")

    def log_in(self, next_path: str = f"/topologies/{SLUG}/") -> None:
        self.page.goto(f"{self.base_url}/admin/login/?next={next_path}")
        self.page.fill("#id_username", STAFF_USER)
        self.page.fill("#id_password", STAFF_PASSWORD)
        self.page.click("input[type=submit]")
        self.page.wait_for_url(f"**{next_path}")
        self.wait_for("window.__eventviz && __eventviz.connected", what="the live connection")

    def hooks(self, expression: str) -> Any:
        return self.page.evaluate(f"() => {{ const h = window.__eventviz; return {expression}; }}")

    def wait_for(self, expression: str, *, timeout: float = 20, what: str = "") -> Any:
        try:
            handle = self.page.wait_for_function(expression, timeout=timeout * 1000)
        except Exception as exc:  # a clearer message than Playwright's TimeoutError
            raise AssertionError(f"timed out waiting for {what or expression}") from exc
        return handle.json_value()

    def start_run(self, seed: int | None = None) -> None:
        if seed is not None:
            self.page.fill("#run-seed", str(seed))
        self.page.click("#run-start")
        self.wait_for(
            "document.querySelector('#run-status').dataset.status === 'running'",
            what="the run to start",
        )

    def stop_run(self) -> None:
        self.page.click("#run-stop")
        self.wait_for(
            "document.querySelector('#run-status').dataset.status === 'stopped'",
            what="the run to stop",
        )


@pytest.fixture
def shop(live_stack: Stack) -> None:  # noqa: F811
    # Runs of earlier sessions may still be listed as active in a Redis that outlives the
    # session (REDIS_URL); the watchdog would only find them gone, but keep the log clean.
    redis_client().delete(ACTIVE_RUNS)
    scenario_load_file(SLUG)


@pytest.fixture
def staff_user(live_stack: Stack) -> Any:  # noqa: F811
    return get_user_model().objects.create_superuser(
        STAFF_USER, "staff@example.com", STAFF_PASSWORD
    )


@pytest.fixture
def dashboard(
    can_browse: None,
    browser: Browser,
    live_stack: Stack,  # noqa: F811
    shop: None,
) -> Iterator[Dashboard]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        yield Dashboard(page, live_stack.base_url)
    finally:
        context.close()
