"""What a quality sample is (R20): its key, its metrics with their bounds, sides and media kinds.

A sample is one reporter's measurements of one stream over one interval. It is keyed by
(sdk_app_id, room, user_id, peer_id, media, sample_time) (decision 0019): an empty
``peer_id`` is the reporter's own upstream (the sender side), a set one the downstream it
received from that peer (the receiver side). Every metric may be absent ("not measured",
which is not 0); a metric is accepted only on the side and the media kinds it describes
(:data:`METRICS`), and within its bounds.

:func:`check_sample` returns field violations relative to the sample (``peer_id``,
``stall_ms``); the caller prefixes ``samples[i].``. :func:`sample_form` is the payload a
retry must repeat (the interval and the metrics, floats to the 4 bytes the store keeps).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from rtcconsole_server.domain.common import MAX_ROOM_ID, MAX_STR_ROOM_ID, key_violations, text_violations
from rtcconsole_server.errors import FieldViolation

__all__ = [
    "AUDIO",
    "DEFAULT_INTERVAL_MS",
    "MAX_AGE",
    "MAX_AHEAD",
    "MAX_ID",
    "MAX_INTERVAL_MS",
    "MEDIA_NAMES",
    "METRICS",
    "MIN_INTERVAL_MS",
    "SCREEN_SHARE",
    "VIDEO",
    "Metric",
    "SampleInput",
    "check_peer",
    "check_sample",
    "check_time",
    "float32",
    "metrics_of",
    "sample_form",
]

VIDEO, AUDIO, SCREEN_SHARE = 1, 2, 3
"""The MediaKind numbers."""
MEDIA_NAMES = {VIDEO: "VIDEO", AUDIO: "AUDIO", SCREEN_SHARE: "SCREEN_SHARE"}
"""MediaKind number → the wire's short name."""
_VIDEO_LIKE = frozenset({VIDEO, SCREEN_SHARE})
_ALL_MEDIA = frozenset(MEDIA_NAMES)

MAX_AGE = timedelta(days=35)
"""Oldest sample (or client event) time accepted, before the server's clock (as for events)."""
MAX_AHEAD = timedelta(minutes=5)
"""Latest sample (or client event) time accepted, after the server's clock."""
MAX_ID = 128
"""Longest id (sample id, event id, user id, peer id), in characters."""
DEFAULT_INTERVAL_MS = 2000
"""The interval of a sample that does not say (the SDKs' 2-second statistics)."""
MIN_INTERVAL_MS = 1000
MAX_INTERVAL_MS = 60_000

_UP, _DOWN, _BOTH = "up", "down", "both"
_FLOAT32 = struct.Struct("<f")


def float32(value: float) -> float:
    """``value`` rounded to the nearest 4-byte float: what the store keeps of a proto ``float``."""
    result: float = _FLOAT32.unpack(_FLOAT32.pack(value))[0]
    return result


@dataclass(frozen=True)
class Metric:
    """One R20 metric: its field (and column) name, bounds, and where it applies."""

    name: str
    low: float
    high: float
    side: str
    """``up`` (peer_id empty), ``down`` (peer_id set) or ``both``."""
    media: frozenset[int]
    real: bool = False
    """A float (stored as 4 bytes); else a whole number."""

    def where(self) -> str:
        """Where the metric applies, for a violation's description: ``the downstream (peer_id
        set)``, ``the upstream (peer_id empty) of video and screen share``, ``audio``."""
        side = {_UP: "the upstream (peer_id empty)", _DOWN: "the downstream (peer_id set)", _BOTH: ""}
        media = (
            "" if self.media == _ALL_MEDIA else "audio" if AUDIO in self.media else "video and screen share"
        )
        return " of ".join(part for part in (side[self.side], media) if part)


