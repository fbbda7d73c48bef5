"""The callback request (R15): its JSON body in the TRTC shape, and its headers.

``EventInfo`` is built when an event is queued (it never changes); the envelope
(``CallbackTs``, ``SendTime``) is added at each attempt, so a redelivery carries
the same ``EventId`` and ``RoomSeq`` with a new send time. The ``Sign`` header
comes from :func:`rtcconsole.callbacks.sign`, the very function receivers use.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rtcconsole.callbacks import ROLE_ANCHOR, ROLE_AUDIENCE, sign
from rtcconsole_server.clock import EPOCH

__all__ = [
    "USER_AGENT",
    "callback_body",
    "callback_headers",
    "event_info",
    "rfc3339_ms",
]

USER_AGENT = "rtc-console-callbacks/1"
_ROLES = {1: ROLE_ANCHOR, 2: ROLE_AUDIENCE}  # proto Role → TRTC's numbers
_WITH_ROLE = frozenset({103, 105})


def rfc3339_ms(instant: datetime) -> str:
    """``2026-01-01T08:00:00.123Z``: UTC with milliseconds (truncated)."""
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _exact_ms(instant: datetime) -> int:
    delta = instant.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def event_info(
    *,
    room: int | str,
    user_id: str,
    event_type: int,
    event_time: datetime,
    role: int,
    reason: int,
    unique_id: int | None = None,
    terminal_type: int | None = None,
    user_type: int | None = None,
) -> dict[str, Any]:
    """``EventInfo`` as TRTC has it, keys in the order of TRTC's published 103 example.

    RoomId (a number for numeric rooms, a string for string rooms), EventTs (s), EventMsTs
    (ms), UserId, UniqueId, Role (20 anchor / 21 audience, on 103 and 105 only),
    TerminalType, UserType, Reason. The three session fields are written when given (the
    outbox gives them on 103, and on a 104 whose entry is known: decision 0018).
    """
    ms = _exact_ms(event_time)
    info: dict[str, Any] = {"RoomId": room, "EventTs": ms // 1000, "EventMsTs": ms, "UserId": user_id}
    if unique_id is not None:
        info["UniqueId"] = unique_id
    if event_type in _WITH_ROLE and role in _ROLES:
        info["Role"] = _ROLES[role]
    if terminal_type is not None:
        info["TerminalType"] = terminal_type
    if user_type is not None:
        info["UserType"] = user_type
    info["Reason"] = reason
    return info


def callback_body(
    *,
    event_group: int,
    event_type: int,
    event_id: str,
    room_seq: int,
    event_time: datetime,
    send_time: datetime,
    info: dict[str, Any],
    test: bool = False,
) -> bytes:
    """The exact bytes POSTed (compact UTF-8 JSON); ``Sign`` is computed over them."""
    body: dict[str, Any] = {
        "EventGroupId": event_group,
        "EventType": event_type,
        "CallbackTs": _exact_ms(send_time),
        "EventId": event_id,
        "RoomSeq": room_seq,
        "EventTime": rfc3339_ms(event_time),
        "SendTime": rfc3339_ms(send_time),
        "EventInfo": info,
    }
    if test:
        body["Test"] = True
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def callback_headers(sdk_app_id: int, key: str, body: bytes) -> dict[str, str]:
    """``Content-Type``, ``SdkAppId``, and ``Sign`` when the app has a callback key."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "SdkAppId": str(sdk_app_id),
        "User-Agent": USER_AGENT,
    }
    if key:
        headers["Sign"] = sign(key, body)
    return headers
