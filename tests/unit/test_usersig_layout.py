"""R22: the reference-layout fast path of UserSig decoding never changes a verdict.

``rtcconsole._usersig_layout`` reads the exact JSON layout that ``tls-sig-api-v2`` writes with one
regular expression; everything else goes through the JSON parser and the per-field checks. Here the
two ways are run side by side (the fast one switched off by patching) on random documents in and
near that layout, valid and mangled: the decoded claims, string to sign and signature, or the
rejection, must be the same, and so must every ``verify_usersig`` answer.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import hmac
import json
import string
import zlib
from collections.abc import Iterator
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtcconsole import _usersig, _usersig_layout
from rtcconsole._tokencodec import inflate_token
from rtcconsole.usersig import (
    UserSigClaims,
    UserSigVerification,
    VerificationFailure,
    generate_private_map_key,
    generate_usersig,
    verify_private_map_key,
    verify_usersig,
)

KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
SDK = 1400000000
NOW = 1700000000
MANY = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_DECODE_ERRORS = (ValueError, zlib.error, binascii.Error, RecursionError)  # what open_token catches


@contextlib.contextmanager
def general_way_only() -> Iterator[None]:
    """Switch the fast path off (every document goes through JSON) and keep the cache out of it."""
    _usersig._decode_cached.clear()
    with mock.patch.object(_usersig, "read_reference_layout", lambda document: None):
        yield
    _usersig._decode_cached.clear()


def decoded(token: str) -> object:
    """``_decode_claims(token)``, or the word ``"malformed"`` for what ``open_token`` rejects."""
    try:
        return _usersig._decode_claims(token)
    except _DECODE_ERRORS:
        return "malformed"


def assert_same_both_ways(token: str) -> None:
    """``token`` (of user ``alice`` in app ``SDK``) decodes and verifies the same either way."""

    def outcome() -> tuple[object, UserSigVerification]:
        return decoded(token), verify_usersig(token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW)

    fast = outcome()
    with general_way_only():
        general = outcome()
    assert fast == general


def to_token(document: str) -> str:
    data = zlib.compress(document.encode("utf-8"))
    return base64.b64encode(data).decode("ascii").translate(str.maketrans("+/=", "*-_"))


def sig_text(key: str, message: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


_INT64 = st.integers(-(2**63), 2**63 - 1).map(str)
_ODD_INTEGERS = st.one_of(
    st.integers(-(2**66), 2**66).map(str),
    st.sampled_from([str(2**63), str(-(2**63) - 1), str(2**64), "-0", "00", "01", "1.0", "1e3", "+1"]),
    st.sampled_from([" 1", "true", "null", '"1"', "1" * 22, "-", "", "\\u0031"]),
)
_B64_TEXT = st.binary(max_size=40).map(lambda raw: base64.b64encode(raw).decode())
_ODD_B64_TEXT = st.text(alphabet="ABCxyz019+/=-_*\\", max_size=48)
_PLAIN_IDENTIFIERS = st.text(alphabet=string.ascii_letters + string.digits + "_-.@ ~\x7f", max_size=12)
_ODD_IDENTIFIERS = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=12),  # quotes, backslashes, controls, non-ASCII
    st.sampled_from(["é<&>", "a\\u0041", 'a\\"b', "a\\/b", "\\ud800", "a\\", "\\n"]),
)


@dataclasses.dataclass(frozen=True)
class Document:
    """A document in (or a step off) the reference layout, and what its fields were meant to be."""

    text: str
    identifier: str
    app: str


_FLAWS = (
    "identifier",
    "app",
    "expire",
    "time",
    "userbuf",
    "signature",
    "version",
    "fields",
    "separator",
    "character",
)


@st.composite
def near_layout_documents(draw: st.DrawFn) -> Document:
    """Half well-formed documents signed with ``KEY``; half with one flaw (a field or a character off)."""
    flaw = draw(st.sampled_from([None] * len(_FLAWS) + list(_FLAWS)))
    identifier = draw(_ODD_IDENTIFIERS if flaw == "identifier" else _PLAIN_IDENTIFIERS)
    app = draw(_ODD_INTEGERS if flaw == "app" else st.integers(0, 2**64 - 1).map(str))
    expire = draw(_ODD_INTEGERS if flaw == "expire" else _INT64)
    issued = draw(_ODD_INTEGERS if flaw == "time" else _INT64)
    userbuf = draw(_ODD_B64_TEXT if flaw == "userbuf" else st.none() | _B64_TEXT)
    to_sign = f"TLS.identifier:{identifier}\nTLS.sdkappid:{app}\nTLS.time:{issued}\nTLS.expire:{expire}\n"
    if userbuf is not None:
        to_sign += f"TLS.userbuf:{userbuf}\n"
    signature = draw(_B64_TEXT | _ODD_B64_TEXT if flaw == "signature" else st.just(sig_text(KEY, to_sign)))
    version = draw(
        st.sampled_from(['"1.0"', "2.0", '"2.00"', "null"]) if flaw == "version" else st.just('"2.0"')
    )
    fields = [
        f'"TLS.ver": {version}',
        f'"TLS.identifier": "{identifier}"',
        f'"TLS.sdkappid": {app}',
        f'"TLS.expire": {expire}',
        f'"TLS.time": {issued}',
    ]
    if userbuf is not None:
        fields.append(f'"TLS.userbuf": "{userbuf}"')
    fields.append(f'"TLS.sig": "{signature}"')
    if flaw == "fields":  # one field duplicated, dropped or swapped with the next
        index = draw(st.integers(0, len(fields) - 2))
        change = draw(st.sampled_from(["duplicate", "drop", "swap"]))
        if change == "duplicate":
            fields.insert(index, fields[index])
        elif change == "drop":
            del fields[index]
        else:
            fields[index], fields[index + 1] = fields[index + 1], fields[index]
    separator = draw(st.sampled_from([",", ",  ", " ,", ",\n"])) if flaw == "separator" else ", "
    text = "{" + separator.join(fields) + "}"
    if flaw == "character":
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.characters(codec="utf-8")) + text[at + 1 :]
    return Document(text, identifier, app)


@MANY
@given(document=near_layout_documents())
def test_r22_fast_and_general_decoding_agree(document: Document) -> None:
    token = to_token(document.text)
    fast = decoded(token)
    with general_way_only():
        general = decoded(token)
    assert fast == general


@MANY
@given(document=near_layout_documents(), other_user=st.booleans(), expect_userbuf=st.booleans())
def test_r22_fast_and_general_verdicts_agree(
    document: Document, other_user: bool, expect_userbuf: bool
) -> None:
    token = to_token(document.text)
    user = "mallory" if other_user or not document.identifier else document.identifier
    app = int(document.app) if document.app.isdigit() and 1 <= int(document.app) < 2**32 else SDK

    def answers() -> list[UserSigVerification]:
        _usersig._decode_cached.clear()
        return [
            verify_usersig(
                token, sdk_app_id=sdk, secret_key=KEY, user_id=user, now=now, expect_userbuf=expect_userbuf
            )
            for sdk in (app, 2**32 - 1)
            for now in (0, NOW, 2**63 - 1)
        ]

    fast = answers()
    with general_way_only():
        general = answers()
    assert fast == general


@MANY
@given(
    user=st.text(st.characters(codec="utf-8"), min_size=1, max_size=30),
    sdk=st.integers(1, 2**32 - 1),
    expire=st.integers(1, 2**31 - 1),
    now=st.integers(0, 2**32 - 1),
    userbuf=st.none() | st.binary(max_size=64),
)
def test_r22_every_token_we_mint_takes_the_fast_path(
    user: str, sdk: int, expire: int, now: int, userbuf: bytes | None
) -> None:
    token = generate_usersig(
        sdk_app_id=sdk, secret_key=KEY, user_id=user, expire_seconds=expire, now=now, userbuf=userbuf
    )
    fields = _usersig_layout.read_reference_layout(inflate_token(token))
    if any(not " " <= char <= "~" or char in '"\\' for char in user):
        assert fields is None  # json.dumps escapes these (ensure_ascii): the general way reads them
        return
    assert fields is not None
    with general_way_only():
        general = _usersig._decode_claims(token)
    assert general is not None
    claims, to_sign, sig = general
    assert fields == (user, sdk, now, expire, userbuf, sig, to_sign)
    assert claims == UserSigClaims(user, sdk, now, expire, now + expire, userbuf)


def test_r22_private_map_keys_take_the_fast_path_with_the_same_answer() -> None:
    token = generate_private_map_key(sdk_app_id=SDK, secret_key=KEY, user_id="alice", room_id=1234, now=NOW)
    assert _usersig_layout.read_reference_layout(inflate_token(token)) is not None
    _usersig._decode_cached.clear()
    fast = verify_private_map_key(
        token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", room_id=1234, now=NOW
    )
    with general_way_only():
        general = verify_private_map_key(
            token, sdk_app_id=SDK, secret_key=KEY, user_id="alice", room_id=1234, now=NOW
        )
    assert fast == general and fast.ok


def test_r22_the_fast_builders_make_equal_frozen_objects() -> None:
    built = _usersig._claims("alice", SDK, NOW, 60, b"x")
    plain = UserSigClaims("alice", SDK, NOW, 60, NOW + 60, b"x")
    assert (built, hash(built), repr(built)) == (plain, hash(plain), repr(plain))
    assert dataclasses.astuple(built) == dataclasses.astuple(plain)
    result = _usersig._verification(VerificationFailure.EXPIRED, built, True)
    reference = UserSigVerification(VerificationFailure.EXPIRED, plain, True)
    assert (result, hash(result), repr(result)) == (reference, hash(reference), repr(reference))
    with contextlib.suppress(dataclasses.FrozenInstanceError):
        built.identifier = "mallory"  # type: ignore[misc]
    assert built.identifier == "alice"


@given(key=st.binary(min_size=1, max_size=200), message=st.binary(max_size=300))
def test_r22_the_hmac_is_hmac_sha256(key: bytes, message: bytes) -> None:
    assert _usersig._hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()


_EDGE_INTEGERS = [
    "0", "-0", "00", "01", "-01", "1", "-1", "+1", "1.0", "1e3", "1E3", "0x1", "1_000", " 1", "١",
    str(2**63 - 1), str(2**63), str(-(2**63)), str(-(2**63) - 1), str(2**64 - 1), str(2**64),
    "9" * 19, "9" * 20, "9" * 21, "1" * 22, "-" + "9" * 19, "-" + "9" * 20,
]  # fmt: skip


@pytest.mark.parametrize("field", ["sdkappid", "expire", "time"])
@pytest.mark.parametrize("value", _EDGE_INTEGERS)
def test_r22_integers_at_the_edges_decode_the_same_both_ways(field: str, value: str) -> None:
    values = {"sdkappid": "1400000000", "expire": "86400", "time": "1700000000", field: value}
    to_sign = "TLS.identifier:alice\n" + "".join(
        f"TLS.{name}:{values[name]}\n" for name in ("sdkappid", "time", "expire")
    )
    text = (
        f'{{"TLS.ver": "2.0", "TLS.identifier": "alice", "TLS.sdkappid": {values["sdkappid"]}, '
        f'"TLS.expire": {values["expire"]}, "TLS.time": {values["time"]}, '
        f'"TLS.sig": "{sig_text(KEY, to_sign)}"}}'
    )
    assert_same_both_ways(to_token(text))


_SIGNATURES = [base64.b64encode(bytes(range(n))).decode() for n in (0, 1, 30, 31, 32, 33, 48)] + [
    "A" * 43 + "=", "A" * 44, "A" * 42 + "==", "A" * 43, "A" * 43 + "==", "=" + "A" * 43, "A" * 43 + "_",
]  # fmt: skip


@pytest.mark.parametrize("signature", _SIGNATURES)
def test_r22_signatures_of_any_length_decode_the_same_both_ways(signature: str) -> None:
    text = json.dumps({"TLS.ver": "2.0", "TLS.identifier": "alice", "TLS.sdkappid": SDK, "TLS.expire": 60,
                       "TLS.time": NOW, "TLS.sig": signature})  # fmt: skip
    assert_same_both_ways(to_token(text))
