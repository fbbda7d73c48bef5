"""Running a store transaction again when it lost a race: one helper for every retry loop.

``fn`` is a whole transaction (it opens and ends its own ``Store.write()``), so
when it raises, everything it wrote is rolled back and running it again is
safe. :func:`lost_race` names the races it recognises (:class:`Race`):

* PostgreSQL ``serialization_failure`` (SQLSTATE 40001) and ``deadlock_detected`` (40P01);
* SQLite "database is locked" (``SQLITE_BUSY`` / ``SQLITE_LOCKED``: another
  process held the write lock beyond the busy timeout);
* a unique violation (PostgreSQL 23505, SQLite ``UNIQUE`` / ``PRIMARY KEY``
  constraint): an insert that met a concurrent one with the same key, which the
  next run reads back instead of inserting. Elsewhere it is a real conflict or a
  bug, so only a caller that says so (``retry_on``) runs again on it.

A :class:`RetryPolicy` says which of them a caller runs again on and how often.
Only SQLAlchemy's wrapped driver errors (:class:`sqlalchemy.exc.DBAPIError`)
are looked at; anything else (a domain error, a bug, another database error)
propagates at once. Between runs the helper sleeps with full jitter and logs at
INFO; after the last run it logs at WARNING and raises the last error unchanged.
"""

from __future__ import annotations

import enum
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

__all__ = ["TRANSIENT", "Race", "RetryPolicy", "lost_race", "run_with_retries"]

T = TypeVar("T")

_default_log = logging.getLogger("rtcconsole_server.store")


class Race(enum.StrEnum):
    """A way for a transaction to lose a race; the value is how the log names it."""

    SERIALIZATION_FAILURE = "serialization failure"
    DEADLOCK = "deadlock detected"
    DATABASE_LOCKED = "database is locked"
    UNIQUE_VIOLATION = "unique violation"


TRANSIENT = frozenset({Race.SERIALIZATION_FAILURE, Race.DEADLOCK, Race.DATABASE_LOCKED})
"""The races any transaction may lose, whatever it does; a unique violation is not among them."""

_SQLSTATES = {"40001": Race.SERIALIZATION_FAILURE, "40P01": Race.DEADLOCK, "23505": Race.UNIQUE_VIOLATION}
_SQLITE_NAMES = {
    "SQLITE_BUSY": Race.DATABASE_LOCKED,
    "SQLITE_LOCKED": Race.DATABASE_LOCKED,
    "SQLITE_CONSTRAINT_UNIQUE": Race.UNIQUE_VIOLATION,
    "SQLITE_CONSTRAINT_PRIMARYKEY": Race.UNIQUE_VIOLATION,
}


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Which races a transaction runs again on, how often, how patiently. Delays are in seconds."""

    attempts: int = 5
    """Runs in all, the first one included (>= 1); default 5."""
    retry_on: frozenset[Race] = TRANSIENT
    """The races that earn another run; default :data:`TRANSIENT`."""
    base_delay: float = 0.005
    """Upper bound of the first wait, in seconds (default 5 ms); it doubles with each retry."""
    max_delay: float = 0.1
    """Cap of the upper bound, in seconds (default 100 ms)."""

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("attempts must be >= 1 and 0 <= base_delay <= max_delay")

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1 before the second run): full jitter,
        uniform in ``[0, min(max_delay, base_delay * 2 ** (retry - 1))]``."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (retry - 1)))


def lost_race(error: BaseException) -> Race | None:
    """The race ``error`` (a SQLAlchemy-wrapped driver error) says was lost, or None."""
    if not isinstance(error, DBAPIError):
        return None
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate in _SQLSTATES:
        return _SQLSTATES[sqlstate]
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", None)
        if isinstance(name, str) and name in _SQLITE_NAMES:
            return _SQLITE_NAMES[name]
        if "database is locked" in str(orig):
            return Race.DATABASE_LOCKED
    return None


_rng = random.Random()  # noqa: S311 (jitter, not secrecy)


def run_with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy = RetryPolicy(),
    log: logging.Logger = _default_log,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random = _rng,
) -> T:
    """``fn()``, run again while it loses one of ``policy.retry_on``, ``policy.attempts`` runs in
    all; ``what`` names it in the log (``"event batch"``). It blocks the calling thread while it
    waits (``sleep``, in seconds), so call it where the transaction runs: in a store thread."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except DBAPIError as error:
            race = lost_race(error)
            if race is None or race not in policy.retry_on:
                raise
            if attempt == policy.attempts:
                log.warning("%s lost a race (%s) %d time(s); giving up", what, race, attempt)
                raise
            wait = policy.delay(attempt, rng)
            log.info(
                "%s lost a race (%s, run %d of %d); retrying in %.1f ms",
                what,
                race,
                attempt,
                policy.attempts,
                wait * 1e3,
            )
            sleep(wait)
    raise AssertionError("unreachable")
