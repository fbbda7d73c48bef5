"""SubscribeRoomEvents' loop (R21): an app's room and media events by sequence, stored then live.

Every stored event has its app's sequence number (``domain.events._sequences``, decision 0028):
strictly increasing in commit order, so "the events after *n*" is a stable question whose
answer only grows at the end. A subscriber keeps one cursor (the last number it has read past)
and reads the store after it, by pages of :data:`PAGE` events; the store is the truth, so a
reconnect that passes its cursor gets what it missed, then the live events, without a gap or a
duplicate, as long as the history keeps them.

What makes it read again:

* a wake-up on the live state's channel :func:`channel_of` the app, published by the replica
  whose ingest committed events of the app (:meth:`RoomEventStream.announce`; with Redis every
  replica hears it, in process only the one that stored them);
* failing that, :data:`POLL_INTERVAL` on the injected clock (pub/sub is at most once, and a
  replica without Redis hears nothing from the others).

Bounded: the server holds one page per subscriber; a slow consumer slows its own reads (the
next page is read once the previous one is sent), never a queue. With a room filter a read looks
through at most :data:`SCAN` numbers, so a rare room costs bounded reads; the cursor still moves
past the other rooms' events. The loop ends when the live state ends its subscriptions (the
server's shutdown): the API then answers UNAVAILABLE, to resume on another replica.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import room_violations
from rtcconsole_server.domain.events import EventInput, room_key, room_of_key
from rtcconsole_server.domain.monitor._command_watch import Offload
from rtcconsole_server.domain.monitor._realtime_edition import RealtimeScope
from rtcconsole_server.domain.monitor._wake import wake_or_poll
from rtcconsole_server.errors import FieldViolation, InvalidArgument
from rtcconsole_server.live import LiveState, LiveStateClosed, Subscription
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import RoomEvent, RoomEventHead

__all__ = [
    "MAX_SEQUENCE",
    "PAGE",
    "POLL_INTERVAL",
    "SCAN",
    "EventPage",
    "RoomEventStream",
    "SequencedEvent",
    "channel_of",
]

log = logging.getLogger("rtcconsole_server.room_events")

PAGE = 500
"""Events per read and per message sent: at most 500."""
SCAN = 10_000
"""Sequence numbers one read looks through (a room filter's bound): 10,000."""
POLL_INTERVAL = timedelta(seconds=5)
"""How often a subscriber reads the store without a wake-up: 5 seconds."""
MAX_SEQUENCE = 2**63 - 1
"""The largest ``after_sequence`` accepted (the column is a signed 64-bit integer)."""


def channel_of(sdk_app_id: int) -> str:
    """The live-state channel that says "the app has new events": ``room_events:{<app>}``
    (the braces are a Redis Cluster hash tag, as for the app's real-time keys)."""
    return f"room_events:{{{sdk_app_id}}}"


@dataclass(frozen=True)
class SequencedEvent:
    """One stored event, its number in the app's sequence and when it was stored."""

    sequence: int
    event: EventInput
    received_at: datetime


@dataclass(frozen=True)
class EventPage:
    """What one read found after a cursor."""

    events: list[SequencedEvent]
    resume_after: int
    """The cursor to read after next: the last event's number, or further (a room filter)."""
    caught_up: bool
    """Whether the read reached the app's last number: the next one waits for a wake-up."""
    as_of: datetime


def _event(row: RoomEvent) -> SequencedEvent:
    room = room_of_key(row.room_key)
    number = room if isinstance(room, int) else None
    text = room if isinstance(room, str) else None
    event = EventInput(
        event_id=row.event_id,
        sdk_app_id=row.sdk_app_id,
        room_id=number,
        str_room_id=text,
        user_id=row.user_id,
        event_type=row.event_type,
        event_time=row.event_time,
        role=row.role,
        reason=row.reason,
        session=json.loads(row.session),
    )
    return SequencedEvent(int(row.seq or 0), event, row.received_at)


def room_filter(room_id: int | None, str_room_id: str | None) -> str | None:
    """The room key to keep (None: every room); ``InvalidArgument`` for a malformed room."""
    if room_id is None and str_room_id is None:
        return None
    violations = room_violations(room_id, str_room_id)
    if violations:
        raise InvalidArgument(violations)
    return room_key(room_id, str_room_id)


def check_after(after: int | None) -> int | None:
    """``after_sequence`` as given; ``InvalidArgument`` beyond :data:`MAX_SEQUENCE`."""
    if after is not None and after > MAX_SEQUENCE:
        raise InvalidArgument(FieldViolation("after_sequence", f"at most {MAX_SEQUENCE}; got {after}"))
    return after


class RoomEventStream:
    """Announces committed events and runs the subscribers' loops (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        live: LiveState | None,
        *,
        poll_interval: timedelta = POLL_INTERVAL,
        page_size: int = PAGE,
        scan: int = SCAN,
    ) -> None:
        self._store = store
        self._clock = clock
        self._live = live
        self.poll_interval = poll_interval
        """How often a subscriber reads the store without a wake-up (default 5 s)."""
        self.page_size = page_size
        """Events per read (default :data:`PAGE`)."""
        self.scan = scan
        """Sequence numbers one read looks through (default :data:`SCAN`)."""

    async def announce(self, events: Sequence[EventInput]) -> None:
        """After a commit: wake the subscribers of each app of ``events`` on every replica.

        Best effort: the events are stored, and a subscriber that misses the wake-up reads them
        at its next poll, so a failure is logged, not raised. One message per app per batch.
        """
        if self._live is None or not events:
            return
        for app_id in sorted({e.sdk_app_id for e in events}):
            try:
                await self._live.publish(channel_of(app_id), b"")
            except LiveStateClosed:
                return
            except Exception as error:  # Redis unreachable: the events are stored, subscribers poll
                log.warning("could not announce room events of app %s (subscribers poll): %s", app_id, error)

    def head(self, sdk_app_id: int) -> int:
        """The app's last sequence number handed out (0: none yet)."""
        with self._store.read() as session:
            found = session.scalar(
                select(RoomEventHead.last_sequence).where(RoomEventHead.sdk_app_id == sdk_app_id)
            )
        return int(found or 0)

    def read_after(self, sdk_app_id: int, after: int, room: str | None = None) -> EventPage:
        """The app's stored events numbered after ``after`` (of ``room`` only, when given), at
        most :attr:`page_size`, and the cursor to read after next."""
        with self._store.read() as session:
            # the head first: every number up to it is committed once it is visible (0028)
            head = int(
                session.scalar(
                    select(RoomEventHead.last_sequence).where(RoomEventHead.sdk_app_id == sdk_app_id)
                )
                or 0
            )
            end = min(after + self.scan, head)
            query = select(RoomEvent).where(
                RoomEvent.sdk_app_id == sdk_app_id, RoomEvent.seq > after, RoomEvent.seq <= end
            )
            if room is not None:
                query = query.where(RoomEvent.room_key == room)
            rows = session.scalars(query.order_by(RoomEvent.seq).limit(self.page_size)).all()
            events = [_event(row) for row in rows]
        full = len(events) == self.page_size
        resume = events[-1].sequence if full else max(after, end)
        return EventPage(events, resume, resume >= head, self._clock.now())

    async def follow(
        self, offload: Offload, scope: RealtimeScope, *, after: int | None, room: str | None = None
    ) -> AsyncGenerator[EventPage]:
        """Pages of the app's events after ``after`` (None: from the current head, live only),
        each non-empty, in sequence order; ends when the server shuts down."""
        app_id = scope.sdk_app_id
        async with contextlib.AsyncExitStack() as stack:
            subscription: Subscription | None = None
            if self._live is not None:  # subscribed before the first read: no wake-up falls between
                try:
                    subscription = await stack.enter_async_context(
                        self._live.subscribe(channel_of(app_id), max_queued=1)
                    )
                except LiveStateClosed:
                    return  # shutting down
            cursor = after if after is not None else await offload(functools.partial(self.head, app_id))
            while True:
                page = await offload(functools.partial(self.read_after, app_id, cursor, room))
                cursor = page.resume_after
                if page.events:
                    yield page
                if page.caught_up and not await self._wait(subscription):
                    return
                if subscription is not None and subscription.closed:
                    return

    async def _wait(self, subscription: Subscription | None) -> bool:
        """Until a wake-up or the poll interval; False once the subscription has ended."""
        return await wake_or_poll(subscription, self._clock, self.poll_interval)
