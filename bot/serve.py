"""Serving the messenger channels; each channel issue fills in its part."""

from __future__ import annotations

import sys

from bot.bootstrap import App


async def serve(app: App) -> int:
    print("The Telegram and Viber channels are not built yet; use `python run_bot.py console`.", file=sys.stderr)
    return 2
