#!/usr/bin/env python3
"""Komunalka's entry point; `python run_bot.py --help` lists the commands."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
