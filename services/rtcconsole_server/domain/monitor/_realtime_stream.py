"""SubscribeRealtime's loop (R21): one frame per closed slot per app, to every subscriber.

**When.** A slot's frame is due at its end plus :data:`GRACE` (2 s: records reported at the
end of a slot have arrived, the ingest's own batching included); a record later than that
still lands in its slot but shows only in later reads of it (``GetRealtimeSeries``), never in
a new frame. Every wait is on the injected clock.

**Built once.** Each process runs one :class:`_Ticker` per app that has a subscriber there.
At a slot's due time every ticker of the app (one per replica) increments the slot's claim
counter (:func:`claim_key`); the one that reads 1 builds the frame from the shared counters
and publishes it on the app's channel (``realtime:{app}``). The live state's pub/sub hands
the same bytes to every subscriber on every replica (with Redis; in process, the one
process). :attr:`RealtimeStream.builds` counts the frames this process built and published.

**One subscriber.** A stream subscribes to the channel with ``max_queued=1``
(coalesce-to-latest: a slow client gets the newest frame and ``skipped``, never a queue), then
sends the frames it owes from the retained figures (``replayed``): the latest due slot, or
every slot after ``resume_after`` within the edition's look-back. Then it sends each live frame
newer than the last it sent. A hole that its queue did not cause (the builder's replica died
between claim and publish; pub/sub is at most once) is filled from the retained figures too,
so a stream has no gap and no duplicate except what coalescing reports in ``skipped``.

**Top rooms.** A stream that asks for ``top_rooms`` gets each frame's rooms with the most online
users, cut to its count (``_realtime_top_rooms``). The builder ranks them once per slot when a
replica marked the slot wanted (:func:`wanted_key`, marked a slot ahead by every ticker whose
process has such a subscriber); a live frame that arrives unranked all the same (a subscriber
joined as the slot was claimed) is ranked by the stream itself (:attr:`RealtimeStream.rankings`).

A stream ends when the live state ends its subscriptions (the server's shutdown); the API
ends it with a status the client retries on another replica (decision 0027).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.monitor._realtime_edition import RealtimeScope
from rtcconsole_server.domain.monitor._realtime_frames import (
    Frame,
    build_frames,
    channel,
    claim_key,
    decode,
    encode,
)
from rtcconsole_server.domain.monitor._realtime_keys import DETAIL_RETENTION
from rtcconsole_server.domain.monitor._realtime_top_rooms import check_top_rooms, rank_top_rooms, wanted_key
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)
from rtcconsole_server.live import LiveState, LiveStateClosed, Subscription, slot_of, slot_start

__all__ = ["GRACE", "MAX_AHEAD", "MAX_CATCH_UP", "REPLAY_CHUNK", "RealtimeStream"]

log = logging.getLogger("rtcconsole_server.realtime")

GRACE = timedelta(seconds=2)
"""How long after a slot's end its frame is built: 2 s for records still on their way."""
MAX_AHEAD = timedelta(minutes=5)
"""How far past now ``resume_after`` may be (replicas' clocks differ)."""
MAX_CATCH_UP = 60
"""Slots one ticker builds at most when it wakes late (the clock jumped): the latest 60."""
REPLAY_CHUNK = 360
"""Slots read per round trip when a stream replays from the retained figures (one hour)."""


