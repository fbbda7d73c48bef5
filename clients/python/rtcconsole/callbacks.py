"""Receiving rtc-console's event callbacks (R15): check the signature, then parse the body.

rtc-console POSTs each room or media event as JSON in the public TRTC callback shape
(``EventGroupId``, ``EventType``, ``CallbackTs``, ``EventInfo``) plus four fields TRTC
lacks: ``EventId`` (unique per app; a redelivery repeats it), ``RoomSeq`` (1, 2, 3 per
app, room and event group), ``EventTime`` and ``SendTime`` (RFC 3339, UTC, milliseconds).
The ``Sign`` header is ``base64(HMAC-SHA256(callback key, raw body bytes))``; it is absent
when the app has no callback key. See ``docs/callbacks.md``.

User entered (103) and user exited (104) carry TRTC's session fields too: ``UniqueId``
(one entry/exit session of a user: a 104 repeats its 103's), ``TerminalType``
(:data:`TERMINAL_TYPES`) and ``UserType`` (:data:`USER_TYPES`); a 104 whose entry is not
known carries none of the three.

Example::

    from rtcconsole.callbacks import TERMINAL_TYPES, parse_event, verify_signature

    body = raw_request_body  # the bytes as received: never re-serialise the JSON
    if not verify_signature(CALLBACK_KEY, body, headers.get("Sign", "")):
        return 401
    event = parse_event(body)
    print(event.event_id, event.room_seq, event.event_type, event.room_id, event.user_id)
    if event.event_type in (103, 104):  # pair an exit with its entry
        print(event.unique_id, TERMINAL_TYPES.get(event.terminal_type or 0), event.user_type)

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
    "TERMINAL_TYPES",
    "TERMINAL_TYPE_ANDROID",
    "TERMINAL_TYPE_IOS",
    "TERMINAL_TYPE_LINUX",
    "TERMINAL_TYPE_OTHER",
    "TERMINAL_TYPE_WINDOWS",
    "USER_TYPES",
    "USER_TYPE_MINI_PROGRAM",
    "USER_TYPE_NATIVE_SDK",
    "USER_TYPE_UNKNOWN",
    "USER_TYPE_WEBRTC",
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

TERMINAL_TYPE_WINDOWS = 1
"""``EventInfo.TerminalType`` of a Windows client (TRTC's ``TERMINAL_TYPE_WINDOWS``)."""
TERMINAL_TYPE_ANDROID = 2
"""``EventInfo.TerminalType`` of an Android client."""
TERMINAL_TYPE_IOS = 3
"""``EventInfo.TerminalType`` of an iOS (or iPadOS) client."""
TERMINAL_TYPE_LINUX = 4
"""``EventInfo.TerminalType`` of a Linux client."""
TERMINAL_TYPE_OTHER = 100
"""``EventInfo.TerminalType`` of every other client (TRTC's ``TERMINAL_TYPE_OTHER``): macOS,
the web, cross-platform SDKs and mini programs whose OS the platform does not name, and
clients that reported no platform."""
TERMINAL_TYPES: dict[int, str] = {
    TERMINAL_TYPE_WINDOWS: "windows",
    TERMINAL_TYPE_ANDROID: "android",
    TERMINAL_TYPE_IOS: "ios",
    TERMINAL_TYPE_LINUX: "linux",
    TERMINAL_TYPE_OTHER: "other",
}
"""``EventInfo.TerminalType`` → a name: TRTC's published table ("Device type"), all of it."""

USER_TYPE_UNKNOWN = 0
"""``EventInfo.UserType`` when no platform, or one rtc-console does not know, was reported
(ours: TRTC's table has no "unknown")."""
USER_TYPE_WEBRTC = 1
"""``EventInfo.UserType`` of a web (WebRTC) client (TRTC's ``USER_TYPE_WEBRTC``)."""
USER_TYPE_MINI_PROGRAM = 2
"""``EventInfo.UserType`` of a mini program (TRTC's ``USER_TYPE_APPLET``; platform
``miniprogram`` or ``wechat``)."""
USER_TYPE_NATIVE_SDK = 3
"""``EventInfo.UserType`` of a native SDK (TRTC's ``USER_TYPE_NATIVE_SDK``): iOS, Android,
Windows, macOS, Linux, and the cross-platform SDKs built on them (Flutter, Electron, Unity,
React Native)."""
USER_TYPES: dict[int, str] = {
    USER_TYPE_UNKNOWN: "unknown",
    USER_TYPE_WEBRTC: "webrtc",
    USER_TYPE_MINI_PROGRAM: "mini_program",
    USER_TYPE_NATIVE_SDK: "native_sdk",
}
"""``EventInfo.UserType`` → a name: TRTC's published table ("User type") and our 0."""


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
    unique_id: int | None = None
    """``EventInfo.UniqueId`` on 103 / 104: one entry/exit session of the user (a reconnect
    is a new one); pair a 104 with the 103 that has the same (room, user, UniqueId). None on
    other events and on a 104 whose entry is not known. An opaque number below 2^53."""
    terminal_type: int | None = None
    """``EventInfo.TerminalType`` on 103 (and on a 104 whose entry is known): see
    :data:`TERMINAL_TYPES`; 0 when the platform names no operating system. None elsewhere."""
    user_type: int | None = None
    """``EventInfo.UserType`` where ``terminal_type`` is: see :data:`USER_TYPES`. None elsewhere."""
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


def _optional_int(data: dict[str, Any], name: str) -> int | None:
    return None if data.get(name) is None else _int(data, name)


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
        role=_optional_int(info, "Role"),
        reason=_optional_int(info, "Reason"),
        unique_id=_optional_int(info, "UniqueId"),
        terminal_type=_optional_int(info, "TerminalType"),
        user_type=_optional_int(info, "UserType"),
        test=data.get("Test") is True,
        raw=data,
    )
