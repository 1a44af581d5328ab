"""The inventory domain: aggregates, their events and the rules they obey.

Imports nothing but the standard library, ``eventsourcing.domain`` and its own
modules.
"""

from __future__ import annotations
