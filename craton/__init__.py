"""Craton: an event-sourced ledger for cloud fleets."""

from __future__ import annotations

__version__ = "0.1.0"
