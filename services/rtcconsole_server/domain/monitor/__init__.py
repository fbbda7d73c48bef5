"""Monitoring (R17-R21): call list, call details, quality series, real-time counters.

The public face of the ``monitor`` context: the API and workers import from here, never
from its private modules. Today it holds the call list of R17
(``_calls``, ``_call_query``: calls derived from the stored room events at query time,
decision 0020), the quality thresholds of R20 and the stall-rate levels of R21
(``_thresholds``: data and pure functions, no store), and the data plane's quality
samples and client events, stored exactly once (``_samples``, ``_client_events``,
``_engine``, ``_ingest``: docs/monitoring.md, "Data plane"); the call details and the
real-time counters will sit beside them, above ``events`` (calls and sessions are built
from room events), reading the live state handed to ``Console.build``.
"""

from __future__ import annotations

from rtcconsole_server.domain.monitor._calls import LOOK_BACK, CallList, CallRange, Calls, CallView
from rtcconsole_server.domain.monitor._client_events import (
    ABNORMAL_EVENT_TYPES,
    CLIENT_EVENT_TYPES,
    ClientEventInput,
)
from rtcconsole_server.domain.monitor._engine import MAX_BATCH, RecordIngest
from rtcconsole_server.domain.monitor._ingest import ClientEventIngest, QualityIngest
from rtcconsole_server.domain.monitor._samples import MEDIA_NAMES, METRICS, Metric, SampleInput
from rtcconsole_server.domain.monitor._thresholds import (
    AUDIO_STALL,
    MEDIA_KINDS,
    QUALITY_THRESHOLDS,
    STALL_RATE_THRESHOLDS,
    VIDEO_STALL,
    Band,
    MetricThresholds,
    QualityLevel,
    QualityMetric,
    StallLevel,
    StallRateThresholds,
    counts_as_stall,
    level_of,
    stall_level,
    stall_rate_thresholds,
    thresholds_for,
)

__all__ = [
    "ABNORMAL_EVENT_TYPES",
    "AUDIO_STALL",
    "CLIENT_EVENT_TYPES",
    "LOOK_BACK",
    "MAX_BATCH",
    "MEDIA_KINDS",
    "MEDIA_NAMES",
    "METRICS",
    "QUALITY_THRESHOLDS",
    "STALL_RATE_THRESHOLDS",
    "VIDEO_STALL",
    "Band",
    "CallList",
    "CallRange",
    "CallView",
    "Calls",
    "ClientEventIngest",
    "ClientEventInput",
    "Metric",
    "MetricThresholds",
    "QualityIngest",
    "QualityLevel",
    "QualityMetric",
    "RecordIngest",
    "SampleInput",
    "StallLevel",
    "StallRateThresholds",
    "counts_as_stall",
    "level_of",
    "stall_level",
    "stall_rate_thresholds",
    "thresholds_for",
]
