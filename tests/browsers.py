"""Debian's Chromium for the browser tests (never `playwright install`), started once per worker (tests/conftest.py
``chromium``); a module's ``browser`` fixture lends it and closes the contexts the module left open."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Request

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A browser module's marks. Under CI a missing browser fails the run (the launch errors) instead of skipping it.
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason=f"{CHROMIUM} is not installed (apt install chromium)",
    ),
]


def lend(chromium: Browser) -> Iterator[Browser]:
    yield chromium
    for context in chromium.contexts:
        context.close()


class NetworkQuiet:
    """Waits until a page has had no request in flight for a short while: what ``wait_for_load_state("networkidle")``
    does, with 0.1 s of quiet instead of its fixed 0.5 s (a test that visits thirty pages waited 15 s for nothing).
    Attach it before the page's first navigation."""

    def __init__(self, page: Page, quiet_ms: int = 100) -> None:
        self.page = page
        self.quiet = quiet_ms / 1000
        self.in_flight: set[Request] = set()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Request) -> None:
        self.in_flight.add(request)

    def _ended(self, request: Request) -> None:
        self.in_flight.discard(request)

    def wait(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while True:
            now = time.monotonic()
            if self.in_flight:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= self.quiet:
                return
            if now > deadline:
                raise TimeoutError(f"requests still in flight after {timeout} s: {[r.url for r in self.in_flight]}")
            self.page.wait_for_timeout(20)  # lets Playwright deliver the page's events
