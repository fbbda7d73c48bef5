"""AuthClient: the typed async client of ``rtcconsole.v1.AuthService``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

import grpc
from google.protobuf import duration_pb2

from rtcconsole._transport import DEFAULT_TIMEOUT, Transport, paginate
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import auth_service_pb2_grpc as auth_grpc
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb

if TYPE_CHECKING:
    from rtcconsole.v1.auth_service_pb2_grpc import AuthServiceAsyncStub

__all__ = ["AuthClient"]


class _HasRoom(Protocol):
    room_id: int
    str_room_id: str


def _set_room(request: _HasRoom, room: int | str) -> None:
    """Fill the ``room`` oneof: an ``int`` is a numeric room id, a ``str`` a string room id."""
    if isinstance(room, str):
        request.str_room_id = room
    else:
        request.room_id = room


def _lifetime(lifetime: timedelta | None) -> duration_pb2.Duration | None:
    if lifetime is None:
        return None
    duration = duration_pb2.Duration()
    duration.FromTimedelta(lifetime)
    return duration


class AuthClient:
    """Identity and secrets of the calling account, secondary authentication, UserSig and PrivateMapKey.

    Methods return the whole response (these responses carry more than one
    resource, or a secret beside its description), and ``None`` for empty ones.
    Secrets in responses (``api_key``, ``otpauth_uri``, ``token``,
    ``secret_key``, ``user_sig``, ``private_map_key``) are for the caller only:
    do not log them.
    """

    def __init__(
        self, channel: grpc.aio.Channel, *, api_key: str, timeout: float | None = DEFAULT_TIMEOUT
    ) -> None:
        self._transport = Transport(channel, api_key=api_key, timeout=timeout)
        self._stub: AuthServiceAsyncStub = auth_grpc.AuthServiceStub(channel)

    def __repr__(self) -> str:
        return f"AuthClient({self._transport!r})"

    async def get_caller_identity(
        self, *, rpc_timeout: float | None = None
    ) -> auth_pb.GetCallerIdentityResponse:
        """Which account (and which of its API keys) this client calls as."""
        request = auth_pb.GetCallerIdentityRequest()
        return await self._transport.unary(self._stub.GetCallerIdentity, request, rpc_timeout)

    async def update_account_settings(
        self, *, time_zone: str, rpc_timeout: float | None = None
    ) -> auth_pb.UpdateAccountSettingsResponse:
        """Set the account's time zone (an IANA name such as ``"Asia/Tokyo"``): the call list's
        "today" and "yesterday" are its days (R17)."""
        request = auth_pb.UpdateAccountSettingsRequest(time_zone=time_zone)
        return await self._transport.unary(self._stub.UpdateAccountSettings, request, rpc_timeout)

    async def create_api_key(
        self, *, display_name: str = "", rpc_timeout: float | None = None
    ) -> auth_pb.CreateApiKeyResponse:
        """A new API key for the account: ``response.api_key`` is shown only here."""
        request = auth_pb.CreateApiKeyRequest(display_name=display_name)
        return await self._transport.unary(self._stub.CreateApiKey, request, rpc_timeout)

    async def list_api_keys(
        self, *, page_size: int = 0, page_token: str = "", rpc_timeout: float | None = None
    ) -> auth_pb.ListApiKeysResponse:
        """One page of the account's live API keys, oldest first (ids and names, never the keys)."""
        request = auth_pb.ListApiKeysRequest(page_size=page_size, page_token=page_token)
        return await self._transport.unary(self._stub.ListApiKeys, request, rpc_timeout)

    def iter_api_keys(self, *, page_size: int = 0, page_token: str = "") -> AsyncIterator[auth_pb.ApiKey]:
        """Every live API key of the account, across pages: ``async for key in auth.iter_api_keys(): …``."""

        async def fetch(token: str) -> tuple[list[auth_pb.ApiKey], str]:
            page = await self.list_api_keys(page_size=page_size, page_token=token)
            return list(page.keys), page.next_page_token

        return paginate(fetch, page_token)

    async def delete_api_key(self, key_id: str, *, rpc_timeout: float | None = None) -> None:
        """Revoke an API key (not the one this client calls with)."""
        request = auth_pb.DeleteApiKeyRequest(key_id=key_id)
        await self._transport.unary(self._stub.DeleteApiKey, request, rpc_timeout)

    async def enroll_totp(
        self, *, totp_code: str = "", rpc_timeout: float | None = None
    ) -> auth_pb.EnrollTotpResponse:
        """Enrol a TOTP authenticator: the seed in ``otpauth_uri`` becomes active with its first
        :meth:`create_secondary_auth`. Refused (``FailedPrecondition``) while one is active:
        replacing it is the operator's ``totp-reset``. ``totp_code`` is deprecated and ignored."""
        request = auth_pb.EnrollTotpRequest(totp_code=totp_code)
        return await self._transport.unary(self._stub.EnrollTotp, request, rpc_timeout)

    async def create_secondary_auth(
        self, *, totp_code: str, rpc_timeout: float | None = None
    ) -> auth_pb.CreateSecondaryAuthResponse:
        """Exchange a TOTP code for a secondary-authentication token valid 30 minutes (R7)."""
        request = auth_pb.CreateSecondaryAuthRequest(totp_code=totp_code)
        return await self._transport.unary(self._stub.CreateSecondaryAuth, request, rpc_timeout)

    async def get_app_secret_key(
        self, sdk_app_id: int, *, rpc_timeout: float | None = None
    ) -> auth_pb.GetAppSecretKeyResponse:
        """The app's UserSig secret key (R10)."""
        request = auth_pb.GetAppSecretKeyRequest(sdk_app_id=sdk_app_id)
        return await self._transport.unary(self._stub.GetAppSecretKey, request, rpc_timeout)

    async def generate_user_sig(
        self,
        sdk_app_id: int,
        *,
        user_id: str,
        lifetime: timedelta | None = None,
        rpc_timeout: float | None = None,
    ) -> auth_pb.GenerateUserSigResponse:
        """Sign a UserSig for ``user_id`` (R22); ``lifetime`` defaults to 180 days on the server."""
        request = auth_pb.GenerateUserSigRequest(
            sdk_app_id=sdk_app_id, user_id=user_id, lifetime=_lifetime(lifetime)
        )
        return await self._transport.unary(self._stub.GenerateUserSig, request, rpc_timeout)

    async def verify_user_sig(
        self, sdk_app_id: int, *, user_id: str, user_sig: str, rpc_timeout: float | None = None
    ) -> auth_pb.VerifyUserSigResponse:
        """Check a UserSig; ``valid`` or a ``failure`` reason, with the claims it carries."""
        request = auth_pb.VerifyUserSigRequest(sdk_app_id=sdk_app_id, user_id=user_id, user_sig=user_sig)
        return await self._transport.unary(self._stub.VerifyUserSig, request, rpc_timeout)

    async def generate_private_map_key(
        self,
        sdk_app_id: int,
        *,
        user_id: str,
        room: int | str,
        privileges: int = 0,
        lifetime: timedelta | None = None,
        rpc_timeout: float | None = None,
    ) -> auth_pb.GeneratePrivateMapKeyResponse:
        """Sign a PrivateMapKey for one room (R14); ``privileges`` 0 means every privilege."""
        request = auth_pb.GeneratePrivateMapKeyRequest(
            sdk_app_id=sdk_app_id, user_id=user_id, privileges=privileges, lifetime=_lifetime(lifetime)
        )
        _set_room(request, room)
        return await self._transport.unary(self._stub.GeneratePrivateMapKey, request, rpc_timeout)

    async def verify_private_map_key(
        self,
        sdk_app_id: int,
        *,
        user_id: str,
        private_map_key: str,
        room: int | str,
        required_privileges: int = 0,
        rpc_timeout: float | None = None,
    ) -> auth_pb.VerifyPrivateMapKeyResponse:
        """Check a PrivateMapKey for ``room``; ``required_privileges`` 0 means entering the room."""
        request = auth_pb.VerifyPrivateMapKeyRequest(
            sdk_app_id=sdk_app_id,
            user_id=user_id,
            private_map_key=private_map_key,
            required_privileges=required_privileges,
        )
        _set_room(request, room)
        return await self._transport.unary(self._stub.VerifyPrivateMapKey, request, rpc_timeout)

    async def authorize_room_entry(
        self,
        sdk_app_id: int,
        *,
        room: int | str,
        user_id: str,
        user_sig: str,
        private_map_key: str = "",
        role: ingest_pb.Role.ValueType = ingest_pb.ROLE_UNSPECIFIED,
        rpc_timeout: float | None = None,
    ) -> auth_pb.AuthorizeRoomEntryResponse:
        """The data plane's gate (call with the data-plane token as ``api_key``)."""
        request = auth_pb.AuthorizeRoomEntryRequest(
            sdk_app_id=sdk_app_id,
            user_id=user_id,
            user_sig=user_sig,
            private_map_key=private_map_key,
            role=role,
        )
        _set_room(request, room)
        return await self._transport.unary(self._stub.AuthorizeRoomEntry, request, rpc_timeout)
