"""Conversions between usage-record protos and the domain's ``UsageInput`` and rejections."""

from __future__ import annotations

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.api.convert import FAR_PAST, instant_of
from rtcconsole_server.domain.usage import UsageInput

__all__ = ["CATEGORY", "CATEGORY_NAMES", "usage_input"]

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


def usage_input(message: pb.UsageRecord) -> UsageInput:
    """The domain's view of a record (nothing is checked here: the domain does that)."""
    which = message.WhichOneof("room")
    room_key = f"n:{message.room_id}" if which == "room_id" else f"s:{message.str_room_id}" if which else ""
    start = FAR_PAST  # unset: fails the time window
    if message.HasField("start_time"):
        start = instant_of(message.start_time.seconds, message.start_time.nanos)
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
