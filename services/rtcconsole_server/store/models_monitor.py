"""Tables of monitoring (R17-R21): quality samples and client events from the data plane.

``quality_samples`` is the largest table the store holds (a user with three media kinds
reports a sample per kind every 2 s), so it is built for size: one row per sample, keyed
by its natural key (no surrogate id, no digest, no second index; on SQLite ``WITHOUT
ROWID``, so the rows are the key's B-tree), the metrics as typed columns as small as their
bounds allow, NULL where a metric was not measured (a NULL costs one bit of the row's null
bitmap on PostgreSQL; ``REAL`` is 4 bytes there and holds a proto ``float`` exactly). The
key is also the index of the full-link queries: one pair (app, room, user, peer, media)
over a time range is one range scan.

On PostgreSQL both tables are partitioned by UTC day on their time column (migration
0009, ``store.partitions``, decision 0024), so retention drops whole days; a unique key
of a partitioned table must hold the partition key, so the sample's key includes
``sample_time`` and the client event's key is (app, event id, ``event_time``): the ingest
keeps (app, event id) unique itself (``domain.monitor._engine``). SQLite has the same
keys on plain tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import REAL, BigInteger, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rtcconsole_server.store.models import Base
from rtcconsole_server.store.types import UTCDateTime

__all__ = ["ClientEvent", "QualitySample"]


class QualitySample(Base):
    """One reporter's measurements of one stream over one interval (R20), once per key."""

    __tablename__ = "quality_samples"
    __table_args__ = ({"sqlite_with_rowid": False, "postgresql_partition_by": "RANGE (sample_time)"},)

    sdk_app_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    room_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    """``n:<number>`` or ``s:<string>``, as ``room_events.room_key``."""
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    """The reporter."""
    peer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    """Empty: the reporter's upstream (sender side); else the peer whose stream it received."""
    media: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    """The MediaKind number: 1 video, 2 audio, 3 screen share."""
    sample_time: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    """The end of the interval."""
    interval_ms: Mapped[int] = mapped_column(Integer)
    """1,000-60,000."""
    packet_loss_percent: Mapped[float | None] = mapped_column(REAL)
    bitrate_kbps: Mapped[int | None] = mapped_column(Integer)
    capture_fps: Mapped[int | None] = mapped_column(SmallInteger)
    encode_fps: Mapped[int | None] = mapped_column(SmallInteger)
    decode_fps: Mapped[int | None] = mapped_column(SmallInteger)
    render_fps: Mapped[int | None] = mapped_column(SmallInteger)
    width: Mapped[int | None] = mapped_column(SmallInteger)
    height: Mapped[int | None] = mapped_column(SmallInteger)
    rtt_ms: Mapped[int | None] = mapped_column(Integer)
    stall_ms: Mapped[int | None] = mapped_column(Integer)
    app_cpu_percent: Mapped[float | None] = mapped_column(REAL)
    system_cpu_percent: Mapped[float | None] = mapped_column(REAL)
    sdk_task_time_ms: Mapped[int | None] = mapped_column(Integer)
    volume_db: Mapped[int | None] = mapped_column(SmallInteger)


class ClientEvent(Base):
    """A client event (R20) or abnormal event (R21), once per (app, event id): the ingest looks the
    id up in every day before it inserts (the key adds ``event_time`` for the partitions)."""

    __tablename__ = "client_events"
    __table_args__ = (
        Index("ix_client_events_user", "sdk_app_id", "room_key", "user_id", "event_time"),
        {"postgresql_partition_by": "RANGE (event_time)"},
    )

    sdk_app_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    room_key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[str] = mapped_column(String(128))
    peer_id: Mapped[str] = mapped_column(String(128))
    """Empty unless the event concerns a remote user (play, mute, receiver abnormal events)."""
    event_type: Mapped[int] = mapped_column(SmallInteger)
    """The ClientEventType number: 1-14 client events, 101-105 abnormal events."""
    media: Mapped[int] = mapped_column(SmallInteger)
    """The MediaKind number, 0 when the event concerns no one stream."""
    event_time: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    """The partition key on PostgreSQL, so part of the primary key."""
    parameters: Mapped[str] = mapped_column(Text)
    """The parameters as a JSON object with sorted keys (``{}`` when none)."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
