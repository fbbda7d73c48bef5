"""Per-record limits on the ingest streams: a record over a limit is rejected, the stream goes on.

A request stream whose response lists ``repeated rtcconsole.v1.RejectedRecord rejections``
(``StreamEvents``, ``StreamUsage``, ``StreamQuality``, ``StreamClientEvents``, and any stream
added with that shape) promises that problems are reported per record. The interceptor
(``api/interceptor.py``) holds each message of such a stream to the contract's limits as it
holds every request, but a limit broken inside a record (``events[3].sdk_app_id`` = 2^64 - 1,
a 65-character ``str_room_id``) does not end the stream: the message is handed on as
:class:`Screened`, which names the records that break a limit and how. The servicer stores
the other records of the batch and reports those as ``INVALID_ARGUMENT`` rejections, in
stream order with the domain's own (:class:`Batch`). A limit of the message itself (more
than ``max_items`` records in one batch) still ends the stream with ``INVALID_ARGUMENT``, and
so do bytes that do not parse as the message (docs/errors.md, "Streams").

Which field holds the records is read from the descriptors: the request's one repeated
message field. A record is screened on its own (``api/limits.py``'s ``violations_of``), so
every bad record of a 5,000-record batch is found, each with at most ``MAX_VIOLATIONS``
violations.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from rtcconsole_server.api.limits import violations_of
from rtcconsole_server.domain.common import BatchOutcome, Rejection
from rtcconsole_server.errors import FieldViolation

__all__ = ["MAX_ECHOED_ID", "Batch", "Screened", "record_field", "screened"]

M = TypeVar("M", bound=Message)

_REJECTED_RECORD = "rtcconsole.v1.RejectedRecord"
MAX_ECHOED_ID = 128
"""Characters of a rejected record's id echoed in ``RejectedRecord.id`` (the ids' own cap)."""


@dataclass(frozen=True)
class Screened(Generic[M]):
    """A message of a per-record stream with records over a limit: ``rejected`` maps a
    record's position in the message (from 0) to the limits it breaks (paths in the record)."""

    message: M
    rejected: dict[int, tuple[FieldViolation, ...]]


@functools.cache
def record_field(method: str) -> str | None:
    """The field holding the records of ``method`` (``/pkg.Service/Method``) when it is a request
    stream that reports rejections per record; ``None`` for every other method."""
    service, _, name = method.lstrip("/").rpartition("/")
    try:
        found = descriptor_pool.Default().FindMethodByName(f"{service}.{name}")
    except KeyError:
        return None
    rejections = found.output_type.fields_by_name.get("rejections")
    if not found.client_streaming or rejections is None or rejections.message_type is None:
        return None
    if rejections.message_type.full_name != _REJECTED_RECORD:
        return None
    batches = [f for f in found.input_type.fields if f.is_repeated and f.type == FieldDescriptor.TYPE_MESSAGE]
    return batches[0].name if len(found.input_type.fields) == 1 and len(batches) == 1 else None


def screened(message: M, records: str, violations: Sequence[FieldViolation]) -> M | Screened[M] | None:
    """``message`` (which breaks ``violations``) as :class:`Screened` when every violation lies
    inside a record of its ``records`` field; ``None`` when one concerns the message itself."""
    inside = f"{records}["
    if any(not v.field.startswith(inside) for v in violations):
        return None
    rejected: dict[int, tuple[FieldViolation, ...]] = {}
    for position, record in enumerate(getattr(message, records)):
        found = violations_of(record)
        if found:
            rejected[position] = tuple(found)
    return Screened(message, rejected) if rejected else message


def _rejection(index: int, record_id: str, violations: Sequence[FieldViolation]) -> Rejection:
    reason = "; ".join(f"{v.field}: {v.description}" for v in violations)
    fields = tuple(dict.fromkeys(v.field for v in violations))
    if len(record_id) > MAX_ECHOED_ID:
        record_id = record_id[:MAX_ECHOED_ID] + "…"
    return Rejection(index, record_id, "INVALID_ARGUMENT", reason, fields)


class Batch(Generic[M]):
    """One message of a per-record stream, split into the records to store and those a limit
    rejected. ``offset`` is the stream index of its first record; ``record_id`` names the field
    echoed as ``RejectedRecord.id``."""

    def __init__(self, item: M | Screened[M], records: str, record_id: str, offset: int) -> None:
        message, rejected = (item.message, item.rejected) if isinstance(item, Screened) else (item, {})
        every: Sequence[Message] = getattr(message, records)
        self.message: M = message
        self.size = len(every)
        """Records in the message, rejected ones included."""
        self.offset = offset
        """The stream index of the message's first record, from which the domain indexes
        :attr:`records`."""
        self._kept = [p for p in range(self.size) if p not in rejected]
        self.records: Sequence[Any] = [every[p] for p in self._kept] if rejected else every
        """The records within the limits, for the domain (which checks its own rules)."""
        self._rejections = [
            _rejection(offset + p, getattr(every[p], record_id), found)
            for p, found in sorted(rejected.items())
        ]

    def merged(self, outcome: BatchOutcome) -> BatchOutcome:
        """``outcome`` of :attr:`records` (indexed from :attr:`offset` as if they were the whole
        message) re-indexed in the stream, with the records the limits rejected, in stream order."""
        if not self._rejections:
            return outcome
        start = self.offset
        ours = [replace(r, index=start + self._kept[r.index - start]) for r in outcome.rejections]
        outcome.rejections = sorted([*ours, *self._rejections], key=lambda r: r.index)
        return outcome