@dataclass
class _Ticker:
    """One app's frame builder in this process, alive while the app has a subscriber here."""

    scope: RealtimeScope
    subscribers: int = 0
    ranking: int = 0
    """Of :attr:`subscribers`, those that asked for top rooms."""
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class RealtimeStream:
    """The tickers of this process and the streams' loops (see the module docstring)."""

    def __init__(self, clock: Clock, live: LiveState | None, *, grace: timedelta = GRACE) -> None:
        self._clock = clock
        self._live = live
        self.grace = grace
        """How long after a slot's end its frame is built (default 2 s)."""
        self._tickers: dict[int, _Ticker] = {}
        self.builds = 0
        """Live frames this process built and published (one per app per slot in a cluster)."""
        self.replays = 0
        """Frames built for one stream from the retained figures (starts, resumes, holes)."""
        self.failures = 0
        """Slots whose live frame this process could not build or publish (logged)."""
        self.rankings = 0
        """Live frames a stream ranked top rooms for itself (they arrived unranked)."""

    def _state(self) -> LiveState:
        if self._live is None:
            raise FailedPrecondition(
                PreconditionViolation("LIVE_STATE", "server", "this process has no live state")
            )
        return self._live

    def due_slot(self, now: datetime | None = None) -> int:
        """The newest slot whose frame is due: it ended at least :attr:`grace` ago."""
        return slot_of((now or self._clock.now()) - self.grace) - 1

    def ticking(self) -> int:
        """Apps with a ticker in this process."""
        return len(self._tickers)

    async def subscribe(
        self, scope: RealtimeScope, *, resume_after: datetime | None, top_rooms: int = 0
    ) -> AsyncGenerator[Frame, None]:
        """The app's frames: those owed from retention, then each live one; ends at shutdown.

        ``top_rooms`` (0 to 20; more means 20): the rooms each frame carries, most online users
        first; 0: frames carry none (``Frame.top_rooms`` None).
        """
        live, now = self._state(), self._clock.now()
        if resume_after is not None and resume_after > now + MAX_AHEAD:
            raise InvalidArgument(FieldViolation("resume_after", "must be at most 5 minutes ahead of now"))
        top = check_top_rooms(top_rooms)
        async with contextlib.AsyncExitStack() as stack:
            try:
                sub = await stack.enter_async_context(live.subscribe(channel(scope.sdk_app_id), max_queued=1))
            except LiveStateClosed:
                return  # shutting down
            await stack.enter_async_context(self._joined(scope, ranking=top > 0))
            due = self.due_slot()
            first = due if resume_after is None else slot_of(resume_after) + 1
            oldest = live.oldest_live_slot(scope.look_back)
            skipped = max(0, oldest - first)
            last = max(first, oldest) - 1
            async for frame in self._replay(scope, last + 1, due, skipped, top=top):
                yield _cut(frame, top)
                last = frame.slot
            async for frame in self._live_frames(scope, sub, last, top):
                yield _cut(frame, top)

    async def _live_frames(
        self, scope: RealtimeScope, sub: Subscription, last: int, top: int
    ) -> AsyncIterator[Frame]:
        dropped = 0  # since the subscription began: a frame dropped while replaying was coalesced
        async for payload in sub:
            try:
                frame = decode(payload)
            except ValueError:
                log.warning("a message on %s is not a frame; ignored", sub.channel)
                continue
            if frame.slot <= last:
                continue  # already sent (replayed) or older
            if frame.slot > last + 1 and sub.dropped > dropped:  # this stream was slow: coalesced
                frame = dataclasses.replace(frame, skipped=frame.slot - last - 1)
            elif frame.slot > last + 1:  # a hole the queue did not cause: fill it
                async for missed in self._replay(scope, last + 1, frame.slot - 1, 0, top=top):
                    yield missed
            if top and frame.top_rooms is None:  # built before this replica marked the slot wanted
                ranked = await rank_top_rooms(self._state(), scope.sdk_app_id, scope.look_back, frame.slot)
                frame = dataclasses.replace(frame, top_rooms=ranked)
                self.rankings += 1
            dropped = sub.dropped
            yield frame
            last = frame.slot

    async def _replay(
        self, scope: RealtimeScope, first: int, end: int, skipped: int, *, top: int
    ) -> AsyncIterator[Frame]:
        """Frames of slots ``first`` to ``end`` (inclusive) from the retained figures; the first
        carries ``skipped``; ranked with top rooms when ``top``."""
        live = self._state()
        first = max(first, live.oldest_live_slot(scope.look_back))
        for start in range(first, end + 1, REPLAY_CHUNK):
            slots = list(range(start, min(end, start + REPLAY_CHUNK - 1) + 1))
            frames = await build_frames(
                live, scope.sdk_app_id, scope.look_back, slots, self._clock.now(), top_rooms=top > 0
            )
            self.replays += len(frames)
            for frame in frames:
                yield dataclasses.replace(frame, replayed=True, skipped=skipped)
                skipped = 0

    # ------------------------------------------------------------ tickers

    @contextlib.asynccontextmanager
    async def _joined(self, scope: RealtimeScope, *, ranking: bool) -> AsyncIterator[None]:
        """Count one subscriber of ``scope``'s app (``ranking``: it wants top rooms, so the next
        slot due is marked wanted); the app's ticker runs while there is one."""
        app = scope.sdk_app_id
        ticker = self._tickers.get(app)
        if ticker is None:
            ticker = self._tickers[app] = _Ticker(scope)
            ticker.task = asyncio.create_task(self._tick(ticker), name=f"realtime-frames:{app}")
        ticker.scope = scope  # the newest edition seen
        ticker.subscribers += 1
        ticker.ranking += ranking
        try:
            if ranking:
                await self._want_top_rooms(app, self.due_slot() + 1)
            yield
        finally:
            ticker.subscribers -= 1
            ticker.ranking -= ranking
            if ticker.subscribers == 0 and self._tickers.get(app) is ticker:
                del self._tickers[app]
                if ticker.task is not None:
                    ticker.task.cancel()
                    await asyncio.gather(ticker.task, return_exceptions=True)

    async def _tick(self, ticker: _Ticker) -> None:
        """At each slot's due time, build and publish its frame if this process wins the claim."""
        live = self._state()
        following = self.due_slot() + 1
        while True:
            await self._clock.sleep_until(slot_start(following + 1) + self.grace)
            due = self.due_slot()
            for slot in range(max(following, due - MAX_CATCH_UP + 1), due + 1):
                try:
                    await self._broadcast(live, ticker, slot)
                except LiveStateClosed:
                    return
                except Exception:  # Redis unreachable: subscribers fill the hole when it is back
                    self.failures += 1
                    log.warning(
                        "real-time frame of app %d, slot %d failed",
                        ticker.scope.sdk_app_id,
                        slot,
                        exc_info=True,
                    )
            following = max(following, due + 1)

    async def _want_top_rooms(self, app: int, slot: int) -> None:
        """Mark ``slot``'s frame wanted with top rooms; a failure only costs the streams a ranking
        of their own (logged)."""
        try:
            await self._state().incr(wanted_key(app), slot, retention=DETAIL_RETENTION)
        except LiveStateClosed:
            pass
        except Exception:
            log.warning("marking top rooms wanted for app %d failed", app, exc_info=True)

    async def _broadcast(self, live: LiveState, ticker: _Ticker, slot: int) -> None:
        """Claim ``slot`` (and mark the next one wanted with top rooms if this process's
        subscribers want them), in one round trip; build and publish it if the claim is ours."""
        scope = ticker.scope
        app = scope.sdk_app_id
        batch = live.batch()
        batch.incr(claim_key(app), slot, retention=DETAIL_RETENTION)
        if ticker.ranking:
            batch.incr(wanted_key(app), slot + 1, retention=DETAIL_RETENTION)
        batch.get_count(wanted_key(app), slot, retention=DETAIL_RETENTION)
        claimed, *_, wanted = await batch.execute()
        if claimed != 1:
            return  # another replica builds this one
        ranked = wanted > 0 or ticker.ranking > 0
        (frame,) = await build_frames(live, app, scope.look_back, [slot], self._clock.now(), top_rooms=ranked)
        await live.publish(channel(app), encode(frame))
        self.builds += 1


def _cut(frame: Frame, top: int) -> Frame:
    """``frame`` with at most ``top`` top rooms (none when ``top`` is 0)."""
    if frame.top_rooms is None or (top and len(frame.top_rooms) <= top):
        return frame
    return dataclasses.replace(frame, top_rooms=frame.top_rooms[:top] if top else None)
