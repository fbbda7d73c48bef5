"""Receiving rtc-console's event callbacks (R15): check the signature, then parse the body.

rtc-console POSTs each room or media event as JSON in the public TRTC callback shape
(``EventGroupId``, ``EventType``, ``CallbackTs``, ``EventInfo``) plus four fields TRTC
lacks: ``EventId`` (unique per app; a redelivery repeats it), ``RoomSeq`` (1, 2, 3 per
app, room and event group), ``EventTime`` and ``SendTime`` (RFC 3339, UTC, milliseconds).
The ``Sign`` header is ``base64(HMAC-SHA256(callback key, raw body bytes))``; it is absent
when the app has no callback key. See ``docs/callbacks.md``.

Example::

    from rtcconsole.callbacks import parse_event, verify_signature

    body = raw_request_body  # the bytes as received: never re-serialise the JSON
    if not verify_signature(CALLBACK_KEY, body, headers.get("Sign", "")):
        return 401
    event = parse_event(body)
    print(event.event_id, event.room_seq, event.event_type, event.room_id, event.user_id)

Pure standard library: usable in any receiver without gRPC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EVENT_GROUP_MEDIA",
    "EVENT_GROUP_ROOM",
    "EVENT_TYPES",
    "ROLE_ANCHOR",
    "ROLE_AUDIENCE",
    "CallbackEvent",
    "CallbackFormatError",
    "parse_event",
    "sign",
    "verify_signature",
]

EVENT_GROUP_ROOM = 1
"""``EventGroupId`` of room events (101-105), sent to the room-event URL."""
EVENT_GROUP_MEDIA = 2
"""``EventGroupId`` of media events (201-206), sent to the media-event URL."""

EVENT_TYPES: dict[int, str] = {
    101: "room_created",
    102: "room_dismissed",
    103: "user_entered",
    104: "user_exited",
    105: "role_switched",
    201: "video_started",
    202: "video_stopped",
    203: "audio_started",
    204: "audio_stopped",
    205: "substream_started",
    206: "substream_stopped",
}
"""``EventType`` → a name, as TRTC numbers them."""

ROLE_ANCHOR = 20
"""``EventInfo.Role`` of an anchor (sends and receives), as in TRTC."""
ROLE_AUDIENCE = 21
"""``EventInfo.Role`` of an audience member (receives only), as in TRTC."""


class CallbackFormatError(ValueError):
    """The body is not a callback of the documented shape (names what is wrong)."""


def sign(key: str, body: bytes) -> str:
    """The ``Sign`` header for ``body``: base64 of HMAC-SHA256 keyed with the callback key (UTF-8)."""
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(key: str, body: bytes, sign_header: str) -> bool:
    """Whether ``sign_header`` is the signature of exactly these ``body`` bytes under ``key``.

    Constant-time in the header's content. An empty header never verifies (a receiver
    that has set a key must refuse unsigned requests).
    """
    if not sign_header:
        return False
    expected = sign(key, body).encode("ascii")
    return hmac.compare_digest(expected, sign_header.strip().encode("utf-8", "replace"))


@dataclass(frozen=True)
class CallbackEvent:
    """One callback body, typed. Times are timezone-aware UTC."""

    event_group: int
    """``EventGroupId``: 1 room events, 2 media events."""
    event_type: int
    """``EventType``: 101-105 or 201-206 (see :data:`EVENT_TYPES`)."""
    event_id: str
    """``EventId``: the data plane's id of the event; equal on a redelivery. "" if absent."""
    room_seq: int
    """``RoomSeq``: 1, 2, 3 per (app, room, event group) in the order events were reported;
    0 for a test callback or if absent."""
    event_time: datetime
    """``EventTime`` (else ``EventInfo.EventMsTs``): when it happened."""
    send_time: datetime
    """``SendTime`` (else ``CallbackTs``): when this attempt was sent."""
    callback_ms: int
    """``CallbackTs``: send time in milliseconds since the Unix epoch."""
    room_id: int | str
    """``EventInfo.RoomId``: an int for numeric rooms, a str for string rooms."""
    user_id: str
    """``EventInfo.UserId``; "" for room created / dismissed when no user is known."""
    event_ts: int
    """``EventInfo.EventTs``: event time in seconds since the Unix epoch."""
    event_ms: int
    """``EventInfo.EventMsTs``: event time in milliseconds since the Unix epoch."""
    role: int | None
    """``EventInfo.Role`` (20 anchor, 21 audience) on user entered / role switched, else None."""
    reason: int | None
    """``EventInfo.Reason`` as the media server reported it (0 normal), None if absent."""
    test: bool = False
    """True for a test callback sent from the console (``SendTestCallback``)."""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The whole decoded body, for fields not listed here."""

    @property
    def type_name(self) -> str:
        """``"user_entered"`` and so on; ``"unknown"`` for a type this library does not know."""
        return EVENT_TYPES.get(self.event_type, "unknown")


def _int(data: dict[str, Any], name: str, *, default: int | None = None) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CallbackFormatError(f"{name} must be an integer, got {value!r}")
    return value


def _time(text: object, name: str, fallback_ms: int) -> datetime:
    if text is None:
        return datetime.fromtimestamp(fallback_ms / 1000, UTC)
    if not isinstance(text, str):
        raise CallbackFormatError(f"{name} must be an RFC 3339 string")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CallbackFormatError(f"{name} is not RFC 3339: {text!r}") from exc
    if value.tzinfo is None:
        raise CallbackFormatError(f"{name} has no time zone: {text!r}")
    return value.astimezone(UTC)


def parse_event(body: bytes) -> CallbackEvent:
    """Decode a callback body. Raises :class:`CallbackFormatError` when it is not one.

    Check the signature on the same bytes first (:func:`verify_signature`). Plain TRTC
    bodies (without EventId, RoomSeq, EventTime, SendTime) parse too.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CallbackFormatError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CallbackFormatError("the body must be a JSON object")
    info = data.get("EventInfo")
    if not isinstance(info, dict):
        raise CallbackFormatError("EventInfo must be an object")
    room = info.get("RoomId")
    if isinstance(room, bool) or not isinstance(room, int | str):
        raise CallbackFormatError(f"EventInfo.RoomId must be a number or a string, got {room!r}")
    callback_ms = _int(data, "CallbackTs")
    event_ms = _int(info, "EventMsTs", default=_int(info, "EventTs", default=0) * 1000)
    role = info.get("Role")
    reason = info.get("Reason")
    user = info.get("UserId", "")
    event_id = data.get("EventId", "")
    if not isinstance(user, str) or not isinstance(event_id, str):
        raise CallbackFormatError("EventInfo.UserId and EventId must be strings")
    return CallbackEvent(
        event_group=_int(data, "EventGroupId"),
        event_type=_int(data, "EventType"),
        event_id=event_id,
        room_seq=_int(data, "RoomSeq", default=0),
        event_time=_time(data.get("EventTime"), "EventTime", event_ms),
        send_time=_time(data.get("SendTime"), "SendTime", callback_ms),
        callback_ms=callback_ms,
        room_id=room,
        user_id=user,
        event_ts=_int(info, "EventTs", default=event_ms // 1000),
        event_ms=event_ms,
        role=None if role is None else _int(info, "Role"),
        reason=None if reason is None else _int(info, "Reason"),
        test=data.get("Test") is True,
        raw=data,
    )
