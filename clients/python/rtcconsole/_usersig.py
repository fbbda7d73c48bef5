"""UserSig (TLS-Sig-API v2) generation and verification. Private: use :mod:`rtcconsole.usersig`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import zlib
from dataclasses import dataclass
from typing import Any

from rtcconsole._sigcommon import (
    DEFAULT_EXPIRE_SECONDS,
    INT64_MAX,
    INT64_MIN,
    MAX_EXPIRE_SECONDS,
    MAX_SDK_APP_ID,
    MAX_USER_ID_BYTES,
    MAX_USERBUF_BYTES,
    TLS_VERSION,
    UINT64_MAX,
    UserSigInputError,
    VerificationFailure,
    check_int,
    check_secret_key,
    check_text,
    resolve_now,
)
from rtcconsole._tokencodec import DecodeCache, encode_token, inflate_token, parse_token_json
from rtcconsole._usersig_layout import read_reference_layout, string_to_sign

__all__ = [
    "UserSigClaims",
    "UserSigVerification",
    "generate_usersig",
    "mint_token",
    "open_token",
    "verify_usersig",
]

try:
    # What hmac.new wraps: a keyed OpenSSL HMAC context. hmac.digest goes to OpenSSL's one-shot
    # HMAC(), which on OpenSSL 3 looks the MAC up again on every call (~2x the time for a UserSig).
    from _hashlib import hmac_new as _openssl_hmac_new
except ImportError:  # pragma: no cover - an interpreter built without OpenSSL's hashlib

    def _hmac_sha256(key: bytes, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under ``key``: 32 bytes."""
        return hmac.digest(key, message, "sha256")

