"""The quality reads of one user in one call (R19, R20): views, series and client events.

Each use case checks its fields, then resolves the caller's call and the range
(``_series_range``: at most 5 hours inside the call, another account's call ``NotFound``),
then reads in one store session: :meth:`CallQuality.series` (``_series_read``),
:meth:`CallQuality.user_view` (``_user_view``), :meth:`CallQuality.client_events`
(``_client_event_list``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import Caller, PageTokens, page_size
from rtcconsole_server.domain.monitor._client_event_list import (
    DEFAULT_EVENTS,
    MAX_EVENTS,
    ClientEventList,
    list_client_events,
)
from rtcconsole_server.domain.monitor._series_range import check_user, resolve_scope
from rtcconsole_server.domain.monitor._series_read import SeriesResult, check_series_request, read_series
from rtcconsole_server.domain.monitor._user_view import MAX_OVERVIEW_POINTS, UserViews, read_user_view
from rtcconsole_server.errors import FieldViolation, InvalidArgument
from rtcconsole_server.store import Store

__all__ = ["SIDES", "CallQuality"]

SIDES = ("receiver", "sender")
"""The sides of a user view (R19), in the order a response shows both."""


class CallQuality:
    """GetQualitySeries, GetUserView and ListClientEvents for the caller's calls."""

    def __init__(self, store: Store, clock: Clock, *, tokens: PageTokens | None = None) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens or PageTokens.ephemeral()

    def series(
        self,
        caller: Caller,
        *,
        call_id: str,
        user_id: str,
        peer_id: str = "",
        media: int,
        metrics: Sequence[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        max_points: int = 0,
    ) -> SeriesResult:
        """The full link (R20) of the stream ``user_id`` reported about ``peer_id`` (empty: its own
        upstream) for ``media`` (a MediaKind number); ``metrics`` by ``SERIES_METRICS`` name
        (empty: every one that applies); ``max_points`` 0 means 1,000."""
        problems = check_user(user_id, peer_id)
        found, specs = check_series_request(
            peer_id=peer_id, media=media, metrics=metrics, max_points=max_points
        )
        if problems or found:
            raise InvalidArgument(problems + found)
        now = self._clock.now()
        with self._store.read() as session:
            scope = resolve_scope(session, caller, call_id=call_id, start=start, end=end, now=now)
            return read_series(
                session,
                scope,
                user_id=user_id,
                peer_id=peer_id,
                media=media,
                specs=specs,
                max_points=max_points,
            )

    def user_view(
        self,
        caller: Caller,
        *,
        call_id: str,
        user_id: str,
        sides: Sequence[str] = SIDES,
        start: datetime | None = None,
        end: datetime | None = None,
        max_points: int = 0,
    ) -> UserViews:
        """The receiver and/or sender view (R19) of ``user_id``; ``max_points`` per overview
        series, 0 meaning 120, at most 1,000."""
        problems = check_user(user_id)
        if not 0 <= max_points <= MAX_OVERVIEW_POINTS:
            problems.append(FieldViolation("max_points", f"must be 0 (meaning 120) to {MAX_OVERVIEW_POINTS}"))
        if not sides or any(side not in SIDES for side in sides):
            problems.append(FieldViolation("side", "must be RECEIVER, SENDER or unspecified (both)"))
        if problems:
            raise InvalidArgument(problems)
        now = self._clock.now()
        with self._store.read() as session:
            scope = resolve_scope(session, caller, call_id=call_id, start=start, end=end, now=now)
            return read_user_view(session, scope, user_id=user_id, sides=sides, max_points=max_points)

    def client_events(
        self,
        caller: Caller,
        *,
        call_id: str,
        user_id: str,
        peer_id: str = "",
        abnormal_only: bool = False,
        start: datetime | None = None,
        end: datetime | None = None,
        page_size_requested: int = 0,
        page_token: str = "",
    ) -> ClientEventList:
        """A page of ``user_id``'s client events (R20) in the call, oldest first; 100 by default,
        at most 1,000 a page."""
        problems = check_user(user_id, peer_id)
        if problems:
            raise InvalidArgument(problems)
        size = page_size(page_size_requested, default=DEFAULT_EVENTS, maximum=MAX_EVENTS)
        now = self._clock.now()
        with self._store.read() as session:
            scope = resolve_scope(session, caller, call_id=call_id, start=start, end=end, now=now)
            return list_client_events(
                session,
                scope,
                self._tokens,
                user_id=user_id,
                peer_id=peer_id,
                abnormal_only=abnormal_only,
                size=size,
                page_token=page_token,
            )
