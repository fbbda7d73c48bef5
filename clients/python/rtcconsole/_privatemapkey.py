"""PrivateMapKey (a UserSig with a room/privilege userbuf). Private: use :mod:`rtcconsole.usersig`."""

from __future__ import annotations

from dataclasses import dataclass

from rtcconsole._privatemap_userbuf import (
    MalformedUserbufError,
    PrivateMapClaims,
    Privilege,
    check_privileges,
    check_room,
    decode_private_map_userbuf,
    encode_private_map_userbuf,
)
from rtcconsole._sigcommon import (
    DEFAULT_EXPIRE_SECONDS,
    MAX_EXPIRE_SECONDS,
    MAX_SDK_APP_ID,
    MAX_USER_ID_BYTES,
    UserSigInputError,
    VerificationFailure,
    check_int,
    check_secret_key,
    check_text,
    resolve_now,
)
from rtcconsole._usersig import UserSigClaims, mint_token, open_token

__all__ = ["PrivateMapKeyVerification", "generate_private_map_key", "verify_private_map_key"]

_U32 = 2**32 - 1


@dataclass(frozen=True, slots=True)
class PrivateMapKeyVerification:
    """Result of :func:`verify_private_map_key`.

    Attributes:
        reason: ``None`` when accepted, else the first failed check.
        claims: the token's envelope claims (as for a UserSig), or ``None`` if MALFORMED / VERSION.
        private_map: the decoded userbuf, or ``None`` when absent or undecodable.
        authenticated: ``True`` when the signature checked out; when ``False`` both claims objects are
            attacker-controlled and only fit for debugging logs.
    """

    reason: VerificationFailure | None
    claims: UserSigClaims | None
    private_map: PrivateMapClaims | None
    authenticated: bool

    @property
    def ok(self) -> bool:
        """``True`` when the key was accepted."""
        return self.reason is None


def generate_private_map_key(
    *,
    sdk_app_id: int,
    secret_key: str,
    user_id: str,
    room_id: int | None = None,
    str_room_id: str | None = None,
    privileges: Privilege = Privilege.ALL,
    expire_seconds: int = DEFAULT_EXPIRE_SECONDS,
    now: int | None = None,
) -> str:
    """Generate a PrivateMapKey, byte-identical to the reference ``genPrivateMapKey`` (numeric room) /
    ``genPrivateMapKeyWithStringRoomID`` (string room) for ASCII ids.

    The userbuf expiry is ``now + expire_seconds`` and the envelope is ``TLS.time = now``,
    ``TLS.expire = expire_seconds``, both from one clock reading.

    Args:
        sdk_app_id: ``1 .. 2**32 - 1``.
        secret_key: the application's secret key (text, UTF-8 bytes are the HMAC key).
        user_id: non-empty, at most ``MAX_USER_ID_BYTES`` UTF-8 bytes.
        room_id: numeric room ``1 .. 2**32 - 1``; give exactly one of ``room_id`` and ``str_room_id``.
        str_room_id: non-empty string room, at most ``MAX_STR_ROOM_ID_BYTES`` UTF-8 bytes.
        privileges: granted bits, subset of ``Privilege.ALL`` (default: all, 255).
        expire_seconds: lifetime in seconds, ``1 .. 2**31 - 1``; default 180 days (15 552 000).
        now: unix seconds; ``None`` (default) means ``int(time.time())``. ``now + expire_seconds`` must
            fit u32 (before 2106-02-07).

    Raises:
        UserSigInputError: (a ``ValueError``) for an invalid argument.
    """
    check_int("sdk_app_id", sdk_app_id, 1, MAX_SDK_APP_ID)
    key = check_secret_key(secret_key)
    check_text("user_id", user_id, MAX_USER_ID_BYTES)
    check_room(room_id, str_room_id)
    check_int("expire_seconds", expire_seconds, 1, MAX_EXPIRE_SECONDS)
    issued_at = resolve_now(now)
    expires_at = issued_at + expire_seconds
    if expires_at > _U32:
        raise UserSigInputError("now + expire_seconds does not fit the u32 expiry field (after 2106-02-07)")
    userbuf = encode_private_map_userbuf(
        sdk_app_id=sdk_app_id,
        user_id=user_id,
        room_id=room_id,
        str_room_id=str_room_id,
        expires_at=expires_at,
        privileges=privileges,
    )
    return mint_token(key, UserSigClaims(user_id, sdk_app_id, issued_at, expire_seconds, expires_at, userbuf))


