"""Background workers: one group, one start/stop path, in ``serve`` and standalone alike.

The workers layer sits above the domain and below the API. The appliers of due
operations and settings (:mod:`.appliers`), the callback dispatcher
(:mod:`.dispatcher`), the usage aggregator (the top-level
``rtcconsole_aggregator`` package), retention (:mod:`.retention`) and, later, the real-time
slot publisher all run as :class:`Worker` entries of a :class:`WorkerGroup`,
which sleeps on the injected clock between steps. Every command runs its
service through :func:`run_until_signalled`, so SIGTERM ends workers the same
way everywhere.

This face is the machinery only, on the clock, settings and store: the aggregator
imports it without reaching the domain contexts that the concrete workers use.
"""

from __future__ import annotations

from rtcconsole_server.workers._group import Worker, WorkerGroup
from rtcconsole_server.workers._run import SIGNALS, Service, run_until_signalled
from rtcconsole_server.workers._standalone import standalone_store

__all__ = ["SIGNALS", "Service", "Worker", "WorkerGroup", "run_until_signalled", "standalone_store"]
