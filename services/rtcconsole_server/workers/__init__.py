"""Background workers: one group, one start/stop path, in ``serve`` and standalone alike.

The workers layer sits above the domain and below the API: appliers of due
operations and settings, the callback dispatcher, the usage aggregator (the
top-level ``rtcconsole_aggregator`` package) and, later, retention jobs and the
real-time slot publisher all run as :class:`Worker` entries of a :class:`WorkerGroup`.
"""

from __future__ import annotations

from rtcconsole_server.workers._group import Worker, WorkerGroup

__all__ = ["Worker", "WorkerGroup"]
