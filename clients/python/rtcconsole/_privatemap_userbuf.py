"""The PrivateMapKey userbuf: privilege bits, layout encoder and strict decoder.

Private module: import the public names from :mod:`rtcconsole.usersig`.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from rtcconsole._sigcommon import (
    MAX_SDK_APP_ID,
    MAX_STR_ROOM_ID_BYTES,
    MAX_TIMESTAMP,
    MAX_USER_ID_BYTES,
    UserSigInputError,
    check_int,
    check_text,
)

__all__ = [
    "MAX_ROOM_ID",
    "MalformedUserbufError",
    "PrivateMapClaims",
    "Privilege",
    "check_privileges",
    "check_room",
    "decode_private_map_userbuf",
    "encode_private_map_userbuf",
]

MAX_ROOM_ID = 2**32 - 1
"""Largest numeric room id (u32). 0 is refused: the format uses it for "string room"."""

_HEAD = struct.Struct(">BH")  # version, account length
_BODY = struct.Struct(">IIIII")  # sdkappid, numeric room, absolute expiry, privilege map, account type
_ROOM_LEN = struct.Struct(">H")
_NUMERIC_ROOM, _STRING_ROOM = 0, 1


class Privilege(enum.IntFlag):
    """PrivateMapKey privilege bits (``privilegeMap``); combine with ``|``."""

    CREATE_ROOM = 1
    ENTER_ROOM = 2
    SEND_AUDIO = 4
    RECEIVE_AUDIO = 8
    SEND_VIDEO = 16
    RECEIVE_VIDEO = 32
    SEND_SUBSTREAM = 64
    RECEIVE_SUBSTREAM = 128
    ALL = 255


class MalformedUserbufError(ValueError):
    """Raised by :func:`decode_private_map_userbuf` for bytes that are not a PrivateMapKey userbuf."""


@dataclass(frozen=True, slots=True)
class PrivateMapClaims:
    """The decoded PrivateMapKey userbuf.

    Attributes:
        version: 0 for a numeric room, 1 for a string room.
        account: the user id (UTF-8 in the userbuf).
        sdk_app_id: SDKAppID inside the userbuf.
        room_id: numeric room id; 0 for a string room.
        str_room_id: string room id, or ``None`` for a numeric room.
        expires_at: absolute expiry of the privileges, unix seconds (valid while ``now <= expires_at``).
        privileges: privilege map; bits outside ``Privilege.ALL`` are kept as-is.
        account_type: account type field; always 0 in keys we generate or accept.
    """

    version: int
    account: str
    sdk_app_id: int
    room_id: int
    str_room_id: str | None
    expires_at: int
    privileges: Privilege
    account_type: int


def check_room(room_id: int | None, str_room_id: str | None) -> bytes | None:
    """Validate the exactly-one-of room arguments; return the string room's UTF-8 bytes, if any."""
    if (room_id is None) == (str_room_id is None):
        raise UserSigInputError("give exactly one of room_id and str_room_id")
    if room_id is not None:
        check_int("room_id", room_id, 1, MAX_ROOM_ID)
        return None
    return check_text("str_room_id", str_room_id, MAX_STR_ROOM_ID_BYTES)


def check_privileges(name: str, value: object) -> Privilege:
    return Privilege(check_int(name, value, 0, int(Privilege.ALL)))


def encode_private_map_userbuf(
    *,
    sdk_app_id: int,
    user_id: str,
    room_id: int | None = None,
    str_room_id: str | None = None,
    expires_at: int,
    privileges: Privilege = Privilege.ALL,
) -> bytes:
    """Build the PrivateMapKey userbuf (all integers big-endian).

    Layout: version u8 (0 numeric room, 1 string room); account length u16; account (UTF-8); sdkappid u32;
    numeric room id u32 (0 for string rooms); ``expires_at`` u32 (absolute unix seconds); privilege
    map u32; account type u32 (0); then, for version 1 only, room length u16 and room (UTF-8).

    Args:
        sdk_app_id: ``1 .. 2**32 - 1``.
        user_id: non-empty, at most ``MAX_USER_ID_BYTES`` UTF-8 bytes.
        room_id: numeric room ``1 .. 2**32 - 1``; give exactly one of ``room_id`` and ``str_room_id``.
        str_room_id: non-empty string room, at most ``MAX_STR_ROOM_ID_BYTES`` UTF-8 bytes.
        expires_at: absolute expiry, unix seconds, ``0 .. 2**32 - 1``.
        privileges: subset of ``Privilege.ALL`` (default: all).

    Raises:
        UserSigInputError: for an invalid argument.
    """
    check_int("sdk_app_id", sdk_app_id, 1, MAX_SDK_APP_ID)
    account = check_text("user_id", user_id, MAX_USER_ID_BYTES)
    room_text = check_room(room_id, str_room_id)
    check_int("expires_at", expires_at, 0, MAX_TIMESTAMP)
    privilege_map = check_privileges("privileges", privileges)
    version = _NUMERIC_ROOM if room_text is None else _STRING_ROOM
    parts = [
        _HEAD.pack(version, len(account)),
        account,
        _BODY.pack(sdk_app_id, room_id or 0, expires_at, int(privilege_map), 0),
    ]
    if room_text is not None:
        parts += [_ROOM_LEN.pack(len(room_text)), room_text]
    return b"".join(parts)


def decode_private_map_userbuf(data: bytes) -> PrivateMapClaims:
    """Parse a PrivateMapKey userbuf strictly (exact length, UTF-8 texts, consistent room kind).

    A version-1 (string room) userbuf must have a zero numeric room and a non-empty room string.
    The account type is returned, not checked (:func:`verify_private_map_key` requires 0).

    Raises:
        MalformedUserbufError: when ``data`` is not a well-formed PrivateMapKey userbuf.
    """
    try:
        version, account_len = _HEAD.unpack_from(data, 0)
        offset = _HEAD.size + account_len
        account = data[_HEAD.size : offset].decode("utf-8")
        sdk_app_id, room_id, expires_at, privilege_map, account_type = _BODY.unpack_from(data, offset)
        offset += _BODY.size
        str_room_id: str | None = None
        if version == _STRING_ROOM:
            (room_len,) = _ROOM_LEN.unpack_from(data, offset)
            offset += _ROOM_LEN.size
            str_room_id = data[offset : offset + room_len].decode("utf-8")
            offset += room_len
            if room_id != 0 or room_len == 0:
                raise MalformedUserbufError("string-room userbuf with a numeric room or an empty room")
        elif version != _NUMERIC_ROOM:
            raise MalformedUserbufError(f"unknown userbuf version {version}")
    except (struct.error, UnicodeDecodeError) as exc:
        raise MalformedUserbufError(f"malformed PrivateMapKey userbuf: {exc}") from None
    if offset != len(data) or len(account.encode("utf-8")) != account_len:
        raise MalformedUserbufError("PrivateMapKey userbuf length does not match its contents")
    return PrivateMapClaims(
        version, account, sdk_app_id, room_id, str_room_id, expires_at, Privilege(privilege_map), account_type
    )
