"""``GetQualitySeries`` (5 h, one pair) in ``bench/bench_monitor.py``, and its bare SQL (issue 12).

The simulated 14 days have short calls (1-5 minutes), and ``GetQualitySeries`` reads inside one
call, so a 5-hour read needs a call of its own: :func:`long_call` is one room
(:data:`LONG_ROOM`) where a sender and a receiver have been in since 5 h 2 min before it is
loaded (after the 14 days) and still are (an ongoing call), with one upstream video sample of the
sender and one downstream video sample of the receiver from it every 2 s (9,060 each), loaded into
the same app through the same IngestService.

:class:`SeriesQuery` is the statement the store runs on ``quality_samples`` for that read
(``domain/monitor/_series_query.py``: every metric's steps of the receiver's downstream from the
sender, 18-s steps for 1,000 points), captured at the DB-API level as SQLAlchemy sends it while
the domain's own ``resolve_scope`` + ``read_series`` run in the bench process, then replayed on a
plain ``sqlite3`` / ``psycopg`` connection. ``statements`` counts every statement of the read
(the app, the call: ``find_call`` over the room's events, then the samples), of which only the
samples' is the baseline.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from bench.monitor_timing import BareStatement
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import quality_pb2 as quality
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.monitor._series_range import resolve_scope
from rtcconsole_server.domain.monitor._series_read import check_series_request, read_series
from rtcconsole_server.store import open_store
from rtcconsole_server.store.models import App

__all__ = ["LONG_ROOM", "RANGE", "RECEIVER", "SENDER", "SeriesQuery", "long_call"]

LONG_ROOM = "bench-long-call"
SENDER, RECEIVER = "long-sender", "long-receiver"
RANGE = timedelta(hours=5)
"""The read: the last 5 hours (R18's longest range) of the receiver's video from the sender."""
_LEAD = timedelta(minutes=2)
_TICK = timedelta(seconds=2)


def _event(app: int, user: str, at: datetime) -> pb.RoomEvent:
    event = pb.RoomEvent(
        event_id=f"long-{user}", sdk_app_id=app, str_room_id=LONG_ROOM, user_id=user, role=pb.ROLE_ANCHOR
    )
    event.type = pb.EVENT_TYPE_USER_ENTERED
    event.event_time.FromDatetime(at)
    return event


def _sample(app: int, n: int, at: datetime, *, downstream: bool) -> quality.QualitySample:
    wobble = (n * 7919) % 23  # deterministic variation, a congested minute every 20
    congested = (n // 30) % 20 == 7
    sample = quality.QualitySample(
        sdk_app_id=app,
        str_room_id=LONG_ROOM,
        user_id=RECEIVER if downstream else SENDER,
        peer_id=SENDER if downstream else "",
        media=quality.MEDIA_KIND_VIDEO,
        packet_loss_percent=(12.0 if congested else 0.5) + wobble / 23,
        bitrate_kbps=(300 if congested else 1200) + 10 * wobble,
        width=1280,
        height=720,
        rtt_ms=40 + wobble,
        app_cpu_percent=20.0 + wobble,
        system_cpu_percent=45.0 + wobble,
        sdk_task_time_ms=8 + wobble,
    )
    if downstream:
        sample.decode_fps, sample.render_fps = (8, 7) if congested else (24, 24)
        sample.stall_ms = 900 if congested and wobble > 11 else 0
    else:
        sample.capture_fps, sample.encode_fps = 25, 24
    sample.sample_time.FromDatetime(at)
    sample.interval.FromMilliseconds(2000)
    return sample


def long_call(app: int, end: datetime) -> tuple[list[pb.RoomEvent], Iterator[list[quality.QualitySample]]]:
    """The long call's two entries and its samples up to ``end``, in batches of 1,000."""
    start = end - RANGE - _LEAD
    events = [_event(app, SENDER, start), _event(app, RECEIVER, start)]

    def batches() -> Iterator[list[quality.QualitySample]]:
        batch: list[quality.QualitySample] = []
        for n in range(int((end - start) / _TICK)):
            at = start + (n + 1) * _TICK
            batch += [_sample(app, n, at, downstream=False), _sample(app, n, at, downstream=True)]
            if len(batch) >= 1000:
                yield batch
                batch = []
        if batch:
            yield batch

    return events, batches()


class SeriesQuery(BareStatement):
    """The samples statement of one ``GetQualitySeries`` read, as the store sends it, replayed bare."""

    def __init__(self, url: str, *, sdk_app_id: int, call_id: str, start: datetime, end: datetime) -> None:
        store = open_store(url, statement_timeout=timedelta(minutes=5))
        captured: list[tuple[str, Any]] = []

        def capture(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            captured.append((statement, parameters))

        _, specs = check_series_request(
            peer_id=SENDER, media=quality.MEDIA_KIND_VIDEO, metrics=(), max_points=0
        )
        try:
            with store.read() as session:
                account = session.scalar(select(App.account_id).where(App.sdk_app_id == sdk_app_id))
                assert account is not None
                event.listen(store.engine, "before_cursor_execute", capture)
                scope = resolve_scope(
                    session, Caller(account, ""), call_id=call_id, start=start, end=end, now=end
                )
                found = read_series(
                    session,
                    scope,
                    user_id=RECEIVER,
                    peer_id=SENDER,
                    media=quality.MEDIA_KIND_VIDEO,
                    specs=specs,
                    max_points=0,
                )
        finally:
            event.remove(store.engine, "before_cursor_execute", capture)
            store.dispose()
        self.statements = len(captured)
        (sql, parameters), *_ = [c for c in captured if "quality_samples" in c[0]]
        self.points = max(len(s.steps) for s in found.series)
        self.metrics = len(found.series)
        self.step = found.step
        self.replay(url, sql, parameters)
