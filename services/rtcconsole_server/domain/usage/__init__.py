"""Usage metering (R16) and billing (R6): second-level ingest, 5-minute windows, lines, packages.

The public face of the ``usage`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.usage._billing import Billing, BillingView, PackageView
from rtcconsole_server.domain.usage._ingest import MAX_BATCH, WINDOW, UsageIngest, UsageInput, window_start
from rtcconsole_server.domain.usage._math import DAY, day_start
from rtcconsole_server.domain.usage._query import PROGRESS_ROW, Granularity, UsageQuery, UsageReport

__all__ = [
    "DAY",
    "MAX_BATCH",
    "PROGRESS_ROW",
    "WINDOW",
    "Billing",
    "BillingView",
    "Granularity",
    "PackageView",
    "UsageIngest",
    "UsageInput",
    "UsageQuery",
    "UsageReport",
    "day_start",
    "window_start",
]
