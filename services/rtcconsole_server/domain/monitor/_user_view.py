"""GetUserView (R19): one user's receiver view and sender view of a call.

- The **receiver view** shows what the user received: its downstream reports about each peer
  it played (samples it reported with ``peer_id`` set), one stream per (peer, media kind).
- The **sender view** shows what the user sent: its own upstream reports (the stream with
  an empty peer) and, per peer, what each receiver reported receiving from the user.

Each view has the sub-views all / video / audio / screen share that have data: a kind
without samples has no sub-view (R19), and a view without any data none at all. Each stream
carries an overview, :data:`OVERVIEW` downsampled to the view's step, and its moments of
network jitter (``_series.jitter_moments``, decision 0022).

The peers are the users who entered the call (its room events), read first so that every
sample read is an ``IN`` list on the leading columns of the samples' key; at most
:data:`MAX_PEERS` peers with data are shown per view, the first by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import BigInteger, String, bindparam, text
from sqlalchemy.orm import Session

from rtcconsole_server.domain.monitor._samples import AUDIO, SCREEN_SHARE, VIDEO
from rtcconsole_server.domain.monitor._series import (
    SERIES_METRICS,
    Series,
    applies,
    build_series,
    jitter_moments,
    step_for,
)
from rtcconsole_server.domain.monitor._series_query import StepRow, query_steps
from rtcconsole_server.domain.monitor._series_range import CallScope
from rtcconsole_server.store.types import UTCDateTime

__all__ = [
    "DEFAULT_OVERVIEW_POINTS",
    "MAX_OVERVIEW_POINTS",
    "MAX_PEERS",
    "OVERVIEW",
    "StreamView",
    "SubView",
    "UserView",
    "UserViews",
    "read_user_view",
]

OVERVIEW = ("packet_loss", "bitrate", "stall_time")
"""The metrics of a stream's overview (stall time on the downstream only)."""
DEFAULT_OVERVIEW_POINTS = 120
MAX_OVERVIEW_POINTS = 1000
MAX_PEERS = 50
"""Peers shown per view (the first by id)."""
_MAX_CALL_USERS = 1000
_MEDIA = (VIDEO, AUDIO, SCREEN_SHARE)
_SPECS = tuple(s for s in SERIES_METRICS if s.name in OVERVIEW)


@dataclass(frozen=True)
class StreamView:
    peer_id: str
    """Empty: the user's own upstream (sender view)."""
    media: int
    series: tuple[Series, ...]
    jitter: tuple[tuple[Series, int], ...]
    """Each moment: the series it is on and the index of its point, in time order."""


@dataclass(frozen=True)
class SubView:
    kind: str
    """``all``, ``video``, ``audio`` or ``screen_share``."""
    peer_ids: tuple[str, ...]
    jitter_moments: int


@dataclass(frozen=True)
class UserView:
    side: str
    """``receiver`` or ``sender``."""
    sub_views: tuple[SubView, ...]
    streams: tuple[StreamView, ...]
    peers_truncated: bool


@dataclass(frozen=True)
class UserViews:
    scope: CallScope
    user_id: str
    step: timedelta
    views: tuple[UserView, ...]


def _call_users(session: Session, scope: CallScope, user_id: str) -> list[str]:
    """The other users who entered the call, by id."""
    statement = text(
        "SELECT DISTINCT user_id FROM room_events WHERE sdk_app_id = :app AND room_key = :room "
        "AND event_type = 103 AND event_time >= :start AND event_time <= :end AND user_id <> :user "
        "ORDER BY user_id LIMIT :limit"
    ).bindparams(
        bindparam("app", type_=BigInteger()),
        bindparam("room", type_=String()),
        bindparam("start", type_=UTCDateTime()),
        bindparam("end", type_=UTCDateTime()),
        bindparam("user", type_=String()),
    )
    params = {
        "app": scope.sdk_app_id,
        "room": scope.room_key,
        "start": scope.call.start,
        "end": scope.call.end or scope.as_of,
        "user": user_id,
        "limit": _MAX_CALL_USERS,
    }
    return [str(row[0]) for row in session.execute(statement, params)]


def _streams(rows: Sequence[StepRow], *, user_id: str, scope: CallScope, step: timedelta) -> list[StreamView]:
    grouped: dict[tuple[str, int, bool], list[StepRow]] = {}
    for row in rows:
        downstream = row.peer_id != ""
        peer = row.peer_id if row.user_id == user_id else row.user_id
        grouped.setdefault((peer, row.media, downstream), []).append(row)
    streams = []
    for (peer, media, downstream), group in sorted(grouped.items(), key=lambda g: (g[0][1], g[0][0])):
        series: dict[str, Series] = {}
        for spec in _SPECS:
            if not applies(spec, downstream=downstream, media=media):
                continue
            steps = {
                r.step: (r.values[spec.column], r.counts[spec.column])
                for r in group
                if spec.column in r.values
            }
            series[spec.name], _ = build_series(spec, steps, media=media, start=scope.start, step=step)
        moments = jitter_moments(series.get("packet_loss"), series.get("bitrate"), step)
        jitter = tuple((series[m], series[m].points.index(p)) for p, m in moments)
        streams.append(StreamView(peer, media, tuple(series.values()), jitter))
    return streams


def _view(side: str, streams: list[StreamView]) -> UserView:
    peers = sorted({s.peer_id for s in streams if s.peer_id})
    kept = set(peers[:MAX_PEERS])
    shown = [s for s in streams if not s.peer_id or s.peer_id in kept]
    sub_views = []
    for kind, media in (("all", None), ("video", VIDEO), ("audio", AUDIO), ("screen_share", SCREEN_SHARE)):
        of_kind = [s for s in shown if media is None or s.media == media]
        if of_kind:
            ids = tuple(sorted({s.peer_id for s in of_kind}))
            sub_views.append(SubView(kind, ids, sum(len(s.jitter) for s in of_kind)))
    return UserView(side, tuple(sub_views), tuple(shown), len(peers) > MAX_PEERS)


def read_user_view(
    session: Session, scope: CallScope, *, user_id: str, sides: Sequence[str], max_points: int
) -> UserViews:
    """The views ``sides`` (``receiver``, ``sender``) of ``user_id`` over the scope's range."""
    step = step_for(scope.end - scope.start, max_points or DEFAULT_OVERVIEW_POINTS)
    others = _call_users(session, scope, user_id)
    columns = {spec.column: spec.aggregate for spec in _SPECS}

    def read(users: Sequence[str], peers: Sequence[str]) -> list[StepRow]:
        return query_steps(
            session,
            sdk_app_id=scope.sdk_app_id,
            room_key=scope.room_key,
            users=users,
            peers=peers,
            media=_MEDIA,
            start=scope.start,
            end=scope.end,
            step=step,
            columns=columns,
        )

    views = []
    for side in sides:
        rows = (
            read([user_id], others) if side == "receiver" else read([user_id], [""]) + read(others, [user_id])
        )
        views.append(_view(side, _streams(rows, user_id=user_id, scope=scope, step=step)))
    return UserViews(scope, user_id, step, tuple(views))
