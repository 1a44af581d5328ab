"""Read models built inline from events: current state and its whole history."""

from __future__ import annotations
