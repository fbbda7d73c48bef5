"""Tables of usage metering (R16) and packages (R6).

Raw records are kept once per (app, record id); every 5-minute window that
received records has a row in ``usage_windows`` whose ``version`` goes up with
each batch, so the aggregator knows what to recompute; ``usage_lines`` hold the
recomputed totals per (app, window, kind, category) with a revision, and
``usage_days`` the same totals per UTC day (kept equal to the sum of the day's
lines by the aggregator, in the transaction that changes the lines).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from rtcconsole_server.store.models import Base
from rtcconsole_server.store.types import BigIntPK, UTCDateTime

__all__ = ["Package", "UsageDay", "UsageLine", "UsageProgress", "UsageRecord", "UsageWindow"]

_DUE = "rolled_version < version"


class UsageRecord(Base):
    """Second-level usage from the data plane, exactly once per (app, record id)."""

    __tablename__ = "usage_records"
    __table_args__ = (
        UniqueConstraint("sdk_app_id", "record_id"),
        Index("ix_usage_records_window", "window_start", "sdk_app_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sdk_app_id: Mapped[int] = mapped_column(BigInteger)
    record_id: Mapped[str] = mapped_column(String(128))
    room_key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[int] = mapped_column(Integer)
    """1 interactive audio/video, 2 cloud recording (the UsageKind numbers)."""
    category: Mapped[str] = mapped_column(String(8))
    """One of rtcconsole.usage.CATEGORIES."""
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    """The UTC 5-minute window containing ``start_time``: the whole record counts there."""
    payload_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsageWindow(Base):
    """A 5-minute window of one app that has records: what changed and what was rolled up."""

    __tablename__ = "usage_windows"
    __table_args__ = (
        Index(
            "ix_usage_windows_due",
            "window_start",
            "sdk_app_id",
            postgresql_where=text(_DUE),
            sqlite_where=text(_DUE),
        ),
        Index("ix_usage_windows_claim_token", "claim_token"),
    )

    sdk_app_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    """Goes up by one with every committed batch that adds records to the window."""
    rolled_version: Mapped[int] = mapped_column(BigInteger, default=0)
    """The ``version`` the current lines were computed from; < version means due again."""
    revision: Mapped[int] = mapped_column(Integer, default=0)
    """How many times lines were published for the window (1 = once, never corrected)."""
    first_record_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[int | None] = mapped_column(BigInteger)
    """Random id of the roll-up transaction that last published the window (joins its batch)."""


class UsageLine(Base):
    """Total seconds of one (app, window, kind, category), recomputed from the raw records."""

    __tablename__ = "usage_lines"
    __table_args__ = (Index("ix_usage_lines_account", "account_id", "kind", "window_start"),)

    sdk_app_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    kind: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(8), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    seconds: Mapped[int] = mapped_column(BigInteger)
    revision: Mapped[int] = mapped_column(Integer)


class UsageDay(Base):
    """Total seconds of one (app, UTC day, kind, category): the sum of that day's lines."""

    __tablename__ = "usage_days"
    __table_args__ = (Index("ix_usage_days_account", "account_id", "kind", "day"),)

    sdk_app_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    """Midnight UTC starting the day."""
    kind: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(8), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    seconds: Mapped[int] = mapped_column(BigInteger)
    revision: Mapped[int] = mapped_column(Integer)
    """Highest revision of the day's lines."""


class UsageProgress(Base):
    """How far the published usage reaches (one row, ``id`` 1): ``GetUsage.data_through``."""

    __tablename__ = "usage_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data_through: Mapped[datetime] = mapped_column(UTCDateTime)
    """Every window ending at or before this instant has been published at least once."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Package(Base):
    """Minutes an account may use between ``valid_from`` and ``valid_to`` (R6)."""

    __tablename__ = "packages"
    __table_args__ = (Index("ix_packages_account", "account_id", "valid_to"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    minutes: Mapped[int] = mapped_column(BigInteger)
    """Equivalent minutes (audio minutes; video counts at its tier's ratio)."""
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime] = mapped_column(UTCDateTime)
    """Exclusive."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
