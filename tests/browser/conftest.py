"""Browser tests: Playwright driving Debian's Chromium (no browser download)."""
from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium on this closed network keeps trying Google's hosts.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def browser():
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()
