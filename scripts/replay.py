#!/usr/bin/env python3
"""Rebuild Craton's read models from the event log (``--verify``: compare instead).

Same as ``craton replay``; reads ``CRATON_DATABASE_URL``.
"""

from __future__ import annotations

import sys

from craton.cli import main

if __name__ == "__main__":
    sys.exit(main(["replay", *sys.argv[1:]]))