else:

    def _hmac_sha256(key: bytes, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under ``key``: 32 bytes."""
        return _openssl_hmac_new(key, message, "sha256").digest()


_SIG_BYTES = hashlib.sha256().digest_size

DECODE_CACHE_ENTRIES = 4096
"""Decoded tokens kept per process, oldest out first: ~0.75 KB each for a typical UserSig (~190
characters), at most ~3.5 KB each given the two caps below (so at most ~14 MB in all)."""

DECODE_CACHE_MAX_CHARS = 512
"""Longest token (characters) put in the decode cache; longer ones are decoded on every call."""

DECODE_CACHE_MAX_SIGNED_BYTES = 1024
"""Largest string to sign (bytes) of a cached token: a short token can inflate to a long identifier."""


@dataclass(frozen=True, slots=True)
class UserSigClaims:
    """The decoded fields of a token.

    Attributes:
        identifier: ``TLS.identifier``, the user id.
        sdk_app_id: ``TLS.sdkappid``.
        time: ``TLS.time``, issue time in unix seconds.
        expire: ``TLS.expire``, lifetime in seconds.
        expires_at: ``time + expire`` (unix seconds); the token is valid while ``now <= expires_at``.
        userbuf: the base64-decoded ``TLS.userbuf``, or ``None`` when the field is absent.
    """

    identifier: str
    sdk_app_id: int
    time: int
    expire: int
    expires_at: int
    userbuf: bytes | None


@dataclass(frozen=True, slots=True)
class UserSigVerification:
    """Result of :func:`verify_usersig`.

    Attributes:
        reason: ``None`` when the token is accepted, else the first failed check.
        claims: the decoded claims, or ``None`` when the token is MALFORMED or of another VERSION.
        authenticated: ``True`` when the signature checked out, i.e. ``claims`` were issued with this
            app's secret key. When ``False`` and ``claims`` is set, the claims are attacker-controlled:
            log them for debugging, never act on them.
    """

    reason: VerificationFailure | None
    claims: UserSigClaims | None
    authenticated: bool

    @property
    def ok(self) -> bool:
        """``True`` when the token was accepted."""
        return self.reason is None


# A frozen dataclass's __init__ sets each field through object.__setattr__ (~90 ns a field); the
# verifier's hot path fills the same slots through their descriptors: an equal object (same eq,
# hash, repr, fields), ~40 % cheaper to build. Used only with values already checked.
_new = object.__new__
_SET_IDENTIFIER, _SET_SDK_APP_ID, _SET_TIME, _SET_EXPIRE, _SET_EXPIRES_AT, _SET_USERBUF = (
    vars(UserSigClaims)[name].__set__
    for name in ("identifier", "sdk_app_id", "time", "expire", "expires_at", "userbuf")
)
_SET_REASON, _SET_CLAIMS, _SET_AUTHENTICATED = (
    vars(UserSigVerification)[name].__set__ for name in ("reason", "claims", "authenticated")
)


def _claims(
    identifier: str, sdk_app_id: int, issued_at: int, expire: int, userbuf: bytes | None
) -> UserSigClaims:
    """``UserSigClaims(identifier, sdk_app_id, issued_at, expire, issued_at + expire, userbuf)``."""
    claims = _new(UserSigClaims)
    _SET_IDENTIFIER(claims, identifier)
    _SET_SDK_APP_ID(claims, sdk_app_id)
    _SET_TIME(claims, issued_at)
    _SET_EXPIRE(claims, expire)
    _SET_EXPIRES_AT(claims, issued_at + expire)
    _SET_USERBUF(claims, userbuf)
    return claims


def _verification(
    reason: VerificationFailure | None, claims: UserSigClaims, authenticated: bool
) -> UserSigVerification:
    """``UserSigVerification(reason, claims, authenticated)``."""
    result = _new(UserSigVerification)
    _SET_REASON(result, reason)
    _SET_CLAIMS(result, claims)
    _SET_AUTHENTICATED(result, authenticated)
    return result


def _string_to_sign(claims: UserSigClaims) -> bytes:
    userbuf = None if claims.userbuf is None else base64.b64encode(claims.userbuf).decode("ascii")
    return string_to_sign(claims.identifier, claims.sdk_app_id, claims.time, claims.expire, userbuf)


def _signature(key: bytes, claims: UserSigClaims) -> bytes:
    return _hmac_sha256(key, _string_to_sign(claims))


def mint_token(key: bytes, claims: UserSigClaims) -> str:
    """Serialise and sign ``claims`` exactly as ``tls-sig-api-v2`` 1.1 does (arguments pre-checked).

    JSON via ``json.dumps`` defaults (``", "``/``": "`` separators, ``ensure_ascii``) in the key order
    ver, identifier, sdkappid, expire, time, [userbuf], sig; ``zlib.compress`` at the default level;
    standard base64 with ``+/=`` replaced by ``*-_``.
    """
    doc: dict[str, Any] = {
        "TLS.ver": TLS_VERSION,
        "TLS.identifier": claims.identifier,
        "TLS.sdkappid": claims.sdk_app_id,
        "TLS.expire": claims.expire,
        "TLS.time": claims.time,
    }
    if claims.userbuf is not None:
        doc["TLS.userbuf"] = base64.b64encode(claims.userbuf).decode("ascii")
    doc["TLS.sig"] = base64.b64encode(_signature(key, claims)).decode("ascii")
    return encode_token(doc)


def generate_usersig(
    *,
    sdk_app_id: int,
    secret_key: str,
    user_id: str,
    expire_seconds: int = DEFAULT_EXPIRE_SECONDS,
    now: int | None = None,
    userbuf: bytes | None = None,
) -> str:
    """Generate a UserSig, byte-identical to ``TLSSigAPIv2(sdk_app_id, secret_key).gen_sig(...)``.

    Args:
        sdk_app_id: the application's SDKAppID, ``1 .. 2**32 - 1``.
        secret_key: the application's secret key; its text (UTF-8 bytes) is the HMAC key, never hex-decoded.
        user_id: non-empty, at most ``MAX_USER_ID_BYTES`` (1024) UTF-8 bytes; compared case-sensitively.
        expire_seconds: lifetime in seconds, ``1 .. 2**31 - 1``; default 180 days (15 552 000).
        now: issue time in unix seconds, ``0 .. 2**32 - 1``; ``None`` (default) means ``int(time.time())``.
        userbuf: optional opaque bytes (at most ``MAX_USERBUF_BYTES``) signed into ``TLS.userbuf``, as
            ``gen_sig_with_userbuf``. ``b""`` is kept as an empty field (the Go library would drop it).

    Raises:
        UserSigInputError: (a ``ValueError``) when an argument is out of range or of the wrong type.
    """
    check_int("sdk_app_id", sdk_app_id, 1, MAX_SDK_APP_ID)
    key = check_secret_key(secret_key)
    check_text("user_id", user_id, MAX_USER_ID_BYTES)
    check_int("expire_seconds", expire_seconds, 1, MAX_EXPIRE_SECONDS)
    issued_at = resolve_now(now)
    if userbuf is not None:
        if not isinstance(userbuf, bytes | bytearray):
            raise UserSigInputError(f"userbuf must be bytes or None, got {type(userbuf).__name__}")
        if len(userbuf) > MAX_USERBUF_BYTES:
            raise UserSigInputError(f"userbuf is {len(userbuf)} bytes long; the limit is {MAX_USERBUF_BYTES}")
        userbuf = bytes(userbuf)
    expires_at = issued_at + expire_seconds
    return mint_token(key, UserSigClaims(user_id, sdk_app_id, issued_at, expire_seconds, expires_at, userbuf))


def _field_int(doc: dict[str, Any], name: str, low: int, high: int) -> int:
    value = doc.get(name)
    if type(value) is not int or not low <= value <= high:  # JSON ints are exact ints; bool is not int
        raise ValueError(f"{name} is not an integer in range")
    return value


def _field_b64(doc: dict[str, Any], name: str) -> bytes:
    value = doc.get(name)
    if type(value) is not str:
        raise ValueError(f"{name} is not a string")
    # base64.b64decode(validate=True) is this call; UnicodeEncodeError is a ValueError
    return binascii.a2b_base64(value.encode("ascii"), strict_mode=True)


def _parse_claims(doc: dict[str, Any]) -> tuple[UserSigClaims, bytes]:
    identifier = doc.get("TLS.identifier")
    if type(identifier) is not str:
        raise ValueError("TLS.identifier is not a string")
    identifier.encode("utf-8")  # lone surrogates (legal in JSON escapes) cannot have been signed
    sdk_app_id = _field_int(doc, "TLS.sdkappid", 0, UINT64_MAX)
    issued_at = _field_int(doc, "TLS.time", INT64_MIN, INT64_MAX)
    expire = _field_int(doc, "TLS.expire", INT64_MIN, INT64_MAX)
    userbuf = _field_b64(doc, "TLS.userbuf") if "TLS.userbuf" in doc else None
    sig = _field_b64(doc, "TLS.sig")
    if len(sig) != _SIG_BYTES:
        raise ValueError("TLS.sig has the wrong length")
    return UserSigClaims(identifier, sdk_app_id, issued_at, expire, issued_at + expire, userbuf), sig


def _decode_claims(token: object) -> tuple[UserSigClaims, bytes, bytes] | None:
    """Token -> (claims, string to sign, signature); ``None`` when ``TLS.ver`` is another version.

    Raises ``ValueError``/``zlib.error``/``binascii.Error``/``RecursionError`` for a malformed token.
    """
    text = inflate_token(token)
    fields = read_reference_layout(text)
    if fields is not None:
        identifier, sdk_app_id, issued_at, expire, userbuf, sig, to_sign = fields
        return _claims(identifier, sdk_app_id, issued_at, expire, userbuf), to_sign, sig
    doc = parse_token_json(text)
    if not isinstance(doc, dict) or "TLS.ver" not in doc:
        raise ValueError("not a TLS-Sig-API token document")
    if doc["TLS.ver"] != TLS_VERSION:
        return None
    claims, sig = _parse_claims(doc)
    return claims, _string_to_sign(claims), sig


def _small(decoded: tuple[UserSigClaims, bytes, bytes] | None) -> bool:
    return decoded is None or len(decoded[1]) <= DECODE_CACHE_MAX_SIGNED_BYTES


# Decoding (base64, inflate, JSON, field types) depends on the token text alone, so its result is
# cached per token; the signature and every claim are still checked on every call, with that call's
# key, app, user and clock. Only successful decodes are cached (an exception is never stored).
_decode_cached = DecodeCache(
    _decode_claims, entries=DECODE_CACHE_ENTRIES, max_chars=DECODE_CACHE_MAX_CHARS, keep=_small
)

_MALFORMED = UserSigVerification(VerificationFailure.MALFORMED, None, False)
_VERSION = UserSigVerification(VerificationFailure.VERSION, None, False)


def open_token(
    token: object, key: bytes, sdk_app_id: int, user_id: str, expect_userbuf: bool
) -> UserSigVerification:
    """Run the checks shared by UserSig and PrivateMapKey, all but expiry (arguments pre-checked).

    Order: MALFORMED, VERSION, SIGNATURE_MISMATCH, SDK_APP_ID_MISMATCH, IDENTIFIER_MISMATCH,
    USERBUF_UNEXPECTED / USERBUF_MISSING. Never raises for any ``token``. Decoded tokens of at most
    ``DECODE_CACHE_MAX_CHARS`` characters come from a per-process cache of ``DECODE_CACHE_ENTRIES``.
    """
    try:
        decoded = _decode_cached(token) if type(token) is str else _decode_claims(token)
    except (ValueError, zlib.error, binascii.Error, RecursionError):
        return _MALFORMED
    if decoded is None:
        return _VERSION
    claims, to_sign, sig = decoded
    if not hmac.compare_digest(_hmac_sha256(key, to_sign), sig):
        return _verification(VerificationFailure.SIGNATURE_MISMATCH, claims, False)
    reason: VerificationFailure | None = None
    if claims.sdk_app_id != sdk_app_id:
        reason = VerificationFailure.SDK_APP_ID_MISMATCH
    elif claims.identifier != user_id:
        reason = VerificationFailure.IDENTIFIER_MISMATCH
    elif claims.userbuf is not None and not expect_userbuf:
        reason = VerificationFailure.USERBUF_UNEXPECTED
    elif claims.userbuf is None and expect_userbuf:
        reason = VerificationFailure.USERBUF_MISSING
    return _verification(reason, claims, True)


def verify_usersig(
    token: str,
    *,
    sdk_app_id: int,
    secret_key: str,
    user_id: str,
    now: int | None = None,
    expect_userbuf: bool = False,
) -> UserSigVerification:
    """Verify a UserSig made by any TLS-Sig-API v2 implementation; never raises for a bad token.

    The token is decoded and its claims are checked, never re-encoded and compared as a string, so
    compact JSON, other key orders and other zlib levels (including stored/level 0) are all accepted.

    Checks, first failure wins: MALFORMED, VERSION, SIGNATURE_MISMATCH, SDK_APP_ID_MISMATCH,
    IDENTIFIER_MISMATCH, USERBUF_UNEXPECTED / USERBUF_MISSING, EXPIRED (``now > time + expire``).

    Args:
        token: the UserSig text as received.
        sdk_app_id: expected SDKAppID, ``1 .. 2**32 - 1``.
        secret_key: that app's secret key (its UTF-8 text is the HMAC key).
        user_id: expected user id, compared exactly (case-sensitive, no Unicode normalisation).
        now: current time in unix seconds; ``None`` (default) means ``int(time.time())``.
        expect_userbuf: ``False`` (default) rejects tokens carrying a userbuf with USERBUF_UNEXPECTED;
            ``True`` requires one (USERBUF_MISSING otherwise). The userbuf is returned in ``claims``.

    Raises:
        UserSigInputError: only when one of *our* arguments (not the token) is invalid.
    """
    key = check_secret_key(secret_key)
    if type(sdk_app_id) is not int or not 1 <= sdk_app_id <= MAX_SDK_APP_ID:  # the common case inline
        check_int("sdk_app_id", sdk_app_id, 1, MAX_SDK_APP_ID)  # raises, or passes an int subclass
    check_text("user_id", user_id, MAX_USER_ID_BYTES)
    # A verifier's clock is not bound by the format: any int64. The common case inline.
    current = now if type(now) is int and 0 <= now <= INT64_MAX else resolve_now(now, high=INT64_MAX)
    result = open_token(token, key, sdk_app_id, user_id, bool(expect_userbuf))
    if result.reason is None and result.claims is not None and current > result.claims.expires_at:
        return _verification(VerificationFailure.EXPIRED, result.claims, True)
    return result
