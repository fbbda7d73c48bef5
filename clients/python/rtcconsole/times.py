"""Instants as people type them: ISO 8601, or relative to now (``now-10m``, ``today``, ``+30d``).

Pure Python (no grpc, no protobuf): the command lines (``rtcctl``, ``rtc-console``)
and the JSON-lines readers of ``rtcctl ingest`` share it, so that examples and
scripts work on whatever day they are run.

The grammar, case-insensitive, every instant in UTC::

    2026-01-01                  midnight UTC of that day
    2026-01-01T08:00Z           ISO 8601 date-time; without a zone it is UTC
    now                         the current instant
    today, yesterday, tomorrow  midnight UTC of that day
    now-10m, today+30d          one of the four words, then offsets
    +30d, -90s                  offsets from now
    offsets                     [+-]N followed by s, m, h, d or w, repeatable: now-1h30m

>>> from datetime import UTC, datetime
>>> now = datetime(2026, 12, 1, 13, 5, tzinfo=UTC)
>>> parse_instant("now-10m", now=now).isoformat()
'2026-12-01T12:55:00+00:00'
>>> parse_instant("today+30d", now=now).isoformat()
'2026-12-31T00:00:00+00:00'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["INSTANT_FORMS", "is_relative", "parse_instant"]

INSTANT_FORMS = (
    "an ISO 8601 date or time (2026-01-01, 2026-01-01T08:00Z), now, today, yesterday, "
    "tomorrow, or one of those with offsets such as now-10m or today+30d (units s, m, h, d, w)"
)
"""What :func:`parse_instant` accepts, in words for error messages."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_RELATIVE = re.compile(
    r"^(now|today|yesterday|tomorrow)?((?:\s*[+-]\s*\d{1,9}\s*[smhdw](?:\s*\d{1,9}\s*[smhdw])*)*)$",
    re.IGNORECASE,
)
_DAY_WORDS = {"today": 0, "yesterday": -1, "tomorrow": 1}


def is_relative(text: str) -> bool:
    """Whether ``text`` is one of the relative forms (``now``, ``today-1d``, ``+30d``)."""
    stripped = text.strip()
    return bool(stripped) and _RELATIVE.fullmatch(stripped) is not None


def _offsets(text: str) -> timedelta:
    """Sum of ``+1h30m-5s``: a sign applies to the units that follow it up to the next sign."""
    total = 0
    sign = 1
    for part in re.finditer(r"([+-])|(\d{1,9})\s*([smhdw])", text.lower()):
        if part.group(1):
            sign = 1 if part.group(1) == "+" else -1
        else:
            total += sign * int(part.group(2)) * _UNITS[part.group(3)]
    return timedelta(seconds=total)


def parse_instant(text: str, *, now: datetime | None = None) -> datetime:
    """The UTC instant ``text`` names; ``now`` (default: the system clock) anchors relative forms.

    Raises ``ValueError`` with a message that lists what may be typed (:data:`INSTANT_FORMS`).
    """
    stripped = text.strip()
    anchor = (now or datetime.now(UTC)).astimezone(UTC)
    match = _RELATIVE.fullmatch(stripped) if stripped else None
    if match is not None:
        word = (match.group(1) or "now").lower()
        if word == "now":
            base = anchor
        else:
            midnight = anchor.replace(hour=0, minute=0, second=0, microsecond=0)
            base = midnight + timedelta(days=_DAY_WORDS[word])
        try:
            return base + _offsets(match.group(2))
        except OverflowError:
            raise ValueError(f"{text!r} is out of range") from None
    try:
        value = datetime.fromisoformat(stripped.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r}; use {INSTANT_FORMS}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
