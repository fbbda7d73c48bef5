"""An in-process cache of what the gate and app reads need, invalidated on every replica.

``AuthorizeRoomEntry`` (the app's secret key, lifecycle, its account's billing state and the
R14 flag) and ``GetApp`` (the app's view) read a few rows that change rarely. This cache keeps
them per SDKAppID (decision 0035), and drops **everything** it holds when any of them may have
changed:

* **this process**: a listener on the store's engine notes every ``INSERT``/``UPDATE``/``DELETE``
  on ``accounts``, ``apps``, ``app_tags``, ``app_settings`` or ``tags``, whatever use case or
  worker ran it, and when that connection goes back to the pool (after its commit) clears the
  cache at once;
* **other replicas**: the same moment publishes a message on the live state's :data:`CHANNEL`;
  with Redis every replica's cache hears it and clears itself within milliseconds;
* **the backstop**: an entry lives at most ``ttl`` (:data:`DEFAULT_TTL`, 5 s) on the injected
  clock, so a lost message (Redis pub/sub is at most once), a replica without Redis, or a
  write by another process (``rtc-console admin``, the aggregator) is seen within the TTL.

A read that started before an invalidation never stores what it read (a generation counter).
Until the subscription is confirmed, and after it ends, the cache stores and serves nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import weakref
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from rtcconsole_server.clock import Clock
from rtcconsole_server.live import LiveState, LiveStateClosed
from rtcconsole_server.store import Store

__all__ = ["CHANNEL", "DEFAULT_TTL", "MAX_ENTRIES", "AppStateCache"]

log = logging.getLogger("rtcconsole_server.app_cache")

CHANNEL = "app_state"
"""The live-state channel that says "app, billing or config state changed: drop your cache"."""
DEFAULT_TTL = timedelta(seconds=5)
"""Longest an entry is served without a look at the store: 5 seconds (the bound when a
message is lost)."""
MAX_ENTRIES = 100_000
"""Entries kept at most; the cache is cleared when it would grow past them."""
_RETRY = timedelta(seconds=1)
"""Wait before subscribing again after the live state failed (injected clock)."""

_WRITE = re.compile(
    r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(?:accounts|apps|app_tags|app_settings|tags)\b",
    re.IGNORECASE,
)
_DIRTY = "rtc_app_state_dirty"

_BY_STORE: weakref.WeakKeyDictionary[Store, weakref.WeakSet[AppStateCache]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _changed(store: Store) -> None:
    """A transaction on ``store`` that wrote app state has ended: clear every cache over it."""
    with _LOCK:
        caches = list(_BY_STORE.get(store, ()))
    for cache in caches:
        cache.invalidate(publish=True)


def _watch(store: Store) -> None:
    """Listen on ``store``'s engine for writes to app state (once per store)."""
    engine = store.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _WRITE.match(statement):
            connection.info[_DIRTY] = True

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_DIRTY, False):
            _changed(store)


class AppStateCache:
    """Values per ``(kind, sdk_app_id)``; ``kind`` names what is cached (``"entry"``, ``"view"``).

    :meth:`get` and :meth:`put` run on the event loop or a store thread alike. ``live`` None
    (no live state) serves with the TTL alone, for this process.
    """

    def __init__(
        self, store: Store, clock: Clock, live: LiveState | None, *, ttl: timedelta = DEFAULT_TTL
    ) -> None:
        self._clock = clock
        self._live = live
        self.ttl = ttl
        """Longest an entry is served (default :data:`DEFAULT_TTL`)."""
        self._entries: dict[tuple[str, int], tuple[datetime, object]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._serving = live is None
        self._listener: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: asyncio.Future[None] | None = None
        self._again = False
        with contextlib.suppress(RuntimeError):  # built on the event loop: listen from now on
            if live is not None:
                self._start()
        with _LOCK:
            if store not in _BY_STORE:
                _BY_STORE[store] = weakref.WeakSet()
                _watch(store)
            _BY_STORE[store].add(self)

    @property
    def serving(self) -> bool:
        """Whether entries are kept now (False until the live state's subscription is confirmed)."""
        return self._serving

    def generation(self) -> int:
        """Take before reading the store; hand to :meth:`put` with what was read."""
        return self._generation

    def get(self, kind: str, sdk_app_id: int) -> object | None:
        """The value cached for ``(kind, sdk_app_id)`` if younger than the TTL, else None.
        Called on the event loop, it starts the listener on the live state's channel."""
        if self._listener is None and self._live is not None:
            self._start()
        found = self._entries.get((kind, sdk_app_id))
        if found is None:
            return None
        expires, value = found
        if self._clock.now() >= expires:
            return None
        return value

    def put(self, kind: str, sdk_app_id: int, value: object, generation: int) -> None:
        """Keep ``value``, read from the store after :meth:`generation` said ``generation``,
        unless the cache was invalidated since (then the value may be stale) or is not serving."""
        expires = self._clock.now() + self.ttl
        with self._lock:
            if not self._serving or generation != self._generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[(kind, sdk_app_id)] = (expires, value)

    def invalidate(self, *, publish: bool = False) -> None:
        """Drop every entry now; with ``publish``, tell every replica to do the same."""
        with self._lock:
            self._generation += 1
            self._entries.clear()
        loop = self._loop
        if publish and self._live is not None and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._publish)

    def _publish(self) -> None:
        """On the loop: one message for every change since the last one was sent."""
        if self._sending is None or self._sending.done():
            self._sending = asyncio.ensure_future(self._send())
        else:
            self._again = True

    async def _send(self) -> None:
        assert self._live is not None
        self._again = True
        while self._again:
            self._again = False
            await self._send_one(self._live)

    async def _send_one(self, live: LiveState) -> None:
        try:
            await live.publish(CHANNEL, b"")
        except LiveStateClosed:
            return
        except Exception as error:  # Redis unreachable: the other replicas rely on the TTL
            log.warning("could not announce an app state change (replicas see it within the TTL): %s", error)

    def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._listener = self._loop.create_task(self._listen(), name="rtc-app-state-cache")

    async def _listen(self) -> None:
        """Serve while subscribed to :data:`CHANNEL`; clear at every message; stop serving when
        the subscription ends (shutdown) or fails (then subscribe again after a second)."""
        assert self._live is not None
        while True:
            try:
                async with self._live.subscribe(CHANNEL, max_queued=1) as subscription:
                    self.invalidate()
                    self._serving = True
                    async for _ in subscription:
                        self.invalidate()
                return  # the live state ended its subscriptions: the server is stopping
            except LiveStateClosed:
                return
            except Exception as error:  # Redis down: read the store until subscribed again
                log.warning("app state cache off until the live state answers: %s", error)
            finally:
                self._serving = False
                self.invalidate()
            await self._clock.sleep(_RETRY)
