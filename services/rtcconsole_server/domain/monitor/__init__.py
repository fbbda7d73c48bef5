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

from rtcconsole_server.domain.monitor._call_quality import SIDES, CallQuality
from rtcconsole_server.domain.monitor._call_users import (
    DEFAULT_USERS,
    DETAILS_RANGE,
    MAX_USERS,
    CallDetails,
    CallInfo,
    CallUserList,
    CallUserView,
    PresenceView,
)
from rtcconsole_server.domain.monitor._calls import (
    LOOK_BACK,
    CallList,
    CallRange,
    CallRef,
    Calls,
    CallView,
    find_call,
    parse_call_id,
)
from rtcconsole_server.domain.monitor._client_event_list import ClientEventList, ClientEventView
from rtcconsole_server.domain.monitor._client_events import (
    ABNORMAL_EVENT_TYPES,
    CLIENT_EVENT_TYPES,
    ClientEventInput,
)
from rtcconsole_server.domain.monitor._command_acks import acknowledge_commands
from rtcconsole_server.domain.monitor._command_views import CommandKind, CommandState, RoomCommandView
from rtcconsole_server.domain.monitor._command_watch import CHANNEL as COMMAND_CHANNEL
from rtcconsole_server.domain.monitor._command_watch import POLL_INTERVAL, CommandWatch, Offload
from rtcconsole_server.domain.monitor._engine import MAX_BATCH, RecordIngest
from rtcconsole_server.domain.monitor._ingest import ClientEventIngest, QualityIngest
from rtcconsole_server.domain.monitor._realtime_count import RealtimeCounter
from rtcconsole_server.domain.monitor._realtime_edition import (
    EDITION_REQUIRED,
    RealtimeScope,
    set_edition,
)
from rtcconsole_server.domain.monitor._realtime_figures import Figures as RealtimeFigures
from rtcconsole_server.domain.monitor._realtime_figures import StallRate as RealtimeStallRate
from rtcconsole_server.domain.monitor._realtime_frames import Frame as RealtimeFrame
from rtcconsole_server.domain.monitor._realtime_keys import LOOK_BACK as EDITION_LOOK_BACK
from rtcconsole_server.domain.monitor._realtime_keys import Dimension as RealtimeDimension
from rtcconsole_server.domain.monitor._realtime_keys import Edition
from rtcconsole_server.domain.monitor._realtime_read import Breakdown as RealtimeBreakdown
from rtcconsole_server.domain.monitor._realtime_read import Overview as RealtimeOverview
from rtcconsole_server.domain.monitor._realtime_read import RealtimeReads, RoomOrder
from rtcconsole_server.domain.monitor._realtime_read import RoomList as RealtimeRoomList
from rtcconsole_server.domain.monitor._realtime_read import RoomRow as RealtimeRoomRow
from rtcconsole_server.domain.monitor._realtime_read import Series as RealtimeSeries
from rtcconsole_server.domain.monitor._realtime_stream import RealtimeStream
from rtcconsole_server.domain.monitor._retention import (
    DEFAULT_RETENTION_DAYS,
    Retention,
    RetentionBatch,
    Upkeep,
)
from rtcconsole_server.domain.monitor._room_commands import (
    COMMAND_TTL,
    MAX_REMOVED_USERS,
    CommandList,
    Issued,
    RoomCommands,
)
from rtcconsole_server.domain.monitor._room_event_stream import EventPage as RoomEventPage
from rtcconsole_server.domain.monitor._room_event_stream import RoomEventStream
from rtcconsole_server.domain.monitor._room_event_stream import SequencedEvent as SequencedRoomEvent
from rtcconsole_server.domain.monitor._room_event_stream import channel_of as room_events_channel
from rtcconsole_server.domain.monitor._room_event_stream import check_after as check_after_sequence
from rtcconsole_server.domain.monitor._room_event_stream import room_filter as room_event_filter
from rtcconsole_server.domain.monitor._samples import MEDIA_NAMES, METRICS, Metric, SampleInput
from rtcconsole_server.domain.monitor._series import (
    SERIES_METRICS,
    SUSTAINED_FOR,
    Flag,
    Point,
    Series,
    SeriesMetricSpec,
)
from rtcconsole_server.domain.monitor._series_read import SeriesResult
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
from rtcconsole_server.domain.monitor._user_view import StreamView, SubView, UserView, UserViews

__all__ = [
    "ABNORMAL_EVENT_TYPES",
    "AUDIO_STALL",
    "CLIENT_EVENT_TYPES",
    "COMMAND_CHANNEL",
    "COMMAND_TTL",
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_USERS",
    "DETAILS_RANGE",
    "EDITION_LOOK_BACK",
    "EDITION_REQUIRED",
    "LOOK_BACK",
    "MAX_BATCH",
    "MAX_REMOVED_USERS",
    "MAX_USERS",
    "MEDIA_KINDS",
    "MEDIA_NAMES",
    "METRICS",
    "POLL_INTERVAL",
    "QUALITY_THRESHOLDS",
    "SERIES_METRICS",
    "SIDES",
    "STALL_RATE_THRESHOLDS",
    "SUSTAINED_FOR",
    "VIDEO_STALL",
    "Band",
    "CallDetails",
    "CallInfo",
    "CallList",
    "CallQuality",
    "CallRange",
    "CallRef",
    "CallUserList",
    "CallUserView",
    "CallView",
    "Calls",
    "ClientEventIngest",
    "ClientEventInput",
    "ClientEventList",
    "ClientEventView",
    "CommandKind",
    "CommandList",
    "CommandState",
    "CommandWatch",
    "Edition",
    "Flag",
    "Issued",
    "Metric",
    "MetricThresholds",
    "Offload",
    "Point",
    "PresenceView",
    "QualityIngest",
    "QualityLevel",
    "QualityMetric",
    "RealtimeBreakdown",
    "RealtimeCounter",
    "RealtimeDimension",
    "RealtimeFigures",
    "RealtimeFrame",
    "RealtimeOverview",
    "RealtimeReads",
    "RealtimeRoomList",
    "RealtimeRoomRow",
    "RealtimeScope",
    "RealtimeSeries",
    "RealtimeStallRate",
    "RealtimeStream",
    "RecordIngest",
    "Retention",
    "RetentionBatch",
    "RoomCommandView",
    "RoomCommands",
    "RoomEventPage",
    "RoomEventStream",
    "RoomOrder",
    "SampleInput",
    "SequencedRoomEvent",
    "Series",
    "SeriesMetricSpec",
    "SeriesResult",
    "StallLevel",
    "StallRateThresholds",
    "StreamView",
    "SubView",
    "Upkeep",
    "UserView",
    "UserViews",
    "acknowledge_commands",
    "check_after_sequence",
    "counts_as_stall",
    "find_call",
    "level_of",
    "parse_call_id",
    "room_event_filter",
    "room_events_channel",
    "set_edition",
    "stall_level",
    "stall_rate_thresholds",
    "thresholds_for",
]
