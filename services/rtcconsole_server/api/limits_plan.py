"""What the request limits are, read once per field from the contract: shared by the full walk
(``api/limits.py``, which names every violation) and its fast screen (``api/limits_screen.py``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from rtcconsole.v1 import options_pb2

__all__ = [
    "BYTES",
    "FIELD_MASK_MAX_PATHS",
    "FIELD_MASK_MAX_PATH_LEN",
    "MESSAGE",
    "OTHER",
    "STRING",
    "UINT64",
    "UINT64_MAX_ACCEPTED",
    "Plan",
    "duration_within",
    "is_map",
    "kind_of",
    "map_parts",
    "plan_of",
    "timestamp_within",
]

UINT64_MAX_ACCEPTED = 2**63 - 1
"""Largest ``uint64`` value accepted anywhere (the store's signed 64-bit integers)."""

FIELD_MASK_MAX_PATHS = 16
"""Paths a ``google.protobuf.FieldMask`` of a request may hold."""

FIELD_MASK_MAX_PATH_LEN = 64
"""Characters of one FieldMask path."""

TIMESTAMP_MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
TIMESTAMP_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
DURATION_MAX_SECONDS = 315_576_000_000  # 10,000 years
NANOS = 1_000_000_000

STRING, BYTES, UINT64, MESSAGE, OTHER = range(5)
"""Kinds of field, as the limits check them."""


@dataclass(frozen=True)
class Plan:
    """How one field is checked: read once per field from its descriptor (0 = no cap)."""

    kind: int
    repeated: bool
    max_len: int
    max_items: int
    message: Descriptor | None
    map_key_max_len: int
    map_value_max_len: int


def kind_of(field: FieldDescriptor) -> int:
    if field.type == FieldDescriptor.TYPE_STRING:
        return STRING
    if field.type == FieldDescriptor.TYPE_BYTES:
        return BYTES
    if field.type in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return UINT64
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return MESSAGE
    return OTHER


@functools.cache
def plan_of(field: FieldDescriptor) -> Plan:
    options = field.GetOptions()
    return Plan(
        kind=kind_of(field),
        repeated=field.is_repeated,
        max_len=options.Extensions[options_pb2.max_len],
        max_items=options.Extensions[options_pb2.max_items],
        message=field.message_type,
        map_key_max_len=options.Extensions[options_pb2.map_key_max_len],
        map_value_max_len=options.Extensions[options_pb2.map_value_max_len],
    )


def is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and message.GetOptions().map_entry


def map_parts(field: FieldDescriptor) -> tuple[FieldDescriptor, FieldDescriptor]:
    """The key and value fields of a map field's entry type."""
    entry = field.message_type
    assert entry is not None
    return entry.fields_by_name["key"], entry.fields_by_name["value"]


def timestamp_within(seconds: int, nanos: int) -> bool:
    """Whether a ``google.protobuf.Timestamp`` is in 0001-01-01 .. 9999-12-31, nanos in [0, 1e9)."""
    return TIMESTAMP_MIN_SECONDS <= seconds <= TIMESTAMP_MAX_SECONDS and 0 <= nanos < NANOS


def duration_within(seconds: int, nanos: int) -> bool:
    """Whether a ``google.protobuf.Duration`` is within ±10,000 years, nanos of seconds' sign."""
    return (
        -DURATION_MAX_SECONDS <= seconds <= DURATION_MAX_SECONDS
        and -NANOS < nanos < NANOS
        and not (seconds > 0 and nanos < 0)
        and not (seconds < 0 and nanos > 0)
    )
