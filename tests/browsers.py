"""Debian's Chromium for the browser tests (never `playwright install`), started once per worker (tests/conftest.py
``chromium``); a module's ``browser`` fixture lends it and closes the contexts the module left open."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

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
