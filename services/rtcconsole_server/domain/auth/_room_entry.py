"""The room-entry gate (R7, R14, R22): may a user enter a room of an app now?

The gate reads the app's state in force now (its key, why it is stopped, whether
advanced permission control is on) from the app state cache or, in one prebuilt
statement, from the store; then checks the UserSig and, when R14 is on, the
privateMapKey. :class:`RoomEntryGate` is the part of ``Signatures`` that decides.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select

from rtcconsole.usersig import (
    Privilege,
    VerificationFailure,
    verify_private_map_key,
    verify_usersig,
)
from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.apps import StopReason, stop_reasons
from rtcconsole_server.domain.auth._token_inputs import Room, checked_inputs
from rtcconsole_server.domain.common import AppStateCache
from rtcconsole_server.domain.config import PermissionControlSection, decode, section_name
from rtcconsole_server.errors import FieldViolation, InvalidArgument
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account, App, AppSetting

__all__ = ["EntryDecision", "EntryDenial", "RoomEntryGate"]

_SEND = Privilege.SEND_AUDIO | Privilege.SEND_VIDEO | Privilege.SEND_SUBSTREAM


class EntryDenial(enum.Enum):
    APP_NOT_FOUND = "app_not_found"
    APP_NOT_IN_SERVICE = "app_not_in_service"
    USER_SIG_INVALID = "user_sig_invalid"
    PRIVATE_MAP_KEY_REQUIRED = "private_map_key_required"
    PRIVATE_MAP_KEY_INVALID = "private_map_key_invalid"


@dataclass(frozen=True)
class EntryDecision:
    """The gate's answer: allowed, or the first reason it is not."""

    denial: EntryDenial | None
    signature_failure: VerificationFailure | None = None
    stop_reasons: tuple[StopReason, ...] = ()
    message: str = ""

    @property
    def allowed(self) -> bool:
        return self.denial is None


# The app, its account's billing state and its effective R14 flag, in one prebuilt statement:
# the gate is on the data plane's hot path (docs/decisions/0010-core-on-hot-paths.md).
_ENTRY_STATE = (
    select(
        App.secret_key,
        App.lifecycle,
        Account.postpaid,
        Account.arrears,
        Account.package_state,
        AppSetting.effective.label("permission_control"),
    )
    .join(Account, Account.id == App.account_id)
    .outerjoin(
        AppSetting,
        and_(
            AppSetting.sdk_app_id == App.sdk_app_id,
            AppSetting.section == section_name(PermissionControlSection),
        ),
    )
    .where(App.sdk_app_id == bindparam("sdk_app_id"), App.deleted_at.is_(None))
)


@dataclass(frozen=True)
class _EntryState:
    """What the gate needs of an app: its key, why it is stopped (R6), whether R14 is on."""

    secret_key: str
    stop_reasons: tuple[StopReason, ...]
    permission_control: bool


class RoomEntryGate:
    """Decide room entries with the state of apps in force now."""

    def __init__(self, store: Store, clock: Clock, *, cache: AppStateCache | None = None) -> None:
        self._store = store
        self._clock = clock
        self._cache = cache

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    def _entry_state(self, sdk_app_id: int) -> _EntryState | None:
        """The app's state in force now, from the cache or the store; None for no live app."""
        cached = self._cache.get("entry", sdk_app_id) if self._cache is not None else None
        if isinstance(cached, _EntryState):
            return cached
        generation = self._cache.generation() if self._cache is not None else 0
        with self._store.read_core() as connection:
            row = connection.execute(_ENTRY_STATE, {"sdk_app_id": sdk_app_id}).first()
        if row is None:
            return None
        state = _EntryState(
            secret_key=row.secret_key,
            stop_reasons=stop_reasons(
                lifecycle=row.lifecycle,
                postpaid=row.postpaid,
                arrears=row.arrears,
                package_state=row.package_state,
            ),
            permission_control=row.permission_control is not None
            and decode(PermissionControlSection, row.permission_control).enabled,
        )
        if self._cache is not None:
            self._cache.put("entry", sdk_app_id, state, generation)
        return state

    def authorize_room_entry_cached(
        self, sdk_app_id: int, room: Room, user_id: str, user_sig: str, private_map_key: str, anchor: bool
    ) -> EntryDecision | None:
        """:meth:`authorize_room_entry` when the app's state is cached (no store call: it runs on
        the event loop); None when it is not, and the caller runs the full method off the loop."""
        cached = self._cache.get("entry", sdk_app_id) if self._cache is not None else None
        if not isinstance(cached, _EntryState):
            return None
        return self._decide(cached, sdk_app_id, room, user_id, user_sig, private_map_key, anchor)

    def authorize_room_entry(
        self, sdk_app_id: int, room: Room, user_id: str, user_sig: str, private_map_key: str, anchor: bool
    ) -> EntryDecision:
        """May ``user_id`` enter ``room`` of the app now? State in force now: a disable that has
        taken effect blocks new entries (R7); users already inside are not asked again. The state
        comes from the app state cache when it holds it (decision 0035: a change is seen on
        every replica within its TTL, 5 s)."""
        return self._decide(
            self._entry_state(sdk_app_id), sdk_app_id, room, user_id, user_sig, private_map_key, anchor
        )

    def _decide(
        self,
        state: _EntryState | None,
        sdk_app_id: int,
        room: Room,
        user_id: str,
        user_sig: str,
        private_map_key: str,
        anchor: bool,
    ) -> EntryDecision:
        room.check()
        if not user_id:
            raise InvalidArgument(FieldViolation("user_id", "is required"))
        if state is None:
            return EntryDecision(EntryDenial.APP_NOT_FOUND, message=f"no app {sdk_app_id}")
        reasons, permission_control, key = state.stop_reasons, state.permission_control, state.secret_key
        if reasons:
            return EntryDecision(
                EntryDenial.APP_NOT_IN_SERVICE, stop_reasons=reasons, message="the app is stopped"
            )
        now = self._now()
        with checked_inputs():
            sig = verify_usersig(user_sig, sdk_app_id=sdk_app_id, secret_key=key, user_id=user_id, now=now)
        if not sig.ok:
            return EntryDecision(EntryDenial.USER_SIG_INVALID, sig.reason, message="the UserSig is not valid")
        if not permission_control:
            return EntryDecision(None, message="allowed")
        if not private_map_key:
            return EntryDecision(
                EntryDenial.PRIVATE_MAP_KEY_REQUIRED,
                message="advanced permission control is on: a privateMapKey is required (R14)",
            )
        with checked_inputs():
            ticket = verify_private_map_key(
                private_map_key,
                sdk_app_id=sdk_app_id,
                secret_key=key,
                user_id=user_id,
                room_id=room.room_id,
                str_room_id=room.str_room_id,
                required=Privilege.ENTER_ROOM,
                now=now,
            )
        if not ticket.ok:
            return EntryDecision(
                EntryDenial.PRIVATE_MAP_KEY_INVALID, ticket.reason, message="privateMapKey refused"
            )
        granted = ticket.private_map.privileges if ticket.private_map else Privilege(0)
        if anchor and not granted & _SEND:
            return EntryDecision(
                EntryDenial.PRIVATE_MAP_KEY_INVALID,
                VerificationFailure.PRIVILEGE_MISSING,
                message="an anchor needs a send privilege (audio, video or substream)",
            )
        return EntryDecision(None, message="allowed")
