"""Tables of the store, as typed SQLAlchemy models.

Naming: one table per noun, plural; instants are ``*_at`` UTC columns; an app's
row is never removed (``deleted_at`` marks it) so that its SDKAppID is never
reused (R3).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false

from rtcconsole_server.store.types import BigIntPK, UTCDateTime

__all__ = [
    "FIRST_SDK_APP_ID",
    "Account",
    "ApiKey",
    "App",
    "AppSetting",
    "AppTag",
    "Base",
    "CallbackAttempt",
    "CallbackDelivery",
    "Material",
    "Operation",
    "RoomEvent",
    "RoomEventHead",
    "RoomSequence",
    "SecondaryAuthToken",
    "ServerKey",
    "TagPair",
]

FIRST_SDK_APP_ID = 1_400_000_001
"""SDKAppIDs count up from here; they fit the u32 of the PrivateMapKey format."""

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Account(Base):
    """A tenant. Billing fields drive R6; the TOTP seed drives R7's secondary authentication."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    postpaid: Mapped[bool] = mapped_column(Boolean, default=False)
    arrears: Mapped[bool] = mapped_column(Boolean, default=False)
    package_state: Mapped[str] = mapped_column(String(16), default="ok")
    css_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    vod_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    """An enrolled authenticator not yet confirmed by a code; it replaces nothing until then."""
    totp_failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """Wrong codes since the last success or lockout."""
    totp_lockouts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """Lockouts so far (each one longer); reset by the operator (``admin account totp-reset``)."""
    totp_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    """IANA name; its midnight starts the call list's "today" (R17)."""
    edition: Mapped[str] = mapped_column(String(16), default="free", server_default="free")
    """The dashboard edition (R21): ``free``, ``basic`` or ``advanced``; set by the operator."""


