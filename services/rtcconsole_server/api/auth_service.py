"""AuthService: API keys, TOTP enrolment, secondary authentication (R7), secret keys (R10)."""

from __future__ import annotations

from rtcconsole.v1 import auth_service_pb2 as pb
from rtcconsole.v1 import auth_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole_server.api import convert
from rtcconsole_server.api import convert_signatures as sig
from rtcconsole_server.api.base import Context, ServicerBase, require_id
from rtcconsole_server.domain.auth import ApiKeyView
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["AuthServicer"]


class AuthServicer(ServicerBase, pb_grpc.AuthServiceServicer):
    async def GetCallerIdentity(
        self, request: pb.GetCallerIdentityRequest, context: Context
    ) -> pb.GetCallerIdentityResponse:
        caller = await self.caller(context)
        name, enrolled, time_zone, edition = await self.read(self.console.accounts.identity, caller)
        return pb.GetCallerIdentityResponse(
            account_id=caller.account_id,
            account_name=name,
            api_key_id=caller.key_id,
            totp_enrolled=enrolled,
            time_zone=time_zone,
            edition=edition,
        )

    async def UpdateAccountSettings(
        self, request: pb.UpdateAccountSettingsRequest, context: Context
    ) -> pb.UpdateAccountSettingsResponse:
        caller = await self.caller(context)
        time_zone = await self.run(self.console.account_settings.set_time_zone, caller, request.time_zone)
        return pb.UpdateAccountSettingsResponse(time_zone=time_zone)

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: Context
    ) -> pb.CreateApiKeyResponse:
        caller = await self.caller(context)
        issued = await self.run(self.console.accounts.create_key, caller, request.display_name)
        view = ApiKeyView(issued.key_id, issued.display_name, issued.created_at, None)
        return pb.CreateApiKeyResponse(key=convert.api_key(view), api_key=issued.api_key)

    async def ListApiKeys(self, request: pb.ListApiKeysRequest, context: Context) -> pb.ListApiKeysResponse:
        caller = await self.caller(context)
        page = await self.read(
            self.console.accounts.list_keys,
            caller,
            page_size_requested=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListApiKeysResponse(
            keys=[convert.api_key(k) for k in page.items], next_page_token=page.next_page_token
        )

    async def DeleteApiKey(
        self, request: pb.DeleteApiKeyRequest, context: Context
    ) -> pb.DeleteApiKeyResponse:
        caller = await self.caller(context)
        if not request.key_id:
            raise InvalidArgument(FieldViolation("key_id", "is required"))
        await self.run(self.console.accounts.revoke_key, caller, request.key_id)
        return pb.DeleteApiKeyResponse()

    async def EnrollTotp(self, request: pb.EnrollTotpRequest, context: Context) -> pb.EnrollTotpResponse:
        caller = await self.caller(context)
        uri = await self.run(self.console.secondary.enroll, caller, request.totp_code)
        return pb.EnrollTotpResponse(otpauth_uri=uri)

    async def CreateSecondaryAuth(
        self, request: pb.CreateSecondaryAuthRequest, context: Context
    ) -> pb.CreateSecondaryAuthResponse:
        caller = await self.caller(context)
        token, expires_at = await self.run(self.console.secondary.create_token, caller, request.totp_code)
        return pb.CreateSecondaryAuthResponse(token=token, expire_time=convert.timestamp(expires_at))

    async def GetAppSecretKey(
        self, request: pb.GetAppSecretKeyRequest, context: Context
    ) -> pb.GetAppSecretKeyResponse:
        caller = await self.caller(context)
        sdk_app_id = require_id(request.sdk_app_id)
        key = await self.read(self.console.apps.secret_key, caller, sdk_app_id)
        return pb.GetAppSecretKeyResponse(sdk_app_id=sdk_app_id, secret_key=key)

    async def GenerateUserSig(
        self, request: pb.GenerateUserSigRequest, context: Context
    ) -> pb.GenerateUserSigResponse:
        caller = await self.caller(context)
        token, expires_at = await self.read(
            self.console.signatures.generate_usersig,
            caller,
            require_id(request.sdk_app_id),
            request.user_id,
            sig.lifetime(request.lifetime, request.HasField("lifetime")),
        )
        return pb.GenerateUserSigResponse(user_sig=token, expire_time=sig.unix_time(expires_at))

    async def VerifyUserSig(
        self, request: pb.VerifyUserSigRequest, context: Context
    ) -> pb.VerifyUserSigResponse:
        caller = await self.caller_or_data_plane(context)
        result = await self.read(
            self.console.signatures.verify_usersig,
            caller,
            require_id(request.sdk_app_id),
            request.user_id,
            request.user_sig,
        )
        return pb.VerifyUserSigResponse(
            valid=result.ok,
            failure=sig.failure(result.reason),
            claims=sig.claims(result.claims),
            authenticated=result.authenticated,
        )

    async def GeneratePrivateMapKey(
        self, request: pb.GeneratePrivateMapKeyRequest, context: Context
    ) -> pb.GeneratePrivateMapKeyResponse:
        caller = await self.caller(context)
        token, expires_at = await self.read(
            self.console.signatures.generate_private_map_key,
            caller,
            require_id(request.sdk_app_id),
            request.user_id,
            sig.room_of(request),
            request.privileges,
            sig.lifetime(request.lifetime, request.HasField("lifetime")),
        )
        return pb.GeneratePrivateMapKeyResponse(private_map_key=token, expire_time=sig.unix_time(expires_at))

    async def VerifyPrivateMapKey(
        self, request: pb.VerifyPrivateMapKeyRequest, context: Context
    ) -> pb.VerifyPrivateMapKeyResponse:
        caller = await self.caller_or_data_plane(context)
        result = await self.read(
            self.console.signatures.verify_private_map_key,
            caller,
            require_id(request.sdk_app_id),
            request.user_id,
            request.private_map_key,
            sig.room_of(request),
            request.required_privileges,
        )
        return pb.VerifyPrivateMapKeyResponse(
            valid=result.ok,
            failure=sig.failure(result.reason),
            claims=sig.claims(result.claims),
            private_map=sig.private_map(result.private_map),
            authenticated=result.authenticated,
        )

    async def AuthorizeRoomEntry(
        self, request: pb.AuthorizeRoomEntryRequest, context: Context
    ) -> pb.AuthorizeRoomEntryResponse:
        await self.data_plane(context)
        signatures = self.console.signatures
        entry = (
            require_id(request.sdk_app_id),
            sig.room_of(request),
            request.user_id,
            request.user_sig,
            request.private_map_key,
            request.role == ingest_pb.ROLE_ANCHOR,
        )
        decision = signatures.authorize_room_entry_cached(*entry)  # decision 0035: no store call
        if decision is None:
            decision = await self.read(signatures.authorize_room_entry, *entry)
        return sig.decision(decision)
