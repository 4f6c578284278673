"""Debian's Chromium for the browser tests (never `playwright install`), started once per worker (tests/conftest.py
``chromium``); a module's ``browser`` fixture lends it and closes the contexts the module left open."""

from __future__ import annotations

from collections.abc import Iterator

from playwright.sync_api import Browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def lend(chromium: Browser) -> Iterator[Browser]:
    yield chromium
    for context in chromium.contexts:
        context.close()