class ApiKey(Base):
    """An API key: the public ``key_id`` and the SHA-256 of the secret part."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServerKey(Base):
    """A secret of the deployment, shared by every replica through the store (e.g. the key
    that authenticates page tokens). Created with a random value by migration 0005."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SecondaryAuthToken(Base):
    """A secondary-authentication token (R7), stored as the SHA-256 of the token."""

    __tablename__ = "secondary_auth_tokens"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class App(Base):
    """An application. ``lifecycle`` is what is in effect; ``pending_transition`` what is coming (R7)."""

    __tablename__ = "apps"
    __table_args__ = (
        UniqueConstraint("account_id", "request_id"),
        Index("ix_apps_account_live", "account_id", "deleted_at", "sdk_app_id"),
        {"sqlite_autoincrement": True},
    )

    sdk_app_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(String(15))
    description: Mapped[str] = mapped_column(String(15), default="")
    source: Mapped[str] = mapped_column(String(32), default="")
    secret_key: Mapped[str] = mapped_column(String(64))
    lifecycle: Mapped[str] = mapped_column(String(16), default="active")
    pending_transition: Mapped[str | None] = mapped_column(String(16))
    pending_operation_id: Mapped[int | None] = mapped_column(BigInteger)
    request_id: Mapped[str | None] = mapped_column(String(64))
    push_domain: Mapped[str] = mapped_column(String(255), default="")
    relayed_push_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Operation(Base):
    """A disable, enable or delete accepted now and applied at ``effective_at`` (R7)."""

    __tablename__ = "operations"
    __table_args__ = (
        Index("ix_operations_due", "state", "effective_at"),
        Index("ix_operations_account", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    sdk_app_id: Mapped[int] = mapped_column(ForeignKey("apps.sdk_app_id"))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_message: Mapped[str] = mapped_column(String(255), default="")


class TagPair(Base):
    """A (key, value) pair of an account's tag catalog (R8)."""

    __tablename__ = "tags"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(127), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AppTag(Base):
    """A catalog pair attached to an app; the catalog pair cannot go while attached."""

    __tablename__ = "app_tags"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "key", "value"], ["tags.account_id", "tags.key", "tags.value"], ondelete="RESTRICT"
        ),
        Index("ix_app_tags_pair", "account_id", "key", "value"),
    )

    sdk_app_id: Mapped[int] = mapped_column(ForeignKey("apps.sdk_app_id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(127), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer)


class Material(Base):
    """A background image of an app for cloud mix transcoding (R9)."""

    __tablename__ = "materials"
    __table_args__ = (Index("ix_materials_app", "sdk_app_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sdk_app_id: Mapped[int] = mapped_column(ForeignKey("apps.sdk_app_id"))
    name: Mapped[str] = mapped_column(String(64), default="")
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    x_position: Mapped[int] = mapped_column(Integer, default=0)
    y_position: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AppSetting(Base):
    """One section of an app's settings (R11-R15), as JSON: what is in effect and, for the
    function settings (R12-R14), what waits to take effect at ``pending_effective_at``; the
    callback section (R15) takes effect at once and has no pending value (decision 0017)."""

    __tablename__ = "app_settings"
    __table_args__ = (Index("ix_app_settings_due", "pending_effective_at"),)

    sdk_app_id: Mapped[int] = mapped_column(ForeignKey("apps.sdk_app_id"), primary_key=True)
    section: Mapped[str] = mapped_column(String(32), primary_key=True)
    effective: Mapped[str] = mapped_column(Text)
    pending: Mapped[str | None] = mapped_column(Text)
    pending_effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoomEvent(Base):
    """A room or media event reported by the data plane, once per (app, event id)."""

    __tablename__ = "room_events"
    __table_args__ = (
        UniqueConstraint("sdk_app_id", "event_id"),
        Index("ix_room_events_room", "sdk_app_id", "room_key", "event_time"),
        Index(  # a user's entries in a room: the 103 that a 104 closes (callbacks' UniqueId)
            "ix_room_events_entries",
            "sdk_app_id",
            "room_key",
            "user_id",
            "event_time",
            "id",
            postgresql_where=text("event_type = 103"),
            sqlite_where=text("event_type = 103"),
        ),
        Index(  # an app's room events by time: the call list derives calls from them (R17, 0020)
            "ix_room_events_calls",
            "sdk_app_id",
            "event_time",
            "room_key",
            "user_id",
            "event_type",
            "id",
            postgresql_where=text("event_type BETWEEN 101 AND 104"),
            sqlite_where=text("event_type BETWEEN 101 AND 104"),
        ),
        Index("ix_room_events_seq", "sdk_app_id", "seq", unique=True),  # SubscribeRoomEvents (0028)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sdk_app_id: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(128))
    room_key: Mapped[str] = mapped_column(String(80))
    """``n:<number>`` or ``s:<string>``: one column to group and index rooms of both kinds."""
    user_id: Mapped[str] = mapped_column(String(128), default="")
    event_type: Mapped[int] = mapped_column(Integer)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    role: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[int] = mapped_column(Integer, default=0)
    session: Mapped[str] = mapped_column(Text, default="{}")
    """The entry's session attributes as JSON (region, country, SDK, device, network...)."""
    payload_sha256: Mapped[str] = mapped_column(String(64))
    """Digest of the canonical event, to tell a retry from a conflicting reuse of the id."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The event's number in its app's sequence (``RoomEventHead``; decision 0028); the ingest
    always sets it, NULL only for rows written around it."""


class RoomEventHead(Base):
    """The last room-event sequence number handed out per app (decision 0028)."""

    __tablename__ = "room_event_heads"

    sdk_app_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_sequence: Mapped[int] = mapped_column(BigInteger)


class RoomSequence(Base):
    """The last callback sequence number handed out per (app, room, event group)."""

    __tablename__ = "room_sequences"

    sdk_app_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    room_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    event_group: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_sequence: Mapped[int] = mapped_column(BigInteger)


class CallbackDelivery(Base):
    """The outbox: one event to POST to one URL, written with the event in one transaction.

    Deliveries of one (app, room, group) go out strictly in ``room_sequence`` order; the
    partial index on pending rows finds a room's head (its lowest pending sequence) in one probe.
    """

    __tablename__ = "callback_deliveries"
    __table_args__ = (
        UniqueConstraint("sdk_app_id", "room_key", "event_group", "room_sequence"),
        Index("ix_callback_deliveries_due", "state", "next_attempt_at"),
        Index("ix_callback_deliveries_app", "sdk_app_id", "id"),
        Index(
            "ix_callback_deliveries_pending_room",
            "sdk_app_id",
            "room_key",
            "event_group",
            "room_sequence",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sdk_app_id: Mapped[int] = mapped_column(BigInteger)
    room_key: Mapped[str] = mapped_column(String(80))
    event_group: Mapped[int] = mapped_column(Integer)
    room_sequence: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2083))
    event_info: Mapped[str] = mapped_column(Text)
    """The ``EventInfo`` object of the body, as JSON; the envelope is added at send time."""
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallbackAttempt(Base):
    """One POST of a delivery and what came of it."""

    __tablename__ = "callback_attempts"
    __table_args__ = (Index("ix_callback_attempts_delivery", "delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("callback_deliveries.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(512), default="")
