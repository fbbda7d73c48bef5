"""What ``EventInfo`` says of a user's session (decision 0018): ``UniqueId``, ``TerminalType``, ``UserType``.

TRTC puts them on user entered (103) and user exited (104). Ours come from what
the data plane reports: the entry's ``event_id`` and its ``session.platform``.

* ``UniqueId`` is the first 52 bits of ``SHA-256("<sdk_app_id>:<event_id of the
  entry>")`` (0 read as 1): the same on the 103 and on every 104 paired with it,
  distinct for two entries even in one millisecond, below 2^53 (exact in a
  JavaScript number), and fixed once queued, like the rest of ``EventInfo``.
* The platform string is folded (lower case, letters and digits only, so
  ``React-Native``, ``react_native`` and ``reactnative`` are one) and looked up in
  :data:`PLATFORMS`, numbered as TRTC's published tables: ``TerminalType`` 1 Windows,
  2 Android, 3 iOS, 4 Linux, 100 other (macOS, the web, and platforms that name no
  operating system: a cross-platform SDK, a mini program); ``UserType`` 1 WebRTC,
  2 mini program, 3 native SDK. A platform we do not know, or none, is
  ``TerminalType`` 100 and ``UserType`` 0 (ours: TRTC has no "unknown" user type,
  and guessing one would mislabel clients).
"""

from __future__ import annotations

import hashlib

from rtcconsole.callbacks import (
    TERMINAL_TYPE_ANDROID,
    TERMINAL_TYPE_IOS,
    TERMINAL_TYPE_LINUX,
    TERMINAL_TYPE_OTHER,
    TERMINAL_TYPE_WINDOWS,
    USER_TYPE_MINI_PROGRAM,
    USER_TYPE_NATIVE_SDK,
    USER_TYPE_UNKNOWN,
    USER_TYPE_WEBRTC,
)

__all__ = ["PLATFORMS", "client_types", "fold_platform", "unique_id"]

_NATIVE = USER_TYPE_NATIVE_SDK
PLATFORMS: dict[str, tuple[int, int]] = {
    "ios": (TERMINAL_TYPE_IOS, _NATIVE),
    "ipados": (TERMINAL_TYPE_IOS, _NATIVE),
    "android": (TERMINAL_TYPE_ANDROID, _NATIVE),
    "windows": (TERMINAL_TYPE_WINDOWS, _NATIVE),
    "win": (TERMINAL_TYPE_WINDOWS, _NATIVE),
    "linux": (TERMINAL_TYPE_LINUX, _NATIVE),
    "mac": (TERMINAL_TYPE_OTHER, _NATIVE),
    "macos": (TERMINAL_TYPE_OTHER, _NATIVE),
    "osx": (TERMINAL_TYPE_OTHER, _NATIVE),
    "web": (TERMINAL_TYPE_OTHER, USER_TYPE_WEBRTC),
    "webrtc": (TERMINAL_TYPE_OTHER, USER_TYPE_WEBRTC),
    "browser": (TERMINAL_TYPE_OTHER, USER_TYPE_WEBRTC),
    "flutter": (TERMINAL_TYPE_OTHER, _NATIVE),
    "electron": (TERMINAL_TYPE_OTHER, _NATIVE),
    "unity": (TERMINAL_TYPE_OTHER, _NATIVE),
    "reactnative": (TERMINAL_TYPE_OTHER, _NATIVE),
    "miniprogram": (TERMINAL_TYPE_OTHER, USER_TYPE_MINI_PROGRAM),
    "wechat": (TERMINAL_TYPE_OTHER, USER_TYPE_MINI_PROGRAM),
    "wechatminiprogram": (TERMINAL_TYPE_OTHER, USER_TYPE_MINI_PROGRAM),
}
"""Folded ``session.platform`` → (``TerminalType``, ``UserType``); the table of docs/callbacks.md."""
_UNKNOWN = (TERMINAL_TYPE_OTHER, USER_TYPE_UNKNOWN)
_BITS = 52


def fold_platform(platform: str) -> str:
    """``"React-Native"`` → ``"reactnative"``: lower case, ASCII letters and digits only."""
    return "".join(c for c in platform.lower() if c.isascii() and c.isalnum())


def client_types(platform: str) -> tuple[int, int]:
    """(``TerminalType``, ``UserType``) of a reported platform; (100, 0) for none or an unknown one."""
    return PLATFORMS.get(fold_platform(platform), _UNKNOWN)


def unique_id(sdk_app_id: int, entry_event_id: str) -> int:
    """``UniqueId`` of the session that the entry ``entry_event_id`` of app ``sdk_app_id`` opened."""
    digest = hashlib.sha256(f"{sdk_app_id}:{entry_event_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> (64 - _BITS)) or 1
