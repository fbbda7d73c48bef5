"""The sections of an app's settings (R11-R15) and how they are stored.

Each section is a frozen dataclass kept as JSON in ``app_settings``: the
``effective`` value, and for a function setting (R12-R14) a ``pending`` one with
the instant it takes effect (R11). The callback section (R15) takes effect at
once and has no pending value (:data:`IMMEDIATE`). A section that was never
changed has no row and reads as its defaults.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from rtcconsole_server.store.models import AppSetting

__all__ = [
    "IMMEDIATE",
    "SECTIONS",
    "CallbackSection",
    "CloudRecordingSection",
    "PermissionControlSection",
    "RelayedPushSection",
    "SectionState",
    "decode",
    "encode",
    "read_section",
    "section_name",
]


@dataclass(frozen=True)
class RelayedPushSection:
    """R12. ``mode`` is "specified_streams" or "global_auto_relay" ("" while never enabled)."""

    enabled: bool = False
    mode: str = ""


@dataclass(frozen=True)
class CloudRecordingSection:
    """R13. Modes "manual"/"automatic"; media "audio_and_video"/"audio_only"/"video_only";
    file_format "hls"/"mp4"/"flv"/"aac"; storage "vod"/"object_storage"."""

    enabled: bool = False
    mode: str = "manual"
    media: str = "audio_and_video"
    file_format: str = "hls"
    max_idle_seconds: int = 30
    """A recording stops after this many seconds without upstream media (5 s to 24 h)."""
    storage: str = "vod"


@dataclass(frozen=True)
class PermissionControlSection:
    """R14: when enabled, entering a room needs a privateMapKey."""

    enabled: bool = False


@dataclass(frozen=True)
class CallbackSection:
    """R15. ``key`` signs deliveries (empty: unsigned); the URLs receive room and media events."""

    key: str = ""
    room_event_url: str = ""
    media_event_url: str = ""

    def url_for(self, event_group: int) -> str:
        """The URL of event group 1 (room) or 2 (media); empty when not configured."""
        return self.room_event_url if event_group == 1 else self.media_event_url


SECTIONS: dict[str, type[Any]] = {
    "relayed_push": RelayedPushSection,
    "cloud_recording": CloudRecordingSection,
    "permission_control": PermissionControlSection,
    "callback": CallbackSection,
}
"""Section name in the store → its dataclass."""

IMMEDIATE: frozenset[type[Any]] = frozenset({CallbackSection})
"""Sections whose changes take effect at once (R15: the seed gives the ~5-minute delay only to
the function settings R12-R14). A change replaces their effective value; they are never pending."""

S = TypeVar("S")


def encode(section: object) -> str:
    return json.dumps(dataclasses.asdict(section), sort_keys=True)  # type: ignore[call-overload]


def decode(cls: type[S], text: str) -> S:
    """The section from its JSON; unknown keys (from a newer version) are ignored."""
    data = json.loads(text)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class SectionState(Generic[S]):
    """What is in effect, what is waiting, and when it takes effect."""

    effective: S
    pending: S | None
    pending_effective_at: datetime | None


def section_name(cls: type[Any]) -> str:
    return next(name for name, known in SECTIONS.items() if known is cls)


def read_section(session: Session, sdk_app_id: int, cls: type[S]) -> SectionState[S]:
    """The state of one section of one app (defaults when never changed).

    A section of :data:`IMMEDIATE` is never pending. A pending value in its row can only
    have been staged by a version that still delayed callback changes (R11 applied to
    R15); it is the owner's latest change, so it reads as in effect now: every reader
    (``GetAppConfig``, the dispatcher's claims, ``SendTestCallback``, the next update) sees
    it at once, and no migration is needed. The row itself is folded by the next
    ``UpdateCallbackConfig``, or by the config worker when its old due time comes
    (``Config.apply_due`` still applies any due row), which changes nothing anyone reads.
    """
    row = session.get(AppSetting, (sdk_app_id, section_name(cls)))
    if row is None:
        return SectionState(cls(), None, None)
    pending = decode(cls, row.pending) if row.pending is not None else None
    if cls in IMMEDIATE:
        return SectionState(pending if pending is not None else decode(cls, row.effective), None, None)
    return SectionState(decode(cls, row.effective), pending, row.pending_effective_at)
