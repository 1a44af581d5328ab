"""The range of ids and positions: what input may name before anything is read."""

from __future__ import annotations

MAX_ID = 2**62  # beyond any id or position the store hands out, and within BIGINT