METRICS = (  # R20: the full-link metrics, as each side has them
    Metric("packet_loss_percent", 0, 100, _BOTH, _ALL_MEDIA, real=True),
    Metric("bitrate_kbps", 0, 10_000_000, _BOTH, _ALL_MEDIA),
    Metric("capture_fps", 0, 240, _UP, _VIDEO_LIKE),
    Metric("encode_fps", 0, 240, _UP, _VIDEO_LIKE),
    Metric("decode_fps", 0, 240, _DOWN, _VIDEO_LIKE),
    Metric("render_fps", 0, 240, _DOWN, _VIDEO_LIKE),
    Metric("width", 0, 16_384, _BOTH, _VIDEO_LIKE),
    Metric("height", 0, 16_384, _BOTH, _VIDEO_LIKE),
    Metric("rtt_ms", 0, 60_000, _BOTH, _ALL_MEDIA),
    Metric("stall_ms", 0, MAX_INTERVAL_MS, _DOWN, _ALL_MEDIA),  # R21's stall time; at most the interval
    Metric("app_cpu_percent", 0, 100, _BOTH, _ALL_MEDIA, real=True),
    Metric("system_cpu_percent", 0, 100, _BOTH, _ALL_MEDIA, real=True),
    Metric("sdk_task_time_ms", 0, 60_000, _BOTH, _ALL_MEDIA),
    Metric("volume_db", 0, 100, _BOTH, frozenset({AUDIO})),  # R20: the 40-80 dB scale (decision 0019)
)
"""Every metric of a sample, in proto field order (R20)."""
_REALS = tuple(m.name for m in METRICS if m.real)
metrics_of = attrgetter(*(m.name for m in METRICS))
"""A sample's metrics as one tuple in :data:`METRICS` order, in one call (the hot paths)."""
_NOWHERE = (math.inf, -math.inf)  # no value is within: a metric that does not apply
_SCREEN = {
    (down, media): tuple(
        (m.low, m.high) if m.side in (_BOTH, _DOWN if down else _UP) and media in m.media else _NOWHERE
        for m in METRICS
    )
    for down in (False, True)
    for media in MEDIA_NAMES
}
"""(downstream, media) → the (low, high) of each metric of METRICS there: :func:`_surely_valid`."""


@dataclass(slots=True)
class SampleInput:
    """One sample as the data plane sends it (``QualitySample`` in quality.proto). Never changed
    once made; not ``frozen`` only because a frozen dataclass's ``__init__`` costs ~12× more
    (each field through ``object.__setattr__``), and the ingest makes 1,000 per batch.

    ``room_key`` is ``n:<id>``, ``s:<id>`` or empty (no room sent); ``sample_time`` is None
    when it was not sent; ``interval_ms`` None means the default (2 s); a metric is None
    when it was not measured. ``media`` is the MediaKind number.
    """

    sample_id: str
    sdk_app_id: int
    room_key: str
    user_id: str
    peer_id: str
    media: int
    sample_time: datetime | None
    interval_ms: int | None = None
    packet_loss_percent: float | None = None
    bitrate_kbps: int | None = None
    capture_fps: int | None = None
    encode_fps: int | None = None
    decode_fps: int | None = None
    render_fps: int | None = None
    width: int | None = None
    height: int | None = None
    rtt_ms: int | None = None
    stall_ms: int | None = None
    app_cpu_percent: float | None = None
    system_cpu_percent: float | None = None
    sdk_task_time_ms: int | None = None
    volume_db: int | None = None

    @property
    def interval(self) -> int:
        """The interval in milliseconds, the default when none was sent."""
        return DEFAULT_INTERVAL_MS if self.interval_ms is None else self.interval_ms


def check_time(value: datetime | None, field: str, now: datetime) -> list[FieldViolation]:
    """The time window of every monitoring record: 35 days back to 5 minutes ahead of ``now``."""
    if value is None:
        return [FieldViolation(field, "is required")]
    if value < now - MAX_AGE:
        return [FieldViolation(field, "is more than 35 days before the server's clock")]
    if value > now + MAX_AHEAD:
        return [FieldViolation(field, "is more than 5 minutes after the server's clock")]
    return []


def check_peer(peer_id: str, user_id: str) -> list[FieldViolation]:
    """A set peer: at most 128 characters, no NUL, not the reporter itself."""
    problems = text_violations(peer_id, "peer_id", max_len=MAX_ID)
    if not problems and peer_id and peer_id == user_id:
        problems.append(FieldViolation("peer_id", "must not be user_id (a user does not receive itself)"))
    return problems


