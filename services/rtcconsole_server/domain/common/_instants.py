"""Instants from callers that the domain computes with: the one bound for all of them.

A ``google.protobuf.Timestamp`` may name any second from 0001-01-01 to 9999-12-31
(``api/limits`` holds requests to that), but Python's ``datetime`` ends there too:
rounding such an instant to a 5-minute window or a UTC day, or stepping a day
before or after it, overflows (``OverflowError``), which would be answered as a
bug. A context that does date arithmetic on an instant a caller sent (a time range
to report on, a window to roll up) first holds it to :func:`instant_violations`:
between :data:`EARLIEST` and :data:`LATEST`, which leaves a week of room at both
ends for any rounding or stepping a rule needs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rtcconsole_server.errors import FieldViolation

__all__ = ["EARLIEST", "LATEST", "instant_violations"]

EARLIEST = datetime(1, 1, 8, tzinfo=UTC)
"""The earliest instant a caller may send into date arithmetic (a week after datetime.min)."""
LATEST = datetime(9999, 12, 24, tzinfo=UTC)
"""The latest instant a caller may send into date arithmetic (a week before datetime.max)."""


def instant_violations(value: datetime | None, field: str) -> list[FieldViolation]:
    """``value`` (aware) must lie in [EARLIEST, LATEST]; None (not sent) is left to the caller."""
    if value is None or EARLIEST <= value <= LATEST:
        return []
    return [FieldViolation(field, "must be between 0001-01-08 and 9999-12-24")]
