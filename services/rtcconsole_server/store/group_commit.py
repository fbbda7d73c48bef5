"""Group commit: the short write transactions of many callers, committed together on SQLite.

SQLite has one writer at a time, and the server runs every store call on one thread for it
(decision 0010); each write transaction then ends in an fsync of the WAL (``synchronous=FULL``,
so an acknowledged write survives a power loss). At 64 creates in flight, every one of them
waited for the fsyncs of all those before it: the disk, not the CPU, set the rate.

:class:`GroupCommit` runs the transaction *bodies* waiting at the moment the store thread is
free in one transaction, each inside its own SAVEPOINT, and commits once:

* a body that raises a domain error (``RtcError``: a quota, a conflict, a missing app) has
  its savepoint rolled back and its caller gets that error; the others are unaffected,
  exactly as if each had run alone, one after the other, in the order they arrived;
* every caller's answer is released only after the shared commit returned, so "acknowledged
  means durable" holds for each of them; if the commit fails, nothing was acknowledged;
* anything else going wrong in a group (a statement over its time budget, whose interrupt
  may roll back the whole transaction; a driver error; a bug in one body) rolls the group
  back and runs each of its bodies again alone, in its own transaction, so each caller gets
  the outcome of its own body. A body must therefore do nothing but its transaction's work.

No caller waits for a group to fill: the first write after an idle moment commits alone; the
ones that arrive during its commit form the next group (at most :data:`MAX_GROUP`). Other
work on the store thread (reads, other writes) keeps its place in the thread's queue, since a
drain handles one group and resubmits itself.

On PostgreSQL, which commits concurrent transactions in parallel and shares WAL flushes
itself, each body runs alone in its own transaction on the store pool.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from sqlalchemy import Connection

from rtcconsole_server.errors import RtcError, StatementTimeout
from rtcconsole_server.store.engine import Store

__all__ = ["MAX_GROUP", "GroupCommit"]

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_GROUP = 64
"""Transaction bodies committed together at most."""

Body = Callable[[Connection], Any]
"""A write transaction's work on its connection; it must not commit or roll back itself."""


class _Waiting:
    __slots__ = ("body", "future", "loop")

    def __init__(self, body: Body, future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop) -> None:
        self.body = body
        self.future = future
        self.loop = loop

    def settle(self, ok: bool, value: Any) -> None:
        """Hand the outcome to the waiting caller, on its own event loop."""
        self.loop.call_soon_threadsafe(_settle, self.future, ok, value)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():  # the caller left; its write stands (as with any store call)
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class _GroupFailed(Exception):
    """Something other than a body's own domain error broke the group's transaction."""


class GroupCommit:
    """Runs write transaction bodies on ``executor`` (the store's threads), grouped on SQLite."""

    def __init__(self, store: Store, executor: Executor, *, max_group: int = MAX_GROUP) -> None:
        self._store = store
        self._executor = executor
        self._max_group = max_group
        self._grouping = store.dialect == "sqlite"
        self._pending: collections.deque[_Waiting] = collections.deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self.groups = 0
        """Transactions committed for groups so far (for tests and the bench)."""

    async def write(self, body: Callable[[Connection], T]) -> T:
        """Run ``body`` in a write transaction and return its result once committed; its
        domain error, if it raised one (then nothing it wrote is kept)."""
        loop = asyncio.get_running_loop()
        if not self._grouping:
            return await loop.run_in_executor(self._executor, self._alone, body)
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append(_Waiting(body, future, loop))
        with self._lock:
            if not self._scheduled:
                self._schedule()
        return await future

    def _schedule(self) -> None:
        """Queue a drain on the store thread (the caller holds the lock). An executor already
        shut down takes no more work: whatever waits gets its error instead of waiting forever."""
        try:
            self._executor.submit(self._drain)
        except RuntimeError as error:
            self._scheduled = False
            while self._pending:
                self._pending.popleft().settle(False, error)
            return
        self._scheduled = True

    def _alone(self, body: Callable[[Connection], T]) -> T:
        with self._store.write_core() as connection:
            return body(connection)

    def _drain(self) -> None:
        """One group, on the store thread; then again later if more are waiting."""
        group: list[_Waiting] = []
        while self._pending and len(group) < self._max_group:
            group.append(self._pending.popleft())
        try:
            if group:
                self._commit(group)
        finally:
            with self._lock:
                if self._pending:
                    self._schedule()
                else:
                    self._scheduled = False

    def _commit(self, group: list[_Waiting]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._store.write_core() as connection:
                for waiting in group:
                    outcomes.append(_run_in_savepoint(connection, waiting.body))
            self.groups += 1
        except Exception as error:  # the group's transaction is gone: each body again, alone
            if not isinstance(error, _GroupFailed):
                log.info(
                    "group commit of %d failed (%s); running each alone", len(group), type(error).__name__
                )
            for waiting in group:
                waiting.settle(*self._outcome_alone(waiting.body))
            return
        for waiting, outcome in zip(group, outcomes, strict=True):
            waiting.settle(*outcome)

    def _outcome_alone(self, body: Body) -> tuple[bool, Any]:
        try:
            return True, self._alone(body)
        except Exception as error:
            return False, error


def _run_in_savepoint(connection: Connection, body: Body) -> tuple[bool, Any]:
    savepoint = connection.begin_nested()
    try:
        value = body(connection)
    except RtcError as error:
        if isinstance(error, StatementTimeout):  # its interrupt may have ended the transaction
            raise _GroupFailed from error
        savepoint.rollback()
        return False, error
    except Exception as error:
        raise _GroupFailed from error
    savepoint.commit()
    return True, value
