"""Conversions between usage-record protos and the domain's ``UsageInput`` and rejections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.clock import EPOCH
from rtcconsole_server.domain.usage import UsageInput

__all__ = ["CATEGORY", "CATEGORY_NAMES", "start_time", "usage_input"]

CATEGORY = {
    "Audio": usage_pb.USAGE_CATEGORY_AUDIO,
    "SD": usage_pb.USAGE_CATEGORY_SD,
    "HD": usage_pb.USAGE_CATEGORY_HD,
    "FullHD": usage_pb.USAGE_CATEGORY_FULL_HD,
    "2K": usage_pb.USAGE_CATEGORY_2K,
    "4K": usage_pb.USAGE_CATEGORY_4K,
}
"""Domain category (``rtcconsole.usage.CATEGORIES``) → ``UsageCategory``."""
CATEGORY_NAMES = {number: name for name, number in CATEGORY.items()}
"""Proto categories → the names of ``rtcconsole.usage.CATEGORIES``."""

_FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)  # unset or unrepresentable: fails the time window


def start_time(seconds: int, nanos: int) -> datetime:
    """What ``Timestamp.ToDatetime(tzinfo=UTC)`` gives, without its checks (hot path): the usual
    whole second by ``fromtimestamp`` (0.26 µs against 0.56 µs by ``EPOCH + timedelta``), any
    other through ``timedelta``; out of ``datetime``'s range, a time the window check refuses."""
    try:
        if nanos == 0:
            return datetime.fromtimestamp(seconds, UTC)
        return EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except (OverflowError, OSError, ValueError):
        return _FAR_PAST


def usage_input(message: pb.UsageRecord) -> UsageInput:
    """The domain's view of a record (nothing is checked here: the domain does that)."""
    which = message.WhichOneof("room")
    room_key = f"n:{message.room_id}" if which == "room_id" else f"s:{message.str_room_id}" if which else ""
    start = _FAR_PAST
    if message.HasField("start_time"):
        start = start_time(message.start_time.seconds, message.start_time.nanos)
    return UsageInput(
        record_id=message.record_id,
        sdk_app_id=message.sdk_app_id,
        room_key=room_key,
        user_id=message.user_id,
        kind=int(message.kind),
        category=CATEGORY_NAMES.get(message.category, ""),
        start_time=start,
        seconds=message.seconds,
    )