def _check_private_map(
    private_map: PrivateMapClaims,
    claims: UserSigClaims,
    sdk_app_id: int,
    room_id: int | None,
    str_room_id: str | None,
    required: Privilege,
    current: int,
) -> VerificationFailure | None:
    if private_map.account_type != 0:
        return VerificationFailure.USERBUF_MALFORMED
    if private_map.account != claims.identifier:
        return VerificationFailure.ACCOUNT_MISMATCH
    if private_map.sdk_app_id != sdk_app_id:
        return VerificationFailure.SDK_APP_ID_MISMATCH
    if private_map.str_room_id != str_room_id or (room_id is not None and private_map.room_id != room_id):
        return VerificationFailure.ROOM_MISMATCH
    if current > claims.expires_at:
        return VerificationFailure.EXPIRED
    if current > private_map.expires_at:
        return VerificationFailure.USERBUF_EXPIRED
    if private_map.privileges & required != required:
        return VerificationFailure.PRIVILEGE_MISSING
    return None


def verify_private_map_key(
    token: str,
    *,
    sdk_app_id: int,
    secret_key: str,
    user_id: str,
    room_id: int | None = None,
    str_room_id: str | None = None,
    required: Privilege = Privilege.ENTER_ROOM,
    now: int | None = None,
) -> PrivateMapKeyVerification:
    """Verify a PrivateMapKey for one user and one room; never raises for a bad token.

    Checks, first failure wins: MALFORMED, VERSION, SIGNATURE_MISMATCH, SDK_APP_ID_MISMATCH,
    IDENTIFIER_MISMATCH, USERBUF_MISSING, USERBUF_MALFORMED (layout or account type != 0),
    ACCOUNT_MISMATCH, SDK_APP_ID_MISMATCH (userbuf field), ROOM_MISMATCH (value or kind), EXPIRED
    (envelope), USERBUF_EXPIRED, PRIVILEGE_MISSING.

    Args:
        token: the PrivateMapKey text as received.
        sdk_app_id: expected SDKAppID, ``1 .. 2**32 - 1``.
        secret_key: that app's secret key.
        user_id: expected user id (exact comparison).
        room_id: expected numeric room; give exactly one of ``room_id`` and ``str_room_id``. A string-room
            key never matches a numeric room (even ``"1234"`` vs ``1234``) and vice versa.
        str_room_id: expected string room (exact comparison).
        required: bits that must all be granted, subset of ``Privilege.ALL``; default ``ENTER_ROOM``.
        now: current unix seconds; ``None`` (default) means ``int(time.time())``.

    Raises:
        UserSigInputError: only when one of *our* arguments (not the token) is invalid.
    """
    key = check_secret_key(secret_key)
    check_int("sdk_app_id", sdk_app_id, 1, MAX_SDK_APP_ID)
    check_text("user_id", user_id, MAX_USER_ID_BYTES)
    check_room(room_id, str_room_id)
    required_bits = check_privileges("required", required)
    current = resolve_now(now, high=2**63 - 1)  # a verifier's clock is not bound by the format
    envelope = open_token(token, key, sdk_app_id, user_id, True)
    claims = envelope.claims
    private_map: PrivateMapClaims | None = None
    if claims is not None and claims.userbuf is not None:
        try:
            private_map = decode_private_map_userbuf(claims.userbuf)
        except MalformedUserbufError:
            private_map = None
    reason = envelope.reason
    if reason is None and claims is not None:
        if private_map is None:
            reason = VerificationFailure.USERBUF_MALFORMED
        else:
            reason = _check_private_map(
                private_map, claims, sdk_app_id, room_id, str_room_id, required_bits, current
            )
    return PrivateMapKeyVerification(reason, claims, private_map, envelope.authenticated)
