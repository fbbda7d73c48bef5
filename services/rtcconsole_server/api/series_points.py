"""The points of a ``QualitySeries`` proto filled from the domain's columns, in bulk.

A 5-hour ``GetQualitySeries`` carries 11 series of ~1,000 points. Adding each point to the
proto (``points.add`` and its time's fields) costs ~1 µs of Python per point, as much as the
rest of the read after its SQL. Here a series' points are written as the protobuf wire
encoding of ``repeated SeriesPoint points = 5`` a column at a time, and parsed into the
message at once (``MergeFromString``, in C). The message is the same as one built point by
point (``tests/unit/test_series_points.py``); grpc serialises it as it would any other.

Each point is one fixed-size record, so every column is copied into its byte positions with
one extended-slice assignment (``buf[offset::record] = column``)::

    2A len | 0A len 08 s0 s1 s2 s3 s4 [10 nanos] | 11 <double> | 18 level | 20 c0 … c(w-1)

- ``time.seconds`` is a 5-byte varint: every second from 1978 to 3058 (2^28 to 2^35) takes
  exactly 5; its bytes are computed for all points at once on one Python integer holding a
  64-bit lane per point (shifts and masks);
- ``time.nanos`` is the same for every point (the step is whole seconds): one varint, or
  none when 0;
- ``sample_count`` is a varint of ``w`` bytes, ``w`` the length of the largest count's; a
  smaller count is written on ``w`` bytes too (a longer varint, which every parser reads as
  the same number);
- value, level and count are written even when 0 (a parser reads them as unset).

:func:`encode_points` returns None (and :func:`fill_points` False, having added nothing) when
a series does not fit that record (seconds outside 2^28-2^35, a count of 2^28 or more): the
caller adds those points one by one.

The times and the counts of a record are its *frame* (:class:`Frames`): the series of one
read share their steps and, when every sample measured every metric, their counts, so the
frame is written once per response and each series copies it and writes only its values
and levels.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from rtcconsole.v1 import monitor_service_pb2 as pb

__all__ = ["Frames", "encode_points", "fill_points", "varint"]

_POINTS, _TIME, _SECONDS, _NANOS, _VALUE, _LEVEL, _COUNT = 0x2A, 0x0A, 0x08, 0x10, 0x11, 0x18, 0x20
"""Tags (field number << 3 | wire type) of QualitySeries.points, SeriesPoint.time, Timestamp's
seconds and nanos, SeriesPoint.value (fixed64), level and sample_count (varints)."""
_SECONDS_BYTES = 5
_LOWEST, _HIGHEST = 1 << 28, 1 << 35
"""Seconds in [2^28, 2^35) are exactly 5-byte varints."""
_MAX_COUNT_BYTES = 4


def varint(number: int) -> bytes:
    """``number`` (≥ 0) as a protobuf base-128 varint."""
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _lanes(numbers: Sequence[int]) -> int:
    """``numbers`` (each < 2^64) as one integer, a 64-bit little-endian lane each."""
    return int.from_bytes(struct.pack(f"<{len(numbers)}Q", *numbers), "little")


def _repeat(lane: int, count: int) -> int:
    """``lane`` (< 2^64) in each of ``count`` lanes."""
    return int.from_bytes(lane.to_bytes(8, "little") * count, "little")


def _varints(lanes: int, count: int, width: int) -> bytes:
    """The ``width``-byte varint of each of ``count`` lanes (each < 2^(7 × width)), 8 bytes
    per lane (the varint, then zeros): byte k of a lane takes bits 7k..7k+6 of its number
    (shifted left by k, masked), and the continuation bit but on the last byte."""
    out = 0
    for k in range(width):
        out |= (lanes << k) & _repeat(0x7F << (8 * k), count)
    out |= _repeat(sum(0x80 << (8 * k) for k in range(width - 1)), count)
    return out.to_bytes(8 * count, "little")


@dataclass(frozen=True)
class _Frame:
    """``count`` records with their times and counts written, their values and levels zero."""

    records: bytes
    size: int
    """Bytes per record."""
    at_value: int
    """Offset of the value's 8 bytes in a record; the level's byte is 10 bytes further."""


def _frame(seconds: Sequence[int], nanos: int, counts: Sequence[int]) -> _Frame | None:
    """The frame of points at ``seconds`` (ascending) with ``counts``; None when they do not
    fit the module's record."""
    count = len(seconds)
    top = max(counts)
    if (
        seconds[0] < _LOWEST
        or seconds[-1] >= _HIGHEST
        or min(counts) < 0
        or top >= 1 << (7 * _MAX_COUNT_BYTES)
    ):
        return None
    width = len(varint(top))
    nano = bytes((_NANOS,)) + varint(nanos) if nanos else b""
    time = bytes((_SECONDS,)) + bytes(_SECONDS_BYTES) + nano
    body = (
        bytes((_TIME, len(time)))
        + time
        + bytes((_VALUE,))
        + bytes(8)
        + bytes((_LEVEL, 0, _COUNT))
        + bytes(width)
    )
    record = bytes((_POINTS, len(body))) + body
    size = len(record)
    at_seconds = 5
    at_value = at_seconds + _SECONDS_BYTES + len(nano) + 1
    at_count = at_value + 11
    buf = bytearray(record * count)
    packed = _varints(_lanes(seconds), count, _SECONDS_BYTES)
    for k in range(_SECONDS_BYTES):
        buf[at_seconds + k :: size] = packed[k::8]
    packed = _varints(_lanes(counts), count, width)
    for k in range(width):
        buf[at_count + k :: size] = packed[k::8]
    return _Frame(bytes(buf), size, at_value)


