"""Shared constants, errors and argument checks of the UserSig / PrivateMapKey helpers.

Private module: import the public names from :mod:`rtcconsole.usersig`.
"""

from __future__ import annotations

import enum
import time

__all__ = [
    "DEFAULT_EXPIRE_SECONDS",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_EXPIRE_SECONDS",
    "MAX_INFLATED_BYTES",
    "MAX_SDK_APP_ID",
    "MAX_STR_ROOM_ID_BYTES",
    "MAX_TIMESTAMP",
    "MAX_TOKEN_CHARS",
    "MAX_USERBUF_BYTES",
    "MAX_USER_ID_BYTES",
    "TLS_VERSION",
    "UINT64_MAX",
    "UserSigInputError",
    "VerificationFailure",
    "check_int",
    "check_secret_key",
    "check_text",
    "resolve_now",
]

TLS_VERSION = "2.0"
"""Value of the ``TLS.ver`` field of every token this module writes and accepts."""

DEFAULT_EXPIRE_SECONDS = 180 * 86400
"""Default lifetime of a token: 180 days = 15 552 000 seconds (the reference default)."""

MAX_EXPIRE_SECONDS = 2**31 - 1
"""Largest lifetime accepted by the generators, in seconds (fits a signed 32-bit int, ~68 years)."""

MAX_SDK_APP_ID = 2**32 - 1
"""Largest SDKAppID: the PrivateMapKey userbuf carries it as an unsigned 32-bit integer."""

MAX_TIMESTAMP = 2**32 - 1
"""Largest clock value (unix seconds) and absolute PrivateMapKey expiry: u32, i.e. 2106-02-07."""

MAX_USER_ID_BYTES = 1024
"""Largest user id, in UTF-8 bytes, that we generate or verify against (the format could carry 65 535)."""

MAX_STR_ROOM_ID_BYTES = 1024
"""Largest string room id, in UTF-8 bytes (the format could carry 65 535)."""

MAX_USERBUF_BYTES = 4096
"""Largest free-form userbuf accepted by :func:`generate_usersig`, in bytes."""

MAX_INFLATED_BYTES = 16 * 1024
"""Hard cap on the inflated JSON of a token; larger tokens are rejected before being inflated further."""

MAX_TOKEN_CHARS = 32 * 1024
"""Hard cap on the length of a token string; longer strings are rejected before any decoding."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""Range of a token's ``TLS.time`` and ``TLS.expire`` as a decoder accepts them (signed 64-bit)."""

UINT64_MAX = 2**64 - 1
"""Largest ``TLS.sdkappid`` a decoder accepts (unsigned 64-bit; generators stop at ``MAX_SDK_APP_ID``)."""


class UserSigInputError(ValueError):
    """A generator or verifier argument is out of range or of the wrong type.

    Raised only for the caller's own arguments, never for the contents of a token being verified.
    """


class VerificationFailure(enum.Enum):
    """Why a UserSig or PrivateMapKey was rejected (``None`` on the result means it was accepted)."""

    MALFORMED = "malformed"
    """Not a token: bad alphabet/base64, not zlib, too large, bad JSON, missing or mistyped field."""
    VERSION = "version"
    """``TLS.ver`` is not ``"2.0"``."""
    SIGNATURE_MISMATCH = "signature_mismatch"
    """``TLS.sig`` is not the HMAC-SHA256 of the claims under this app's secret key (forged, other app)."""
    SDK_APP_ID_MISMATCH = "sdk_app_id_mismatch"
    """Genuine token, but for another SDKAppID (envelope or PrivateMapKey userbuf field)."""
    IDENTIFIER_MISMATCH = "identifier_mismatch"
    """Genuine token, but for another user id (exact, case-sensitive comparison)."""
    USERBUF_UNEXPECTED = "userbuf_unexpected"
    """Genuine token carrying a userbuf where a plain UserSig was expected (e.g. a PrivateMapKey)."""
    USERBUF_MISSING = "userbuf_missing"
    """Genuine token without a userbuf where one was expected (e.g. a UserSig given as PrivateMapKey)."""
    EXPIRED = "expired"
    """Genuine token, but ``now > TLS.time + TLS.expire``."""
    USERBUF_MALFORMED = "userbuf_malformed"
    """Genuine token whose userbuf is not a PrivateMapKey userbuf (layout, lengths, UTF-8, account type)."""
    ACCOUNT_MISMATCH = "account_mismatch"
    """PrivateMapKey userbuf account differs from the token's ``TLS.identifier``."""
    ROOM_MISMATCH = "room_mismatch"
    """PrivateMapKey for another room, or for the other kind of room (numeric vs string)."""
    USERBUF_EXPIRED = "userbuf_expired"
    """PrivateMapKey userbuf expiry (absolute, unix seconds) is in the past: ``now > expires_at``."""
    PRIVILEGE_MISSING = "privilege_missing"
    """PrivateMapKey lacks at least one of the required privilege bits."""


def check_int(name: str, value: object, low: int, high: int) -> int:
    """Return ``value`` if it is an ``int`` (not ``bool``) within ``[low, high]``, else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserSigInputError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise UserSigInputError(f"{name} must be between {low} and {high}, got {value}")
    return int(value)


def check_text(name: str, value: object, max_bytes: int) -> bytes:
    """Check a non-empty ``str`` of at most ``max_bytes`` UTF-8 bytes; return its UTF-8 encoding."""
    if not isinstance(value, str):
        raise UserSigInputError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        raise UserSigInputError(f"{name} must not be empty")
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise UserSigInputError(f"{name} is not encodable as UTF-8 (lone surrogate?)") from None
    if len(encoded) > max_bytes:
        raise UserSigInputError(f"{name} is {len(encoded)} UTF-8 bytes long; the limit is {max_bytes}")
    return encoded


def check_secret_key(secret_key: object) -> bytes:
    """Check the app's secret key (non-empty text, used as its UTF-8 bytes, never hex-decoded)."""
    if not isinstance(secret_key, str):
        raise UserSigInputError(f"secret_key must be a str, got {type(secret_key).__name__}")
    if not secret_key:
        raise UserSigInputError("secret_key must not be empty")
    try:
        return secret_key.encode("utf-8")
    except UnicodeEncodeError:
        raise UserSigInputError("secret_key is not encodable as UTF-8") from None


def resolve_now(now: int | None, high: int = MAX_TIMESTAMP) -> int:
    """Return ``now`` (unix seconds, checked within ``[0, high]``); ``None`` means ``int(time.time())``."""
    if now is None:
        return int(time.time())
    return check_int("now", now, 0, high)
