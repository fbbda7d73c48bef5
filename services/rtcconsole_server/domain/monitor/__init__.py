"""Monitoring (R17-R21): call list, call details, quality series, real-time counters.

Empty until MonitorService lands; it will sit above ``events`` (calls and sessions
are built from room events) and read the live state handed to ``Console.build``.
"""

from __future__ import annotations

__all__: list[str] = []
