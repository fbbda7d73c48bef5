"""Tables of room control (R7): the console's dismissals and removals, and their progress.

``room_commands`` holds one row per DismissRoom / RemoveUsers; it is the truth that every
replica's WatchRoomCommands reads, so a command survives a restart and reaches a watcher on
any replica. ``state`` is what was stored (``pending``, ``delivered``, ``acknowledged``);
*expired* is not stored but judged at read time from ``expires_at`` (domain.monitor,
``_room_commands``). ``room_command_users`` lists the users of a removal with the time each
one's USER_EXITED arrived: the removal's partial progress.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rtcconsole_server.store.models import Base
from rtcconsole_server.store.types import UTCDateTime

__all__ = ["RoomCommand", "RoomCommandUser"]


class RoomCommand(Base):
    """A dismissal or removal the console asked for, once per (app, request id) when one is given."""

    __tablename__ = "room_commands"
    __table_args__ = (
        UniqueConstraint("sdk_app_id", "request_id"),  # NULL request ids never collide
        Index("ix_room_commands_app", "sdk_app_id", "created_at", "id"),
        Index("ix_room_commands_open", "state", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    """``rc_`` and 24 hex digits, shown to callers and media servers."""
    sdk_app_id: Mapped[int] = mapped_column(BigInteger)
    room_key: Mapped[str] = mapped_column(String(80))
    """``n:<number>`` or ``s:<string>``, as ``room_events.room_key``."""
    kind: Mapped[str] = mapped_column(String(16))
    """``dismiss`` or ``remove``."""
    state: Mapped[str] = mapped_column(String(16))
    """``pending``, ``delivered`` or ``acknowledged``."""
    account_id: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(32))
    """The API key of the call that created it: who asked."""
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_to: Mapped[str] = mapped_column(String(128), default="")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RoomCommandUser(Base):
    """One user of a removal and when that user's USER_EXITED with the command's id arrived."""

    __tablename__ = "room_command_users"

    command_id: Mapped[str] = mapped_column(ForeignKey("room_commands.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    """Order in the request's ``user_ids``."""
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
