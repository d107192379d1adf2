"""Debian's Chromium as the benchmarks and the browser tests launch it under Playwright (never a
browser Playwright downloads): where it is and the flags this machine needs."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = "Debian chromium is not installed: run `make setup-browser` (apt-get install chromium)"


def has_chromium() -> bool:
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)
