"""What ConfigService's domain hands to the API layer: every section, never the callback key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from rtcconsole_server.domain.config._rules import key_hint
from rtcconsole_server.domain.config._sections import (
    CallbackSection,
    CloudRecordingSection,
    PermissionControlSection,
    RelayedPushSection,
    SectionState,
    read_section,
)
from rtcconsole_server.store.models import App

__all__ = ["AppConfigView", "CallbackView", "view_config"]


@dataclass(frozen=True)
class CallbackView:
    """The callback section as its owner sees it: whether a key is set, never the key."""

    key_set: bool
    key_hint: str
    room_event_url: str
    media_event_url: str

    @classmethod
    def of(cls, section: CallbackSection) -> CallbackView:
        return cls(bool(section.key), key_hint(section.key), section.room_event_url, section.media_event_url)


@dataclass(frozen=True)
class AppConfigView:
    """Every section of one app, effective and pending (R11); ``callback`` is never pending (R15)."""

    sdk_app_id: int
    push_domain: str
    """The app's CDN push domain (R5); empty until relayed push first takes effect."""
    relayed_push: SectionState[RelayedPushSection]
    cloud_recording: SectionState[CloudRecordingSection]
    permission_control: SectionState[PermissionControlSection]
    callback: SectionState[CallbackView]


def view_config(session: Session, app: App) -> AppConfigView:
    """Every section of ``app`` as read in ``session``; the callback key becomes ``key_set``/``key_hint``."""
    callback = read_section(session, app.sdk_app_id, CallbackSection)
    return AppConfigView(
        sdk_app_id=app.sdk_app_id,
        push_domain=app.push_domain,
        relayed_push=read_section(session, app.sdk_app_id, RelayedPushSection),
        cloud_recording=read_section(session, app.sdk_app_id, CloudRecordingSection),
        permission_control=read_section(session, app.sdk_app_id, PermissionControlSection),
        callback=SectionState(
            CallbackView.of(callback.effective),
            CallbackView.of(callback.pending) if callback.pending is not None else None,
            callback.pending_effective_at,
        ),
    )
