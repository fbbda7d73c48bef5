"""Settings of an app (R11-R15): the use cases that read and change them, and the worker's entry.

A change of a *function setting* (relayed push, cloud recording, advanced
permission control: R12-R14) is *staged*: the section keeps its effective value
and gets a pending one due ``delay`` (5 minutes) from now (R11). A second change
before the first takes effect is applied on top of the pending value, replaces it
and restarts the delay; a change back to exactly what is in effect cancels the
pending one. :meth:`Config.apply_due` (a worker on any replica) moves due
pending values into effect.

The *callback settings* (key and URLs, R15) take effect at once: the seed gives
the delay to the three function settings only. :meth:`Config.update_callback`
replaces the effective value in its own transaction and leaves nothing pending,
so the dispatcher's next claim and ``SendTestCallback`` use the new URL and key.
A pending callback value staged before this rule (an older version delayed
callbacks too) needs no migration: ``read_section`` reads it as in effect, and
the worker still folds its row when its old due time comes (see
``_sections.IMMEDIATE``).

Preconditions look at *new enablement* only (``_preconditions``); how a change is
staged or put in effect, and the worker's step for one app, are in ``_pending``.

Messages name enum values by their proto short name, the part after the enum's
prefix (``SPECIFIED_STREAMS``, ``AUDIO_ONLY``, ``AAC``): what a caller types,
and, lower-cased, what ``rtcctl config`` takes.

Locking: requests and the worker both lock the app row first (``FOR UPDATE``;
the worker with ``SKIP LOCKED``, so replicas share the work and never wait on
each other), then touch ``app_settings`` rows. One lock order, no deadlocks.
SQLite's ``BEGIN IMMEDIATE`` serialises all writers anyway.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import Caller, DestinationPolicy, load_app
from rtcconsole_server.domain.config._pending import apply_app, put_in_effect, stage
from rtcconsole_server.domain.config._preconditions import (
    css_inactive,
    heading,
    recording_on,
    recording_unmet,
    turns_on,
)
from rtcconsole_server.domain.config._rules import (
    FILE_FORMATS,
    RECORDING_MEDIA,
    RECORDING_MODES,
    RECORDING_STORAGES,
    RELAYED_PUSH_MODES,
    check_callback_destination,
    check_callback_key,
    check_callback_url,
    check_choice,
    check_max_idle,
    short_name,
)
from rtcconsole_server.domain.config._sections import (
    CallbackSection,
    CloudRecordingSection,
    PermissionControlSection,
    RelayedPushSection,
    SectionState,
    read_section,
)
from rtcconsole_server.domain.config._views import AppConfigView, CallbackView, view_config
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account, App, AppSetting

__all__ = ["AppConfigView", "CallbackView", "Config"]

S = TypeVar("S")


class Config:
    """Use cases of ConfigService's settings, and the worker step that applies them."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        delay: timedelta,
        push_domain_suffix: str,
        destinations: DestinationPolicy | None = None,
    ) -> None:
        """``destinations``: where callback URLs may point when their host is a literal
        address (None: public addresses only, the dispatcher's default)."""
        self._store = store
        self._clock = clock
        self._delay = delay
        self._push_domain_suffix = push_domain_suffix
        self._destinations = destinations or DestinationPolicy()

    # -- reading ------------------------------------------------------------------

    def get(self, caller: Caller, sdk_app_id: int) -> AppConfigView:
        """Every section of the caller's app (R11: effective, pending, when)."""
        with self._store.read() as session:
            app = load_app(session, caller, sdk_app_id)
            return view_config(session, app)

    def permission_control_enabled(self, sdk_app_id: int) -> bool:
        """Whether advanced permission control (R14) is in effect; False for an unknown app."""
        with self._store.read() as session:
            return read_section(session, sdk_app_id, PermissionControlSection).effective.enabled

    def effective_callback(self, sdk_app_id: int) -> CallbackSection:
        """The callback settings in effect, key included, for the dispatcher (R15).

        An app that never set them, or does not exist, gets the empty defaults (no URLs).
        """
        with self._store.read() as session:
            return read_section(session, sdk_app_id, CallbackSection).effective

    # -- changing -----------------------------------------------------------------

    def update_relayed_push(
        self, caller: Caller, sdk_app_id: int, *, enabled: bool, mode: str
    ) -> AppConfigView:
        """Turn relayed push on (needs CSS, R12) or off (refused while recording is on, R13).

        ``mode`` is required to turn it on; "" keeps the mode it has. Turning it off
        ignores ``mode`` and keeps the mode in effect.
        """
        if enabled or mode:
            violations = check_choice(mode, RELAYED_PUSH_MODES, "settings.mode")
            if violations:
                raise InvalidArgument(violations)
        with self._store.write() as session:
            app, account = self._lock(session, caller, sdk_app_id)
            state = read_section(session, sdk_app_id, RelayedPushSection)
            toward = heading(state)
            subject = f"apps/{sdk_app_id}"
            if turns_on(state, enabled) and not account.css_active:
                raise FailedPrecondition(css_inactive(account))
            recording = read_section(session, sdk_app_id, CloudRecordingSection)
            if not enabled and recording_on(recording):
                raise FailedPrecondition(
                    PreconditionViolation(
                        "CLOUD_RECORDING_ON",
                        subject,
                        "cloud recording depends on relayed push (R13): turn cloud recording off "
                        "first; if it is on in effect, wait until that change takes effect "
                        "(about 5 minutes), then turn relayed push off",
                    )
                )
            # the mode means something only while on: turning off keeps the mode in effect
            target = RelayedPushSection(enabled, (mode or toward.mode) if enabled else state.effective.mode)
            self._stage(session, sdk_app_id, state, target)
            return view_config(session, app)

    def update_cloud_recording(
        self,
        caller: Caller,
        sdk_app_id: int,
        *,
        enabled: bool | None = None,
        mode: str | None = None,
        media: str | None = None,
        file_format: str | None = None,
        max_idle_seconds: float | None = None,
        storage: str | None = None,
    ) -> AppConfigView:
        """Change cloud recording (R13); None leaves a field as it is where the app is heading.

        Turning it on needs CSS and VOD active and relayed push on (pending if a
        change waits, else effective). ``aac`` (AAC) needs ``audio_only`` (AUDIO_ONLY) media.
        """
        changes: dict[str, Any] = {}
        violations: list[FieldViolation] = []
        for name, value, allowed in (
            ("mode", mode, RECORDING_MODES),
            ("media", media, RECORDING_MEDIA),
            ("file_format", file_format, FILE_FORMATS),
            ("storage", storage, RECORDING_STORAGES),
        ):
            if value is not None:
                violations += check_choice(value, allowed, f"settings.{name}")
                changes[name] = value
        if max_idle_seconds is not None:
            violations += check_max_idle(max_idle_seconds)
            changes["max_idle_seconds"] = int(max_idle_seconds) if not violations else 0
        if enabled is not None:
            changes["enabled"] = enabled
        if violations:
            raise InvalidArgument(violations)
        with self._store.write() as session:
            app, account = self._lock(session, caller, sdk_app_id)
            state = read_section(session, sdk_app_id, CloudRecordingSection)
            target = dataclasses.replace(heading(state), **changes)
            if target.file_format == "aac" and target.media != "audio_only":
                field = "settings.file_format" if file_format is not None else "settings.media"
                raise InvalidArgument(
                    FieldViolation(
                        field,
                        f"the {short_name('aac')} file format records audio only: "
                        f"it needs {short_name('audio_only')} media",
                    )
                )
            if turns_on(state, target.enabled):
                unmet = recording_unmet(session, account, sdk_app_id)
                if unmet:
                    raise FailedPrecondition(unmet)
            self._stage(session, sdk_app_id, state, target)
            return view_config(session, app)

    def update_permission_control(self, caller: Caller, sdk_app_id: int, *, enabled: bool) -> AppConfigView:
        """Turn advanced permission control (R14) on or off; no precondition."""
        with self._store.write() as session:
            app, _ = self._lock(session, caller, sdk_app_id)
            state = read_section(session, sdk_app_id, PermissionControlSection)
            self._stage(session, sdk_app_id, state, PermissionControlSection(enabled=enabled))
            return view_config(session, app)

    def update_callback(
        self,
        caller: Caller,
        sdk_app_id: int,
        *,
        key: str | None = None,
        room_event_url: str | None = None,
        media_event_url: str | None = None,
    ) -> AppConfigView:
        """Set the callback key and URLs (R15); None leaves a field, "" clears it.

        In effect when this returns (no R11 delay): the new value replaces the effective
        one in this transaction, built on what is in effect (which includes a pending
        value left by an older version, see ``read_section``), and nothing stays pending.
        """
        changes: dict[str, str] = {}
        violations: list[FieldViolation] = []
        if key is not None:
            violations += check_callback_key(key)
            changes["key"] = key
        for name, url in (("room_event_url", room_event_url), ("media_event_url", media_event_url)):
            if url is not None:
                violations += check_callback_url(url, name)
                changes[name] = url
        if violations:
            raise InvalidArgument(violations)
        forbidden = [
            refused
            for name in ("room_event_url", "media_event_url")
            if changes.get(name)
            and (refused := check_callback_destination(changes[name], name, self._destinations)) is not None
        ]
        if forbidden:
            raise FailedPrecondition(forbidden)
        with self._store.write() as session:
            app, _ = self._lock(session, caller, sdk_app_id)
            state = read_section(session, sdk_app_id, CallbackSection)
            put_in_effect(
                session, sdk_app_id, dataclasses.replace(state.effective, **changes), now=self._clock.now()
            )
            return view_config(session, app)

    # -- the worker -----------------------------------------------------------------

    def apply_due(self, *, limit: int = 100) -> int:
        """Put every pending change due by now into effect, for at most ``limit`` apps.

        Returns how many sections changed. Apps locked elsewhere (another
        replica, a request in flight) are skipped and picked up next time.
        """
        now = self._clock.now()
        with self._store.write() as session:
            due_apps = session.scalars(
                select(AppSetting.sdk_app_id)
                .where(AppSetting.pending_effective_at <= now)
                .group_by(AppSetting.sdk_app_id)
                .order_by(func.min(AppSetting.pending_effective_at), AppSetting.sdk_app_id)
                .limit(limit)
            ).all()
            if not due_apps:
                return 0
            claimed = session.scalars(
                select(App)
                .where(App.sdk_app_id.in_(due_apps))
                .order_by(App.sdk_app_id)
                .with_for_update(skip_locked=True)
            ).all()
            return sum(
                apply_app(session, app, now, push_domain_suffix=self._push_domain_suffix) for app in claimed
            )

    def next_due(self) -> datetime | None:
        """When the earliest pending change is due, if any."""
        with self._store.read() as session:
            return session.scalar(select(func.min(AppSetting.pending_effective_at)))

    # -- helpers --------------------------------------------------------------------

    def _lock(self, session: Session, caller: Caller, sdk_app_id: int) -> tuple[App, Account]:
        app = load_app(session, caller, sdk_app_id, for_update=True)
        return app, session.get_one(Account, caller.account_id)

    def _stage(self, session: Session, sdk_app_id: int, state: SectionState[S], target: S) -> None:
        """Stage ``target`` due ``delay`` from now (R11), or cancel what is pending (``_pending.stage``)."""
        stage(session, sdk_app_id, state, target, now=self._clock.now(), delay=self._delay)
