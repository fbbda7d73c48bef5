"""SubscribeRealtime's loop (R21): one frame per closed slot per app, to every subscriber.

**When.** A slot's frame is built at its end plus :data:`FIRST_AFTER` (0.5 s: records sent in
the slot's last instants have arrived), and the slot is read again at its end plus
:data:`REVISE_AFTER` (2 s: the SDK's report interval and the ingest's own batching); when late
records changed its figures (or its top rooms), the slot is sent again as a **revision**
(``Frame.revision`` 1), which replaces the first. A record later than that still lands in its
slot but shows only in later reads of it (``GetRealtimeSeries``), never in a new frame. A frame
built at or after its slot's revision time (a ticker that woke late, a replay) is not revised.
Every wait is on the injected clock.

**Built once.** Each process runs one :class:`_Ticker` per app that has a subscriber there.
At a slot's first time every ticker of the app (one per replica) increments the slot's claim
counter (:func:`claim_key`); the one that reads 1 builds the frame from the shared counters
and publishes it on the app's channel (``realtime:{app}``), and the same replica reads the slot
again for its revision. The live state's pub/sub hands the same bytes to every subscriber on
every replica (with Redis; in process, the one process). :attr:`RealtimeStream.builds` counts the
frames this process built and published, :attr:`RealtimeStream.revisions` the revisions.

**One subscriber.** A stream subscribes to the channel with ``max_queued=1``
(coalesce-to-latest: a slow client gets the newest frame and ``skipped``, never a queue), then
sends the frames it owes from the retained figures (``replayed``): the latest due slot, or
every slot after ``resume_after`` within the edition's look-back. Then it sends each live frame
newer than the last it sent (a later slot, or a revision of the same one). A hole that its queue
did not cause (the builder's replica died between claim and publish; pub/sub is at most once) is
filled from the retained figures too, so a stream has no gap and no duplicate except what
coalescing reports in ``skipped``.

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
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
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
from rtcconsole_server.live import SLOT, LiveState, LiveStateClosed, Subscription, slot_of, slot_start

__all__ = ["FIRST_AFTER", "MAX_AHEAD", "MAX_CATCH_UP", "REPLAY_CHUNK", "REVISE_AFTER", "RealtimeStream"]

log = logging.getLogger("rtcconsole_server.realtime")

FIRST_AFTER = timedelta(milliseconds=500)
"""How long after a slot's end its frame is built: 0.5 s, for records sent in its last instants."""
REVISE_AFTER = timedelta(seconds=2)
"""How long after a slot's end it is read again, and sent again (a revision) if that changed it:
2 s, for records still on their way (the SDK's 2-s report interval, the ingest's batching)."""
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

    def __init__(
        self,
        clock: Clock,
        live: LiveState | None,
        *,
        first_after: timedelta = FIRST_AFTER,
        revise_after: timedelta = REVISE_AFTER,
    ) -> None:
        if not timedelta(0) <= first_after <= revise_after < SLOT - first_after:
            raise ValueError("need 0 <= first_after <= revise_after < 10 s - first_after")
        self._clock = clock
        self._live = live
        self.first_after = first_after
        """How long after a slot's end its frame is built (default 0.5 s)."""
        self.revise_after = revise_after
        """How long after a slot's end it is read again for a revision (default 2 s)."""
        self._tickers: dict[int, _Ticker] = {}
        self.builds = 0
        """Live frames this process built and published (one per app per slot in a cluster)."""
        self.replays = 0
        """Frames built for one stream from the retained figures (starts, resumes, holes)."""
        self.revisions = 0
        """Revisions this process published: slots whose figures changed between the first frame
        and the read at :attr:`revise_after`."""
        self.failures = 0
        """Slots whose live frame (or revision) this process could not build or publish (logged)."""
        self.rankings = 0
        """Live frames a stream ranked top rooms for itself (they arrived unranked)."""

    def _state(self) -> LiveState:
        if self._live is None:
            raise FailedPrecondition(
                PreconditionViolation("LIVE_STATE", "server", "this process has no live state")
            )
        return self._live

    def due_slot(self, now: datetime | None = None) -> int:
        """The newest slot whose frame is due: it ended at least :attr:`first_after` ago."""
        return slot_of((now or self._clock.now()) - self.first_after) - 1

    def revision_time(self, slot: int) -> datetime:
        """When ``slot`` is read again for its revision: its end + :attr:`revise_after`."""
        return slot_start(slot + 1) + self.revise_after

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
        revision = 0  # of the last frame sent (``last``'s)
        async for payload in sub:
            try:
                frame = decode(payload)
            except ValueError:
                log.warning("a message on %s is not a frame; ignored", sub.channel)
                continue
            if (frame.slot, frame.revision) <= (last, revision):
                continue  # already sent (replayed), older, or not newer than what this slot had
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
            last, revision = frame.slot, frame.revision

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
        """At each slot's first time, build and publish its frame if this process wins the claim;
        at its revision time, read the slot again and publish a revision if it changed."""
        live = self._state()
        following = self.due_slot() + 1
        revising: Frame | None = None  # the last frame built here before its slot's revision time
        try:
            while True:
                wake = slot_start(following + 1) + self.first_after
                if revising is not None:
                    wake = min(wake, self.revision_time(revising.slot))
                await self._clock.sleep_until(wake)
                now = self._clock.now()
                if revising is not None and now >= self.revision_time(revising.slot):
                    await self._attempt(ticker, revising.slot, self._revise(live, ticker, revising))
                    revising = None
                due = self.due_slot(now)
                for slot in range(max(following, due - MAX_CATCH_UP + 1), due + 1):
                    built = await self._attempt(ticker, slot, self._broadcast(live, ticker, slot))
                    if built is not None and built.as_of < self.revision_time(slot):
                        revising = built
                following = max(following, due + 1)
        except LiveStateClosed:
            return

    async def _attempt(self, ticker: _Ticker, slot: int, step: Awaitable[Frame | None]) -> Frame | None:
        """``step``'s frame; None when it built none or failed (Redis unreachable: logged, and the
        subscribers fill the hole when it is back). :class:`LiveStateClosed` goes through."""
        try:
            return await step
        except LiveStateClosed:
            raise
        except Exception:
            self.failures += 1
            app = ticker.scope.sdk_app_id
            log.warning("real-time frame of app %d, slot %d failed", app, slot, exc_info=True)
            return None

    async def _want_top_rooms(self, app: int, slot: int) -> None:
        """Mark ``slot``'s frame wanted with top rooms; a failure only costs the streams a ranking
        of their own (logged)."""
        try:
            await self._state().incr(wanted_key(app), slot, retention=DETAIL_RETENTION)
        except LiveStateClosed:
            pass
        except Exception:
            log.warning("marking top rooms wanted for app %d failed", app, exc_info=True)

    async def _broadcast(self, live: LiveState, ticker: _Ticker, slot: int) -> Frame | None:
        """Claim ``slot`` (and mark the next one wanted with top rooms if this process's
        subscribers want them), in one round trip; build and publish it if the claim is ours
        (the frame published, else None)."""
        scope = ticker.scope
        app = scope.sdk_app_id
        batch = live.batch()
        batch.incr(claim_key(app), slot, retention=DETAIL_RETENTION)
        if ticker.ranking:
            batch.incr(wanted_key(app), slot + 1, retention=DETAIL_RETENTION)
        batch.get_count(wanted_key(app), slot, retention=DETAIL_RETENTION)
        claimed, *_, wanted = await batch.execute()
        if claimed != 1:
            return None  # another replica builds this one
        ranked = wanted > 0 or ticker.ranking > 0
        (frame,) = await build_frames(live, app, scope.look_back, [slot], self._clock.now(), top_rooms=ranked)
        await live.publish(channel(app), encode(frame))
        self.builds += 1
        return frame

    async def _revise(self, live: LiveState, ticker: _Ticker, first: Frame) -> Frame | None:
        """Read ``first``'s slot again; publish it as revision 1 if its figures or top rooms
        changed since ``first`` was built (the revision published, else None)."""
        app, ranked = first.sdk_app_id, first.top_rooms is not None
        look_back = ticker.scope.look_back
        (frame,) = await build_frames(live, app, look_back, [first.slot], self._clock.now(), top_rooms=ranked)
        if (frame.figures, frame.top_rooms) == (first.figures, first.top_rooms):
            return None
        revised = dataclasses.replace(frame, revision=1)
        await live.publish(channel(app), encode(revised))
        self.revisions += 1
        return revised


def _cut(frame: Frame, top: int) -> Frame:
    """``frame`` with at most ``top`` top rooms (none when ``top`` is 0)."""
    if frame.top_rooms is None or (top and len(frame.top_rooms) <= top):
        return frame
    return dataclasses.replace(frame, top_rooms=frame.top_rooms[:top] if top else None)
