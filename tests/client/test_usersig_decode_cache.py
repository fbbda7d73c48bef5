"""R22: the verifier's per-token decode cache changes no answer; the one-pass token alphabet check.

Decoding a token (base64, inflate, JSON, field types) is cached per token text; the signature and
every claim must still be checked on every call with that call's key, app, user and clock.
"""

from __future__ import annotations

import contextlib
import random
import string
import types
from collections.abc import Iterator
from unittest import mock

import pytest
import TLSSigAPIv2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtcconsole import _usersig
from rtcconsole.usersig import (
    MAX_USERBUF_BYTES,
    UserSigVerification,
    VerificationFailure,
    generate_usersig,
    verify_usersig,
)

SDK = 1400000000
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
OTHER_KEY = KEY[::-1]
NOW = 1700000000
F = VerificationFailure
ROUND_TRIPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def reference_clock(now: int) -> Iterator[None]:
    """Freeze ``time.time`` as seen by the PyPI module only."""
    with mock.patch.object(TLSSigAPIv2, "time", types.SimpleNamespace(time=lambda: float(now))):
        yield


def reference_token(sdk: int, key: str, user: str, expire: int, now: int) -> str:
    with reference_clock(now):
        return str(TLSSigAPIv2.TLSSigAPIv2(sdk, key).gen_sig(user, expire))


def answers(token: object, user: str, sdk: int, now: int) -> list[UserSigVerification]:
    """Right key; other key; other user; other app; one second after expiry (if representable)."""
    ask = [
        {"secret_key": KEY, "user_id": user, "sdk_app_id": sdk, "now": now},
        {"secret_key": OTHER_KEY, "user_id": user, "sdk_app_id": sdk, "now": now},
        {"secret_key": KEY, "user_id": user + "x", "sdk_app_id": sdk, "now": now},
        {"secret_key": KEY, "user_id": user, "sdk_app_id": sdk % (2**32 - 1) + 1, "now": now},
    ]
    return [verify_usersig(token, **kwargs) for kwargs in ask]  # type: ignore[arg-type]


@ROUND_TRIPS
@given(
    user=st.text(st.characters(codec="utf-8"), min_size=1, max_size=30),
    sdk=st.integers(1, 2**32 - 2),
    expire=st.integers(1, 2**31 - 1),
    now=st.integers(0, 2**32 - 1),
)
def test_r22_warm_cache_gives_the_cold_answers(user: str, sdk: int, expire: int, now: int) -> None:
    token = reference_token(sdk, KEY, user, expire, now)
    _usersig._decode_cached.clear()
    cold = answers(token, user, sdk, now)
    warm = answers(token, user, sdk, now)
    assert cold == warm
    assert [answer.reason for answer in warm] == [
        None,
        F.SIGNATURE_MISMATCH,
        F.IDENTIFIER_MISMATCH,
        F.SDK_APP_ID_MISMATCH,
    ]
    assert [answer.authenticated for answer in warm] == [True, False, True, True]
    late = verify_usersig(token, sdk_app_id=sdk, secret_key=KEY, user_id=user, now=now + expire + 1)
    assert late.reason is F.EXPIRED and late.authenticated


def test_r22_a_cached_token_is_still_checked_against_each_callers_key() -> None:
    token = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW)
    assert verify_usersig(token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW).ok
    forged = verify_usersig(token, sdk_app_id=SDK, secret_key=OTHER_KEY, user_id="alice", now=NOW)
    assert forged.reason is F.SIGNATURE_MISMATCH and not forged.authenticated


def test_r22_long_tokens_are_verified_without_being_cached() -> None:
    userbuf = random.Random(16).randbytes(MAX_USERBUF_BYTES)  # incompressible: a long token
    token = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW, userbuf=userbuf)
    assert len(token) > _usersig.DECODE_CACHE_MAX_CHARS
    _usersig._decode_cached.clear()
    result = verify_usersig(
        token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW, expect_userbuf=True
    )
    assert result.ok and result.claims is not None and result.claims.userbuf == userbuf
    assert len(_usersig._decode_cached) == 0


def test_r22_malformed_tokens_are_not_cached() -> None:
    _usersig._decode_cached.clear()
    for token in ("", "AAAA", "eJz" * 30, "not a token!"):
        result = verify_usersig(token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW)
        assert result.reason is F.MALFORMED
    assert len(_usersig._decode_cached) == 0


class _UnhashableText(str):
    __hash__ = None  # type: ignore[assignment]


@pytest.mark.parametrize("token", [["a"], {"TLS.ver": "2.0"}, bytearray(b"eJw"), _UnhashableText("eJw")])
def test_r22_unhashable_or_odd_tokens_are_malformed_not_errors(token: object) -> None:
    result = verify_usersig(token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW)  # type: ignore[arg-type]
    assert result.reason is F.MALFORMED


_ALPHABET = set(string.ascii_letters + string.digits + "*-_")


@pytest.mark.parametrize("char", [chr(code) for code in range(256) if chr(code) not in _ALPHABET])
def test_r22_every_character_outside_the_token_alphabet_is_malformed(char: str) -> None:
    token = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW)
    assert verify_usersig(token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW).ok
    for spoiled in (char + token, token[:10] + char + token[10:], token + char):
        result = verify_usersig(spoiled, sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW)
        assert result.reason is F.MALFORMED, repr(char)


def test_r22_a_short_token_inflating_to_a_long_identifier_is_not_cached() -> None:
    user = "a" * 1000  # compresses to a token shorter than DECODE_CACHE_MAX_CHARS
    token = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id=user, now=NOW)
    assert len(token) <= _usersig.DECODE_CACHE_MAX_CHARS
    _usersig._decode_cached.clear()
    assert verify_usersig(token, sdk_app_id=SDK, secret_key=KEY, user_id=user, now=NOW).ok
    assert len(_usersig._decode_cached) == 0


def test_r22_the_cache_holds_at_most_its_entries() -> None:
    _usersig._decode_cached.clear()
    tokens = [
        generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW - i)
        for i in range(_usersig.DECODE_CACHE_ENTRIES + 10)
    ]
    for token in tokens:
        assert verify_usersig(token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW).ok
    assert len(_usersig._decode_cached) == _usersig.DECODE_CACHE_ENTRIES
    for token in tokens[:20]:  # evicted ones decode again, same answers
        assert verify_usersig(token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW).ok
