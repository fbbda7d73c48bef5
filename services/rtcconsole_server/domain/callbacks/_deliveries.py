"""Callback deliveries as their app's owner sees them, and the test callback (R15).

``ConfigService.ListCallbackDeliveries`` and ``SendTestCallback`` delegate here
(``console.deliveries``). Both are scoped to the caller's account: another
account's app is ``NotFound``. Test callbacks run on a small pool of their own with a
per-account cap (``_test_sends.py``), never on the loop's default pool or the store's.
"""

from __future__ import annotations

import functools
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select

from rtcconsole.callbacks import EVENT_GROUP_MEDIA, EVENT_GROUP_ROOM
from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.callbacks._body import callback_body, callback_headers, event_info
from rtcconsole_server.domain.callbacks._http import RESPONSE_HEAD_BYTES, Resolver, post_blocking
from rtcconsole_server.domain.callbacks._outbox import PENDING
from rtcconsole_server.domain.callbacks._test_sends import TestSends
from rtcconsole_server.domain.common import (
    Caller,
    DestinationPolicy,
    Page,
    PageTokens,
    int_position,
    load_app,
    page_size,
)
from rtcconsole_server.domain.config import CallbackSection, read_section
from rtcconsole_server.domain.events import room_of_key
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import CallbackAttempt, CallbackDelivery

__all__ = ["STATES", "TEST_ROOM", "AttemptView", "Deliveries", "DeliveryView", "TestCallbackResult"]

STATES = ("pending", "delivered", "expired")
"""Delivery states: waiting (for its turn or its next attempt), HTTP 200 in time, retries ran out."""
_STATE_RULE = (
    "must be DELIVERY_STATE_PENDING, DELIVERY_STATE_DELIVERED or DELIVERY_STATE_EXPIRED (unset: every state)"
)
"""Named as callers type them: the wire's enum names."""
TEST_ROOM = "rtc-console-test"
"""``RoomId`` (and ``UserId`` of media tests) of a test callback; its ``RoomSeq`` is 0 and ``Test`` true."""


@dataclass(frozen=True)
class AttemptView:
    """One POST of a delivery. ``status_code`` 0: no response; ``error`` empty: success."""

    attempt: int
    sent_at: datetime
    duration_ms: int
    status_code: int
    error: str


@dataclass(frozen=True)
class DeliveryView:
    """One event on its way to the app's URL. ``next_attempt_at`` is None once it is finished."""

    delivery_id: int
    sdk_app_id: int
    event_id: str
    event_group: int
    event_type: int
    room: str
    room_sequence: int
    url: str
    state: str
    queued_at: datetime
    next_attempt_at: datetime | None
    attempts: tuple[AttemptView, ...]


@dataclass(frozen=True)
class TestCallbackResult:
    """What a test POST gave: ``body`` exactly as sent, ``status_code`` (0: no HTTP answer),
    ``duration_ms``, ``error`` (empty on success; one generic text for every failure without
    an HTTP answer) and ``response_body``, the answer's first 512 bytes (as UTF-8, invalid
    bytes replaced)."""

    url: str
    body: str
    status_code: int
    duration_ms: int
    error: str
    response_body: str


def _room_keys(room: str) -> list[str]:
    """Rooms shown as ``room``: the string room, and the numeric one when it is a number."""
    keys = [f"s:{room}"]
    if room.isascii() and room.isdigit() and str(int(room)) == room:
        keys.append(f"n:{room}")
    return keys