def _surely_valid(sample: SampleInput, now: datetime) -> bool:
    """True only when ``sample`` breaks none of :func:`check_sample`'s rules: the hot path's screen
    (a 1,000-sample batch pays one pass of plain comparisons). False means "maybe": the full
    check runs and names what is wrong. Every rule of the full check is here, as strict or
    stricter (``tests/service/test_monitor_sample_screen.py`` holds the two together)."""
    at, peer, user, key = sample.sample_time, sample.peer_id, sample.user_id, sample.room_key
    if at is None or not now - MAX_AGE <= at <= now + MAX_AHEAD or not sample.sdk_app_id:
        return False
    if not 0 < len(user) <= MAX_ID or len(peer) > MAX_ID or len(sample.sample_id) > MAX_ID or peer == user:
        return False
    if "\x00" in user or "\x00" in peer or "\x00" in sample.sample_id or "\x00" in key:
        return False
    kind, number = key[:2], key[2:]
    if kind == "n:":
        if not (number.isascii() and number.isdigit() and 1 <= int(number) <= MAX_ROOM_ID):
            return False
    elif kind != "s:" or not 0 < len(number) <= MAX_STR_ROOM_ID:
        return False
    bounds = _SCREEN.get((bool(peer), sample.media))
    interval = sample.interval
    if bounds is None or not MIN_INTERVAL_MS <= interval <= MAX_INTERVAL_MS:
        return False
    values = metrics_of(sample)
    for value, (low, high) in zip(values, bounds, strict=True):
        if value is not None and not low <= value <= high:
            return False
    stall, width, height = sample.stall_ms, sample.width, sample.height
    return (stall is None or stall <= interval) and (width is None) == (height is None)


def check_sample(sample: SampleInput, now: datetime) -> list[FieldViolation]:
    """Every rule ``sample`` breaks; empty when it is valid at ``now`` (the server's clock)."""
    return [] if _surely_valid(sample, now) else _violations(sample, now)


def _violations(sample: SampleInput, now: datetime) -> list[FieldViolation]:
    """The full check: every rule ``sample`` breaks, each named."""
    problems = text_violations(sample.sample_id, "sample_id", max_len=MAX_ID)
    if sample.sdk_app_id == 0:
        problems.append(FieldViolation("sdk_app_id", "is required"))
    problems += key_violations(sample.room_key)
    problems += text_violations(sample.user_id, "user_id", min_len=1, max_len=MAX_ID)
    problems += check_peer(sample.peer_id, sample.user_id)
    known_media = sample.media in MEDIA_NAMES
    if not known_media:
        problems.append(FieldViolation("media", "must be a MediaKind: VIDEO, AUDIO or SCREEN_SHARE"))
    problems += check_time(sample.sample_time, "sample_time", now)
    interval = sample.interval
    if not MIN_INTERVAL_MS <= interval <= MAX_INTERVAL_MS:
        problems.append(FieldViolation("interval", "must be 1-60 s (unset: 2 s)"))
    side = _DOWN if sample.peer_id else _UP
    wrong: set[str] = set()
    for metric in METRICS:
        value = getattr(sample, metric.name)
        if value is None:
            continue
        if not metric.low <= value <= metric.high:  # also false for NaN
            problems.append(FieldViolation(metric.name, f"must be {metric.low:,}-{metric.high:,}"))
            wrong.add(metric.name)
        elif metric.side not in (_BOTH, side) or (known_media and sample.media not in metric.media):
            problems.append(FieldViolation(metric.name, f"applies only to {metric.where()}"))
            wrong.add(metric.name)
    stall = sample.stall_ms
    if stall is not None and "stall_ms" not in wrong and MIN_INTERVAL_MS <= interval < stall:
        problems.append(FieldViolation("stall_ms", f"must be at most the interval ({interval:,} ms)"))
    if sample.width is not None and sample.height is None:
        problems.append(FieldViolation("height", "is required with width"))
    elif sample.height is not None and sample.width is None:
        problems.append(FieldViolation("width", "is required with height"))
    return problems


def sample_form(sample: SampleInput) -> dict[str, object]:
    """The payload a retry must repeat, by proto field name: the interval (ms) and every metric
    (None: not measured; floats as the store keeps them)."""
    form: dict[str, object] = {"interval": sample.interval}
    for metric in METRICS:
        form[metric.name] = getattr(sample, metric.name)
    for name in _REALS:
        value = form[name]
        if value is not None:
            form[name] = float32(value)  # type: ignore[arg-type]
    return form
