"""Headless Debian Chromium, driven by Playwright, for the browser tests and bench/web.py.

Playwright's own browser download is never used (it fails offline): ``scripts/check``
installs Debian's chromium with ``scripts/install-chromium``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Browser, async_playwright

CHROMIUM = Path(os.environ.get("DOCFLOW_CHROMIUM", "/usr/bin/chromium"))
# No sandbox (CI runs as root); no calls home: the machines have no internet, and Chromium's
# background requests would be refused by the closed network, many at a time.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.asynccontextmanager
async def chromium(executable: Path = CHROMIUM) -> AsyncIterator[Browser]:
    assert os.access(executable, os.X_OK), (
        f"{executable} is missing: scripts/install-chromium installs Debian's chromium"
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
