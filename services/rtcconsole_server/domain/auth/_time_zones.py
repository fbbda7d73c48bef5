"""The account's time zone: whose midnight the call list's "today" and "yesterday" start at (R17).

Names are IANA tz database names ("Asia/Tokyo", "UTC"), checked against the ``tzdata``
package the server depends on, so every replica, whatever its operating system, knows the
same zones with the same rules.
"""

from __future__ import annotations

import functools
import zoneinfo

from rtcconsole_server.domain.common import Caller
from rtcconsole_server.errors import FieldViolation, InvalidArgument
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account

__all__ = ["DEFAULT_TIME_ZONE", "AccountSettings", "check_time_zone", "time_zone"]

DEFAULT_TIME_ZONE = "UTC"
"""An account's time zone until it sets one."""
_MAX_NAME = 64


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(name: str, field: str = "time_zone") -> str:
    """``name`` if the tz database knows it, else ``InvalidArgument`` on ``field``."""
    if not name:
        raise InvalidArgument(FieldViolation(field, 'is required: an IANA time-zone name, e.g. "Asia/Tokyo"'))
    if len(name) > _MAX_NAME or name not in _known():
        shown = name[:_MAX_NAME] + ("…" if len(name) > _MAX_NAME else "")
        raise InvalidArgument(
            FieldViolation(
                field,
                f'{shown!r} is not an IANA time-zone name such as "Asia/Tokyo", "Europe/Paris" or '
                '"UTC" (names are case-sensitive)',
            )
        )
    return name


def time_zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone of a stored name (a name the tz database no longer has falls back to UTC)."""
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)


class AccountSettings:
    """What an account sets for itself (today its time zone)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def set_time_zone(self, caller: Caller, name: str) -> str:
        """Make ``name`` the caller's time zone; returns it."""
        check_time_zone(name)
        with self._store.write() as session:
            session.get_one(Account, caller.account_id).time_zone = name
        return name
