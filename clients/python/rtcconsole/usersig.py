"""UserSig and PrivateMapKey (TLS-Sig-API v2) without a server call.

Generation is byte-identical to the ``tls-sig-api-v2`` reference for the same inputs and clock;
verification decodes the token and checks every claim (never a string comparison), returns a typed
result and never raises for a bad token. See ``docs/usersig.md`` for the format and the rules.
Decoded tokens (not verdicts) are cached per process: the HMAC and every claim are checked on every call.

Example::

    from rtcconsole.usersig import generate_usersig, verify_usersig

    sig = generate_usersig(sdk_app_id=1400000000, secret_key=key, user_id="alice")
    result = verify_usersig(sig, sdk_app_id=1400000000, secret_key=key, user_id="alice")
    assert result.ok, result.reason
"""

from __future__ import annotations

from rtcconsole._privatemap_userbuf import (
    MAX_ROOM_ID,
    MalformedUserbufError,
    PrivateMapClaims,
    Privilege,
    decode_private_map_userbuf,
    encode_private_map_userbuf,
)
from rtcconsole._privatemapkey import (
    PrivateMapKeyVerification,
    generate_private_map_key,
    verify_private_map_key,
)
from rtcconsole._sigcommon import (
    DEFAULT_EXPIRE_SECONDS,
    MAX_EXPIRE_SECONDS,
    MAX_INFLATED_BYTES,
    MAX_SDK_APP_ID,
    MAX_STR_ROOM_ID_BYTES,
    MAX_TIMESTAMP,
    MAX_TOKEN_CHARS,
    MAX_USER_ID_BYTES,
    MAX_USERBUF_BYTES,
    TLS_VERSION,
    UserSigInputError,
    VerificationFailure,
)
from rtcconsole._usersig import UserSigClaims, UserSigVerification, generate_usersig, verify_usersig

__all__ = [
    "DEFAULT_EXPIRE_SECONDS",
    "MAX_EXPIRE_SECONDS",
    "MAX_INFLATED_BYTES",
    "MAX_ROOM_ID",
    "MAX_SDK_APP_ID",
    "MAX_STR_ROOM_ID_BYTES",
    "MAX_TIMESTAMP",
    "MAX_TOKEN_CHARS",
    "MAX_USERBUF_BYTES",
    "MAX_USER_ID_BYTES",
    "TLS_VERSION",
    "MalformedUserbufError",
    "PrivateMapClaims",
    "PrivateMapKeyVerification",
    "Privilege",
    "UserSigClaims",
    "UserSigInputError",
    "UserSigVerification",
    "VerificationFailure",
    "decode_private_map_userbuf",
    "encode_private_map_userbuf",
    "generate_private_map_key",
    "generate_usersig",
    "verify_private_map_key",
    "verify_usersig",
]