class Deliveries:
    """Listing deliveries with their attempts, and sending a test callback now."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        timeout: timedelta = timedelta(seconds=5),
        tokens: PageTokens | None = None,
        destinations: DestinationPolicy | None = None,
        resolver: Resolver | None = None,
        test_sends: TestSends | None = None,
    ) -> None:
        """``destinations`` None: the default policy (public addresses only); ``resolver`` None:
        the system's; ``test_sends`` None: a pool of 4 threads, 2 per account (``_test_sends``)."""
        self._test_sends = test_sends or TestSends()
        self._tokens = tokens or PageTokens.ephemeral()
        self._store = store
        self._clock = clock
        self._timeout_s = timeout.total_seconds()
        self._destinations = destinations or DestinationPolicy()
        self._resolver = resolver

    def list(
        self,
        caller: Caller,
        sdk_app_id: int,
        *,
        room: str,
        state: str | None,
        page_size_requested: int,
        page_token: str,
    ) -> Page[DeliveryView]:
        """The app's deliveries, newest first, optionally of one room (its id as text) and state."""
        size = page_size(page_size_requested)
        if state is not None and state not in STATES:
            raise InvalidArgument(FieldViolation("state", _STATE_RULE))
        filters = {"app": sdk_app_id, "room": room, "state": state}
        after = self._tokens.decode(page_token, "callback_deliveries", filters, int_position)
        conditions: list[ColumnElement[bool]] = [CallbackDelivery.sdk_app_id == sdk_app_id]
        if room:
            conditions.append(CallbackDelivery.room_key.in_(_room_keys(room)))
        if state:
            conditions.append(CallbackDelivery.state == state)
        if after is not None:
            conditions.append(CallbackDelivery.id < after)
        with self._store.read() as session:
            load_app(session, caller, sdk_app_id)
            rows = session.scalars(
                select(CallbackDelivery)
                .where(*conditions)
                .order_by(CallbackDelivery.id.desc())
                .limit(size + 1)
            ).all()
            page = rows[:size]
            attempts: dict[int, list[AttemptView]] = defaultdict(list)
            if page:
                for attempt in session.scalars(
                    select(CallbackAttempt)
                    .where(CallbackAttempt.delivery_id.in_([r.id for r in page]))
                    .order_by(CallbackAttempt.delivery_id, CallbackAttempt.attempt, CallbackAttempt.id)
                ):
                    attempts[attempt.delivery_id].append(
                        AttemptView(
                            attempt.attempt,
                            attempt.sent_at,
                            attempt.duration_ms,
                            attempt.status_code,
                            attempt.error,
                        )
                    )
            views = [
                DeliveryView(
                    delivery_id=r.id,
                    sdk_app_id=r.sdk_app_id,
                    event_id=r.event_id,
                    event_group=r.event_group,
                    event_type=r.event_type,
                    room=str(room_of_key(r.room_key)),
                    room_sequence=r.room_sequence,
                    url=r.url,
                    state=r.state,
                    queued_at=r.queued_at,
                    next_attempt_at=r.next_attempt_at if r.state == PENDING else None,
                    attempts=tuple(attempts[r.id]),
                )
                for r in page
            ]
        token = self._tokens.encode("callback_deliveries", page[-1].id, filters) if len(rows) > size else ""
        return Page(views, token)

    async def send_test_async(
        self, caller: Caller, sdk_app_id: int, *, event_group: int
    ) -> TestCallbackResult:
        """:meth:`send_test` on the test-callback pool, off the event loop (``SendTestCallback``).

        At most 2 (``_test_sends.PER_ACCOUNT``) of an account's test callbacks run at once; one
        more while they do is ``QuotaExceeded`` at once.
        """
        send = functools.partial(self.send_test, caller, sdk_app_id, event_group=event_group)
        return await self._test_sends.run(caller.account_id, send)

    def send_test(self, caller: Caller, sdk_app_id: int, *, event_group: int) -> TestCallbackResult:
        """POST a signed test event now to the app's URL of ``event_group`` (0 or 1 room, 2 media).

        Blocks for up to the callback timeout (5 s, the whole exchange), on a connection of
        its own (never the dispatcher's); the server runs it through :meth:`send_test_async`,
        never on the event loop or a shared pool. The destination policy
        applies as for deliveries. The result says how the receiver answered; a failure to
        reach it is not an error of this call, and every kind of it (refused, reset, TLS,
        timeout, a destination not allowed) reads the same, so the call cannot map a network.
        """
        group = event_group or EVENT_GROUP_ROOM
        if group not in (EVENT_GROUP_ROOM, EVENT_GROUP_MEDIA):
            raise InvalidArgument(FieldViolation("event_group", "must be ROOM or MEDIA"))
        with self._store.read() as session:
            load_app(session, caller, sdk_app_id)
            section = read_section(session, sdk_app_id, CallbackSection).effective
        url = section.url_for(group)
        if not url:
            kind = "room" if group == EVENT_GROUP_ROOM else "media"
            raise FailedPrecondition(
                PreconditionViolation(
                    "CALLBACK_URL_UNSET",
                    f"apps/{sdk_app_id}",
                    f"no {kind}-event callback URL is in effect; set one with UpdateCallbackConfig "
                    "(callback settings take effect at once)",
                )
            )
        now = self._clock.now()
        event_type = 101 if group == EVENT_GROUP_ROOM else 201
        user = "" if group == EVENT_GROUP_ROOM else TEST_ROOM
        body = callback_body(
            event_group=group,
            event_type=event_type,
            event_id=f"test-{secrets.token_hex(8)}",
            room_seq=0,
            event_time=now,
            send_time=now,
            info=event_info(
                room=TEST_ROOM, user_id=user, event_type=event_type, event_time=now, role=0, reason=0
            ),
            test=True,
        )
        result = post_blocking(
            url,
            body,
            callback_headers(sdk_app_id, section.key, body),
            timeout_s=self._timeout_s,
            policy=self._destinations,
            resolver=self._resolver,
            keep=RESPONSE_HEAD_BYTES,
        )
        return TestCallbackResult(
            url=url,
            body=body.decode("utf-8"),
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=result.public_error(self._timeout_s),
            response_body=result.response_head[:RESPONSE_HEAD_BYTES].decode("utf-8", "replace"),
        )
