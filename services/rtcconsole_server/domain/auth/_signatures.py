"""UserSig (R22), PrivateMapKey (R14) and the room-entry gate (R7, R14, R22).

Token work is the client package's pure functions (``rtcconsole.usersig``), so
a customer backend and this server compute exactly the same thing; here we add
whose key it is, the injected clock, and the state of the app in force now.

The room-entry gate is in ``_room_entry`` (``Signatures`` inherits it), the inputs'
checks in ``_token_inputs``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from rtcconsole.usersig import (
    PrivateMapKeyVerification,
    Privilege,
    UserSigInputError,
    UserSigVerification,
    generate_private_map_key,
    generate_usersig,
    verify_private_map_key,
    verify_usersig,
)
from rtcconsole_server.domain.auth._room_entry import EntryDecision, EntryDenial, RoomEntryGate
from rtcconsole_server.domain.auth._token_inputs import Room, checked_inputs, input_error, lifetime_seconds
from rtcconsole_server.domain.common import Caller, load_app
from rtcconsole_server.errors import FieldViolation, InvalidArgument, NotFound
from rtcconsole_server.store.models import App

# EntryDecision, EntryDenial (_room_entry) and Room (_token_inputs) named here too for their callers
__all__ = ["EntryDecision", "EntryDenial", "Room", "Signatures"]


class Signatures(RoomEntryGate):
    """Generate and verify tokens with the keys of apps; decide room entries (:class:`RoomEntryGate`)."""

    def _owned_key(self, caller: Caller | None, sdk_app_id: int) -> str:
        """The app's secret key: the caller's app, or any live app for the data plane (caller None)."""
        with self._store.read() as session:
            if caller is not None:
                return load_app(session, caller, sdk_app_id).secret_key
            key = session.scalar(
                select(App.secret_key).where(App.sdk_app_id == sdk_app_id, App.deleted_at.is_(None))
            )
        if key is None:
            raise NotFound("app", str(sdk_app_id))
        return key

    def generate_usersig(
        self, caller: Caller, sdk_app_id: int, user_id: str, lifetime: timedelta | None
    ) -> tuple[str, int]:
        """A UserSig and its expiry (unix seconds)."""
        key, seconds, now = self._owned_key(caller, sdk_app_id), lifetime_seconds(lifetime), self._now()
        try:
            token = generate_usersig(
                sdk_app_id=sdk_app_id, secret_key=key, user_id=user_id, expire_seconds=seconds, now=now
            )
        except UserSigInputError as error:
            raise input_error(error) from error
        return token, now + seconds

    def verify_usersig(
        self, caller: Caller | None, sdk_app_id: int, user_id: str, token: str
    ) -> UserSigVerification:
        key = self._owned_key(caller, sdk_app_id)
        with checked_inputs():
            return verify_usersig(
                token, sdk_app_id=sdk_app_id, secret_key=key, user_id=user_id, now=self._now()
            )

    def generate_private_map_key(
        self,
        caller: Caller,
        sdk_app_id: int,
        user_id: str,
        room: Room,
        privileges: int,
        lifetime: timedelta | None,
    ) -> tuple[str, int]:
        room.check()
        if not 0 <= privileges <= int(Privilege.ALL):
            raise InvalidArgument(
                FieldViolation("privileges", "must be an OR of Privilege values (at most 255)")
            )
        key, seconds, now = self._owned_key(caller, sdk_app_id), lifetime_seconds(lifetime), self._now()
        try:
            token = generate_private_map_key(
                sdk_app_id=sdk_app_id,
                secret_key=key,
                user_id=user_id,
                room_id=room.room_id,
                str_room_id=room.str_room_id,
                privileges=Privilege(privileges or int(Privilege.ALL)),
                expire_seconds=seconds,
                now=now,
            )
        except UserSigInputError as error:
            raise input_error(error) from error
        return token, now + seconds

    def verify_private_map_key(
        self, caller: Caller | None, sdk_app_id: int, user_id: str, token: str, room: Room, required: int
    ) -> PrivateMapKeyVerification:
        room.check()
        if not 0 <= required <= int(Privilege.ALL):
            raise InvalidArgument(FieldViolation("required_privileges", "must be an OR of Privilege values"))
        key = self._owned_key(caller, sdk_app_id)
        with checked_inputs():
            return self._verify_ticket(token, sdk_app_id, key, user_id, room, required)

    def _verify_ticket(
        self, token: str, sdk_app_id: int, key: str, user_id: str, room: Room, required: int
    ) -> PrivateMapKeyVerification:
        return verify_private_map_key(
            token,
            sdk_app_id=sdk_app_id,
            secret_key=key,
            user_id=user_id,
            room_id=room.room_id,
            str_room_id=room.str_room_id,
            required=Privilege(required or int(Privilege.ENTER_ROOM)),
            now=self._now(),
        )
