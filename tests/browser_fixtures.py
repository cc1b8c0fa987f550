"""A real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Never downloads a browser: the tests use the system one or are skipped with the reason,
unless CI=true, where a missing Chromium is a failure.

Every browser context a test opens, through these fixtures or `chromium.new_context()`, is
watched for Content-Security-Policy violations, and a test that caused one fails. Three
witnesses, since each misses something: Chromium's console error (the only one when
JavaScript is off), the page's `securitypolicyviolation` event reported to the test at once
(it outlives the page's navigations) and kept in `window.__cspViolations` (read before the
context closes, when a report may still be on its way).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("SOUNDING_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("SOUNDING_TEST_ARTIFACTS", "test-artifacts"))
PHONE = {"width": 390, "height": 844}


# Added to every frame before the page's own scripts, so that none of their violations is
# missed.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var seen = e.effectiveDirective + " refused " + (e.blockedURI || "?") + " in " +
    (e.sourceFile || e.documentURI) + ":" + e.lineNumber + " " + (e.sample || "");
  window.__cspViolations.push(seen);
  if (window.__cspViolation) window.__cspViolation(seen);
}, true);
"""
SWEEP = "window.__cspViolations ? window.__cspViolations.splice(0) : []"


class CspWatch:
    """The Content-Security-Policy violations seen in one browser context."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.open = True
        self.seen: list[str] = []
        context.add_init_script(CSP_LISTENER)
        context.expose_binding("__cspViolation", lambda _source, seen: self.seen.append(seen))
        context.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.seen.append(f"console: {message.text}")

    def sweep(self) -> None:
        """Collect what the open pages recorded and no report has brought yet."""
        if not self.open:
            return
        for page in self.context.pages:
            for frame in page.frames:
                try:
                    self.seen += frame.evaluate(SWEEP)
                except Exception:  # a frame gone, or a context without JavaScript
                    continue

    def take(self) -> list[str]:
        """Every violation seen so far, once each; the watch starts afresh."""
        self.sweep()
        found = list(dict.fromkeys(self.seen))
        self.seen.clear()
        return found


# The watches of the contexts opened since the current test began.
WATCHES: list[CspWatch] = []


def csp_watch(context: Any) -> CspWatch:
    return next(watch for watch in WATCHES if watch.context is context)


class WatchedBrowser:
    """The browser, whose every new context is watched for policy violations."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def new_context(self, **options: Any) -> Any:
        context = self.browser.new_context(**options)
        watch = CspWatch(context)
        WATCHES.append(watch)
        close = context.close

        def sweep_then_close(*args: Any, **kwargs: Any) -> None:
            watch.sweep()
            watch.open = False
            close(*args, **kwargs)

        context.close = sweep_then_close
        return context

    def new_page(self, **options: Any) -> Any:
        # The browser's own would open a context of its own, unwatched.
        return self.new_context(**options).new_page()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.browser, name)


@pytest.fixture(autouse=True)
def _no_csp_violations() -> Iterator[None]:
    """Fails the test that caused a policy violation in any page it opened."""
    yield
    found = [seen for watch in WATCHES for seen in watch.take()]
    WATCHES.clear()
    if found:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(found), pytrace=False)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required in CI and was not found at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield WatchedBrowser(browser)
        browser.close()


@pytest.fixture
def phone(chromium: object) -> Iterator[object]:
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone_without_js(chromium: object) -> Iterator[object]:
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def script_checked_page(chromium: Any, **options: Any) -> Iterator[Any]:
    """A page in a context of its own (`options` for `new_context`) that fails the test when
    one of its scripts throws: yield from it in a fixture."""
    context = chromium.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"a page script failed: {errors}"


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def serious_violations(page: object) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
