"""Where test callbacks run: threads of their own, a few at a time per account (issue 10 §3).

``SendTestCallback`` POSTs now and blocks for up to the callback timeout (5 s, the whole
exchange). Run in the event loop's default pool, a tenant's slow receiver would hold the
threads that ``asyncio.to_thread`` users (long SQLite reads moved off the loop among them)
wait for; in the store's pool, store work. So test callbacks get a small pool of their own,
and one account holds at most :data:`PER_ACCOUNT` of its threads: a further test callback of
that account while those are in flight is ``QuotaExceeded`` (``RESOURCE_EXHAUSTED``,
``TEST_CALLBACKS_IN_FLIGHT_QUOTA_EXCEEDED``), never a wait behind its own slow receivers, and
other accounts keep the rest of the pool. A slot is freed when its POST ends (not when the
caller gives up: the thread is still busy until the timeout).

The pool's threads start with the first test callback and end with the pool, garbage
collected with its :class:`~._deliveries.Deliveries` (or at the interpreter's exit, which
waits at most the callback timeout for a POST in flight).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from rtcconsole_server.errors import QuotaExceeded

__all__ = ["PER_ACCOUNT", "THREADS", "THREAD_PREFIX", "TestSends"]

T = TypeVar("T")

THREADS = 4
"""Threads of the test-callback pool (default): at most this many test POSTs at once."""
PER_ACCOUNT = 2
"""Test callbacks one account may have in flight at once (default)."""
THREAD_PREFIX = "rtc-test-callback"
"""Name prefix of the pool's threads (as they appear in thread dumps)."""


class TestSends:
    """Runs blocking test sends on ``threads`` threads of their own, at most ``per_account`` of
    them for one account at a time."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, *, threads: int = THREADS, per_account: int = PER_ACCOUNT) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=THREAD_PREFIX)
        self._per_account = per_account
        self._lock = threading.Lock()  # the slots are freed on the pool's threads
        self._in_flight: dict[int, int] = {}

    async def run(self, account_id: int, send: Callable[[], T]) -> T:
        """``send()`` on the pool for ``account_id``; ``QuotaExceeded`` at once when the account
        already has ``per_account`` in flight."""
        with self._lock:
            current = self._in_flight.get(account_id, 0)
            if current >= self._per_account:
                raise QuotaExceeded(
                    subject=f"accounts/{account_id}",
                    resource="test_callbacks_in_flight",
                    limit=self._per_account,
                    current=current,
                )
            self._in_flight[account_id] = current + 1
        try:
            future = self._pool.submit(send)
        except RuntimeError:  # the interpreter is exiting: the pool takes no more work
            self._release(account_id, None)
            raise
        future.add_done_callback(functools.partial(self._release, account_id))
        return await asyncio.wrap_future(future)

    def _release(self, account_id: int, _done: Future[T] | None) -> None:
        with self._lock:
            left = self._in_flight[account_id] - 1
            if left:
                self._in_flight[account_id] = left
            else:
                del self._in_flight[account_id]