def _fill(frame: _Frame, values: Sequence[float], levels: bytes) -> bytearray:
    """A copy of ``frame`` with the values and levels written in."""
    buf = bytearray(frame.records)
    size, at_value = frame.size, frame.at_value
    packed = struct.pack(f"<{len(values)}d", *values)
    for k in range(8):
        buf[at_value + k :: size] = packed[k::8]
    buf[at_value + 9 :: size] = levels
    return buf


def encode_points(
    seconds: Sequence[int], nanos: int, values: Sequence[float], levels: bytes, counts: Sequence[int]
) -> bytes | bytearray | None:
    """The wire encoding of ``repeated SeriesPoint points`` for these points (``seconds``
    ascending, one ``nanos`` for all, ``levels`` as ``QualityLevel`` numbers); None when they
    do not fit the module's record."""
    if not seconds:
        return b""
    frame = _frame(seconds, nanos, counts)
    return None if frame is None else _fill(frame, values, levels)


class Frames:
    """The frames of the series of one response, each written once: :meth:`encode` is
    :func:`encode_points` for series whose ``key`` names their times and counts."""

    def __init__(self) -> None:
        self._frames: dict[Hashable, _Frame | None] = {}

    def encode(
        self,
        key: Hashable,
        seconds: Callable[[], Sequence[int]],
        nanos: int,
        values: Sequence[float],
        levels: bytes,
        counts: Sequence[int],
    ) -> bytes | bytearray | None:
        """As :func:`encode_points`; ``seconds`` is called only when no series with the same
        ``key`` (the same seconds, ``nanos`` and ``counts``) came before."""
        if not values:
            return b""
        if key not in self._frames:
            self._frames[key] = _frame(seconds(), nanos, counts)
        frame = self._frames[key]
        return None if frame is None else _fill(frame, values, levels)


def fill_points(
    message: pb.QualitySeries,
    seconds: Sequence[int],
    nanos: int,
    values: Sequence[float],
    levels: bytes,
    counts: Sequence[int],
) -> bool:
    """Append the points (``seconds`` ascending, one ``nanos`` for all, ``levels`` as
    ``QualityLevel`` numbers) to ``message.points``; False, having added none, when they do
    not fit the module's record."""
    encoded = encode_points(seconds, nanos, values, levels, counts)
    if encoded is None:
        return False
    message.MergeFromString(bytes(encoded))
    return True
