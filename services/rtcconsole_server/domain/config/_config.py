"""Settings of an app (R11-R15): read, change, and the worker that applies changes.

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

Preconditions look at *new enablement* only: turning a feature on that is off
both in effect and where the app is heading (its pending value if any, else its
effective value).
Turning the account's CSS or VOD service off later changes nothing already on.

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
    IMMEDIATE,
    SECTIONS,
    CallbackSection,
    CloudRecordingSection,
    PermissionControlSection,
    RelayedPushSection,
    SectionState,
    decode,
    encode,
    read_section,
    section_name,
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


def _heading(state: SectionState[S]) -> S:
    """Where the section is heading: the pending value if any, else the effective one."""
    return state.pending if state.pending is not None else state.effective


def _turns_on(state: SectionState[Any], enabled: bool) -> bool:
    """Whether a change to ``enabled`` is new enablement: the section is off in effect and
    where it is heading. Only new enablement checks preconditions."""
    return enabled and not state.effective.enabled and not _heading(state).enabled


def _recording_on(state: SectionState[CloudRecordingSection]) -> bool:
    return state.effective.enabled or (state.pending is not None and state.pending.enabled)


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
            heading = _heading(state)
            subject = f"apps/{sdk_app_id}"
            if _turns_on(state, enabled) and not account.css_active:
                raise FailedPrecondition(_css_inactive(account))
            recording = read_section(session, sdk_app_id, CloudRecordingSection)
            if not enabled and _recording_on(recording):
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
            target = RelayedPushSection(enabled, (mode or heading.mode) if enabled else state.effective.mode)
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
            heading = _heading(state)
            target = dataclasses.replace(heading, **changes)
            if target.file_format == "aac" and target.media != "audio_only":
                field = "settings.file_format" if file_format is not None else "settings.media"
                raise InvalidArgument(
                    FieldViolation(
                        field,
                        f"the {short_name('aac')} file format records audio only: "
                        f"it needs {short_name('audio_only')} media",
                    )
                )
            if _turns_on(state, target.enabled):
                unmet = self._recording_unmet(session, account, sdk_app_id)
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
            self._put_in_effect(session, sdk_app_id, dataclasses.replace(state.effective, **changes))
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
            return sum(self._apply_app(session, app, now) for app in claimed)

    def next_due(self) -> datetime | None:
        """When the earliest pending change is due, if any."""
        with self._store.read() as session:
            return session.scalar(select(func.min(AppSetting.pending_effective_at)))

    # -- helpers --------------------------------------------------------------------

    def _lock(self, session: Session, caller: Caller, sdk_app_id: int) -> tuple[App, Account]:
        app = load_app(session, caller, sdk_app_id, for_update=True)
        return app, session.get_one(Account, caller.account_id)

    def _recording_unmet(
        self, session: Session, account: Account, sdk_app_id: int
    ) -> list[PreconditionViolation]:
        unmet = []
        if not account.css_active:
            unmet.append(_css_inactive(account))
        if not account.vod_active:
            unmet.append(
                PreconditionViolation(
                    "VOD_SERVICE_INACTIVE",
                    f"accounts/{account.id}",
                    "cloud recording needs the account's video-on-demand (VOD) service to be active",
                )
            )
        if not _heading(read_section(session, sdk_app_id, RelayedPushSection)).enabled:
            unmet.append(
                PreconditionViolation(
                    "RELAYED_PUSH_OFF",
                    f"apps/{sdk_app_id}",
                    "cloud recording needs relayed push to be on (R13); turn relayed push on first",
                )
            )
        return unmet

    def _stage(self, session: Session, sdk_app_id: int, state: SectionState[S], target: S) -> None:
        """Make ``target`` the pending value, due ``delay`` from now (or cancel it when in effect)."""
        assert type(target) not in IMMEDIATE, "callback settings are never staged (R15)"
        now = self._clock.now()
        name = section_name(type(target))
        row = session.get(AppSetting, (sdk_app_id, name))
        cancel = target == state.effective
        if row is None:
            if cancel:
                return
            row = AppSetting(sdk_app_id=sdk_app_id, section=name, effective=encode(state.effective))
            session.add(row)
        row.pending = None if cancel else encode(target)
        row.pending_effective_at = None if cancel else now + self._delay
        row.updated_at = now

    def _put_in_effect(self, session: Session, sdk_app_id: int, target: object) -> None:
        """Make ``target`` the effective value at once, dropping any pending one (R15)."""
        now = self._clock.now()
        name = section_name(type(target))
        row = session.get(AppSetting, (sdk_app_id, name))
        if row is None:
            row = AppSetting(sdk_app_id=sdk_app_id, section=name)
            session.add(row)
        row.effective = encode(target)
        row.pending, row.pending_effective_at = None, None
        row.updated_at = now

    def _apply_app(self, session: Session, app: App, now: datetime) -> int:
        rows = {
            row.section: row
            for row in session.scalars(select(AppSetting).where(AppSetting.sdk_app_id == app.sdk_app_id))
        }
        applied = 0
        # relayed push before cloud recording, which depends on it; a callback row is pending
        # only if an older version staged it (read as in effect already): folding it is tidying
        for name in SECTIONS:
            row = rows.get(name)
            if row is None or row.pending is None or row.pending_effective_at is None:
                continue
            if row.pending_effective_at > now or self._waits_for_push(rows, row):
                continue
            row.effective, row.pending, row.pending_effective_at = row.pending, None, None
            row.updated_at = now
            applied += 1
            if name == section_name(RelayedPushSection):
                pushed = decode(RelayedPushSection, row.effective)
                app.relayed_push_enabled = pushed.enabled
                if pushed.enabled and not app.push_domain:
                    app.push_domain = f"{app.sdk_app_id}.{self._push_domain_suffix}"
                app.updated_at = now
        return applied

    @staticmethod
    def _waits_for_push(rows: dict[str, AppSetting], row: AppSetting) -> bool:
        """Recording never goes on before relayed push does (R13).

        If recording is due to turn on while relayed push is still pending (a
        later push change restarted its delay), the recording change moves to
        the push change's time.
        """
        if row.section != section_name(CloudRecordingSection) or row.pending is None:
            return False
        recording = decode(CloudRecordingSection, row.pending)
        push_row = rows.get(section_name(RelayedPushSection))
        if not recording.enabled or push_row is None:
            return False
        if decode(RelayedPushSection, push_row.effective).enabled:
            return False
        if push_row.pending is None or not decode(RelayedPushSection, push_row.pending).enabled:
            return False
        row.pending_effective_at = push_row.pending_effective_at
        return True


def _css_inactive(account: Account) -> PreconditionViolation:
    return PreconditionViolation(
        "CSS_SERVICE_INACTIVE",
        f"accounts/{account.id}",
        "the account's live-streaming (CSS) service is not active; ask the operator to activate it",
    )
