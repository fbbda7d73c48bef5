"""R14: PrivateMapKey, a UserSig whose userbuf carries account, app, room, expiry and privileges."""

from __future__ import annotations

import base64
import contextlib
import json
import types
import zlib
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import TLSSigAPIv2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtcconsole.usersig import (
    MAX_STR_ROOM_ID_BYTES,
    MalformedUserbufError,
    PrivateMapClaims,
    PrivateMapKeyVerification,
    Privilege,
    UserSigInputError,
    VerificationFailure,
    decode_private_map_userbuf,
    encode_private_map_userbuf,
    generate_private_map_key,
    generate_usersig,
    verify_private_map_key,
)

SDK = 1400000000
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
NOW = 1700000000
F = VerificationFailure
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Golden vectors: the inflated JSON of the reference implementation's genPrivateMapKey("xiaojun", 86400,
# 10000, 255) and genPrivateMapKeyWithStringRoomID("xiaojun", 86400, "adbjkl", 42) (tencentyun/
# tls-sig-api-v2-python, which PyPI 1.1 predates), sdkappid 1400000000, KEY, clock frozen at NOW.
GOLDEN_NUMERIC = (
    '{"TLS.ver": "2.0", "TLS.identifier": "xiaojun", "TLS.sdkappid": 1400000000, "TLS.expire": 86400, '
    '"TLS.time": 1700000000, "TLS.userbuf": "AAAHeGlhb2p1blNyTgAAACcQZVVCgAAAAP8AAAAA", '
    '"TLS.sig": "m5WPLBP4ZpMhjE/+GSzmHQEKbLMxsvWih1uhJTQ0sPw="}'
)
GOLDEN_STRING = (
    '{"TLS.ver": "2.0", "TLS.identifier": "xiaojun", "TLS.sdkappid": 1400000000, "TLS.expire": 86400, '
    '"TLS.time": 1700000000, "TLS.userbuf": "AQAHeGlhb2p1blNyTgAAAAAAZVVCgAAAACoAAAAAAAZhZGJqa2w=", '
    '"TLS.sig": "srKkR+D9Gj1W6IZmuCGDMFuJoPTGGka3eAu9yyFWHT8="}'
)

ascii_ids = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40)
unicode_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
room_ids = st.integers(1, 2**32 - 1)
privileges = st.integers(0, 255).map(Privilege)
expires = st.integers(1, 2**31 - 1)
clocks = st.integers(0, 2**32 - 1 - (2**31 - 1))


def be(value: int, size: int) -> bytes:
    """Big-endian bytes by shifting, written independently of the module's ``struct`` layout."""
    return bytes((value >> (8 * i)) & 0xFF for i in reversed(range(size)))


def reference_userbuf(
    account: str, sdk: int, room: int, expires_at: int, privilege_map: int, str_room: str = ""
) -> bytes:
    """Test oracle of the userbuf layout (UTF-8 texts, as the Go reference; equals ord() for ASCII)."""
    account_bytes, room_bytes = account.encode(), str_room.encode()
    out = be(1 if room_bytes else 0, 1) + be(len(account_bytes), 2) + account_bytes
    out += be(sdk, 4) + be(room, 4) + be(expires_at, 4) + be(privilege_map, 4) + be(0, 4)
    if room_bytes:
        out += be(len(room_bytes), 2) + room_bytes
    return out


@contextlib.contextmanager
def reference_clock(now: int) -> Iterator[None]:
    with mock.patch.object(TLSSigAPIv2, "time", types.SimpleNamespace(time=lambda: float(now))):
        yield


def reference_key(user: str, expire: int, now: int, userbuf: bytes, sdk: int = SDK) -> str:
    with reference_clock(now):
        return str(TLSSigAPIv2.TLSSigAPIv2(sdk, KEY).gen_sig_with_userbuf(user, expire, userbuf))


def inflate(token: str) -> bytes:
    return zlib.decompress(base64.b64decode(token.replace("*", "+").replace("-", "/").replace("_", "=")))


def to_token(text: str, level: int) -> str:
    data = base64.b64encode(zlib.compress(text.encode(), level)).decode()
    return data.replace("+", "*").replace("/", "-").replace("=", "_")


def verify(token: object, user: str = "alice", now: int = NOW, **kw: Any) -> PrivateMapKeyVerification:
    if "room_id" not in kw and "str_room_id" not in kw:
        kw["room_id"] = 1234
    return verify_private_map_key(token, sdk_app_id=SDK, secret_key=KEY, user_id=user, now=now, **kw)  # type: ignore[arg-type]


def signed_with_userbuf(userbuf: bytes, user: str = "alice", expire: int = 3600) -> str:
    """A genuine token (our key) carrying an arbitrary userbuf, to reach the userbuf-level reasons."""
    return generate_usersig(
        sdk_app_id=SDK, secret_key=KEY, user_id=user, expire_seconds=expire, now=NOW, userbuf=userbuf
    )


def pmk(user: str = "alice", expire: int = 3600, now: int = NOW, **kw: Any) -> str:
    if "room_id" not in kw and "str_room_id" not in kw:
        kw["room_id"] = 1234
    return generate_private_map_key(
        sdk_app_id=SDK, secret_key=KEY, user_id=user, expire_seconds=expire, now=now, **kw
    )


# --- generation ----------------------------------------------------------------------------------------


def test_r14_privilege_bits() -> None:
    assert [int(p) for p in Privilege if p is not Privilege.ALL] == [1, 2, 4, 8, 16, 32, 64, 128]
    assert int(Privilege.ALL) == 255
    assert Privilege.ENTER_ROOM | Privilege.RECEIVE_AUDIO | Privilege.RECEIVE_VIDEO == 42


def test_r14_golden_vectors_of_the_reference_implementation() -> None:
    numeric = pmk("xiaojun", 86400, room_id=10000, privileges=Privilege.ALL)
    string = pmk("xiaojun", 86400, str_room_id="adbjkl", privileges=Privilege(42))
    assert inflate(numeric).decode() == GOLDEN_NUMERIC
    assert inflate(string).decode() == GOLDEN_STRING
    golden_buf = bytes.fromhex("0000077869616f6a756e53724e000000271065554280000000ff00000000")
    assert numeric == reference_key("xiaojun", 86400, NOW, golden_buf)


@settings(max_examples=150, deadline=None)
@given(
    user=ascii_ids, sdk=st.integers(1, 2**32 - 1), room=room_ids, grant=privileges, expire=expires, now=clocks
)
def test_r14_numeric_room_is_byte_identical(
    user: str, sdk: int, room: int, grant: Privilege, expire: int, now: int
) -> None:
    ours = generate_private_map_key(
        sdk_app_id=sdk,
        secret_key=KEY,
        user_id=user,
        room_id=room,
        privileges=grant,
        expire_seconds=expire,
        now=now,
    )
    buf = reference_userbuf(user, sdk, room, now + expire, grant)
    assert ours == reference_key(user, expire, now, buf, sdk)


@settings(max_examples=150, deadline=None)
@given(user=ascii_ids, room=ascii_ids, grant=privileges, expire=expires, now=clocks)
def test_r14_string_room_is_byte_identical(
    user: str, room: str, grant: Privilege, expire: int, now: int
) -> None:
    ours = pmk(user, expire, now, str_room_id=room, privileges=grant)
    assert ours == reference_key(
        user, expire, now, reference_userbuf(user, SDK, 0, now + expire, grant, room)
    )


@settings(max_examples=100, deadline=None)
@given(user=unicode_ids, room=unicode_ids, numeric=st.booleans())
def test_r14_unicode_ids_are_utf8_in_the_userbuf(user: str, room: str, numeric: bool) -> None:
    token = pmk(user, room_id=99) if numeric else pmk(user, str_room_id=room)
    expected = reference_userbuf(user, SDK, 99, NOW + 3600, 255) if numeric else None
    if expected is None:
        expected = reference_userbuf(user, SDK, 0, NOW + 3600, 255, room)
    assert token == reference_key(user, 3600, NOW, expected)


@settings(max_examples=200, deadline=None)
@given(
    user=unicode_ids,
    sdk=st.integers(1, 2**32 - 1),
    room=room_ids | unicode_ids,
    at=st.integers(0, 2**32 - 1),
    grant=privileges,
)
def test_r14_userbuf_round_trip(user: str, sdk: int, room: int | str, at: int, grant: Privilege) -> None:
    rooms: dict[str, Any] = {"str_room_id": room} if isinstance(room, str) else {"room_id": room}
    data = encode_private_map_userbuf(sdk_app_id=sdk, user_id=user, expires_at=at, privileges=grant, **rooms)
    decoded = decode_private_map_userbuf(data)
    assert decoded == PrivateMapClaims(
        version=1 if isinstance(room, str) else 0,
        account=user,
        sdk_app_id=sdk,
        room_id=0 if isinstance(room, str) else room,
        str_room_id=room if isinstance(room, str) else None,
        expires_at=at,
        privileges=grant,
        account_type=0,
    )
    for cut in range(len(data)):  # every proper prefix is rejected
        with pytest.raises(MalformedUserbufError):
            decode_private_map_userbuf(data[:cut])


VALID_BUF = reference_userbuf("alice", SDK, 1234, NOW + 3600, 255)
VALID_STR_BUF = reference_userbuf("alice", SDK, 0, NOW + 3600, 255, "lobby")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty", b""),
        ("trailing byte", VALID_BUF + b"\x00"),
        ("string trailing byte", VALID_STR_BUF + b"\x00"),
        ("version 2", b"\x02" + VALID_BUF[1:]),
        ("v0 with room string", b"\x00" + VALID_STR_BUF[1:]),
        ("v1 without room string", b"\x01" + VALID_BUF[1:]),
        ("v1 with numeric room", VALID_STR_BUF[:12] + be(7, 4) + VALID_STR_BUF[16:]),
        ("v1 empty room", b"\x01" + VALID_BUF[1:] + b"\x00\x00"),
        ("account not utf-8", VALID_BUF.replace(b"alice", b"al\xffce")),
        ("room not utf-8", VALID_STR_BUF.replace(b"lobby", b"lob\xc3y")),
        ("account length too long", VALID_BUF[:2] + b"\x06" + VALID_BUF[3:]),
        ("account length too short", VALID_BUF[:2] + b"\x04" + VALID_BUF[3:]),
    ],
)
def test_r14_decode_rejects_malformed_userbufs(name: str, data: bytes) -> None:
    with pytest.raises(MalformedUserbufError):
        decode_private_map_userbuf(data)


# --- verification --------------------------------------------------------------------------------------


def test_r14_generated_keys_verify_with_claims() -> None:
    grant = Privilege.ENTER_ROOM | Privilege.SEND_AUDIO
    numeric = verify(pmk(room_id=1234, privileges=grant), required=grant)
    assert numeric.ok and numeric.authenticated
    assert numeric.private_map == PrivateMapClaims(0, "alice", SDK, 1234, None, NOW + 3600, grant, 0)
    assert numeric.claims is not None and numeric.claims.userbuf == VALID_BUF.replace(be(255, 4), be(6, 4))
    string = verify(pmk(str_room_id="lobby"), str_room_id="lobby")
    assert string.ok and string.private_map is not None and string.private_map.str_room_id == "lobby"


@settings(max_examples=60, deadline=None)
@given(level=st.sampled_from([0, 1, 9]), numeric=st.booleans())
def test_r14_go_style_reencodings_verify(level: int, numeric: bool) -> None:
    rooms: dict[str, Any] = {"room_id": 1234} if numeric else {"str_room_id": "lobby"}
    doc = json.loads(inflate(pmk(**rooms)))
    text = json.dumps(dict(sorted(doc.items(), reverse=True)), separators=(",", ":")) + "\n"
    assert verify(to_token(text, level), **rooms).ok


def test_r14_string_and_numeric_rooms_never_cross() -> None:
    as_string = pmk(str_room_id="1234")
    as_number = pmk(room_id=1234)
    assert verify(as_string, str_room_id="1234").ok
    assert verify(as_string, room_id=1234).reason is F.ROOM_MISMATCH
    assert verify(as_number, room_id=1234).ok
    assert verify(as_number, str_room_id="1234").reason is F.ROOM_MISMATCH
    assert verify(as_number, room_id=1235).reason is F.ROOM_MISMATCH
    assert verify(as_string, str_room_id="Lobby1234").reason is F.ROOM_MISMATCH


def test_r14_every_reason_is_reachable() -> None:
    def buf(**kw: Any) -> bytes:
        args: dict[str, Any] = {"account": "alice", "sdk": SDK, "room": 1234, "expires_at": NOW + 3600}
        return reference_userbuf(**{**args, "privilege_map": 255, **kw})

    cases = {
        F.MALFORMED: verify("!"),
        F.VERSION: verify(to_token(json.dumps({"TLS.ver": "1.0"}), 6)),
        F.SIGNATURE_MISMATCH: verify(
            generate_private_map_key(
                sdk_app_id=SDK, secret_key="other", user_id="alice", room_id=1234, now=NOW
            )
        ),
        F.SDK_APP_ID_MISMATCH: verify(
            generate_private_map_key(
                sdk_app_id=SDK + 1, secret_key=KEY, user_id="alice", room_id=1234, now=NOW
            )
        ),
        F.IDENTIFIER_MISMATCH: verify(pmk(), user="bob"),
        F.USERBUF_MISSING: verify(generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW)),
        F.USERBUF_MALFORMED: verify(signed_with_userbuf(b"free-form userbuf")),
        F.ACCOUNT_MISMATCH: verify(signed_with_userbuf(buf(account="mallory"))),
        F.ROOM_MISMATCH: verify(pmk(room_id=1), room_id=2),
        F.EXPIRED: verify(pmk(expire=10), now=NOW + 11),
        F.USERBUF_EXPIRED: verify(signed_with_userbuf(buf(expires_at=NOW + 10)), now=NOW + 11),
        F.PRIVILEGE_MISSING: verify(pmk(privileges=Privilege.ENTER_ROOM), required=Privilege.SEND_VIDEO),
    }
    for reason, result in cases.items():
        assert result.reason is reason and not result.ok, reason
    userbuf_app = verify(signed_with_userbuf(buf(sdk=SDK + 1)))
    assert userbuf_app.reason is F.SDK_APP_ID_MISMATCH and userbuf_app.authenticated
    account_type = verify(signed_with_userbuf(buf()[:-4] + be(1, 4)))
    assert account_type.reason is F.USERBUF_MALFORMED
    assert account_type.private_map is not None and account_type.private_map.account_type == 1


def test_r14_expiry_boundaries_are_inclusive() -> None:
    token = pmk(expire=100)
    assert verify(token, now=NOW + 100).ok
    assert verify(token, now=NOW + 101).reason is F.EXPIRED  # envelope and userbuf expire together
    short = signed_with_userbuf(reference_userbuf("alice", SDK, 1234, NOW + 50, 255), expire=100)
    assert verify(short, now=NOW + 50).ok
    late = verify(short, now=NOW + 51)
    assert late.reason is F.USERBUF_EXPIRED and late.private_map is not None
    assert late.private_map.expires_at == NOW + 50


@settings(max_examples=100, deadline=None)
@given(granted=privileges, required=privileges)
def test_r14_all_required_privileges_must_be_granted(granted: Privilege, required: Privilege) -> None:
    result = verify(pmk(privileges=granted), required=required)
    assert result.ok == (granted & required == required)
    if not result.ok:
        assert result.reason is F.PRIVILEGE_MISSING


def test_r14_forged_key_reveals_only_signature_mismatch() -> None:
    forged = generate_private_map_key(
        sdk_app_id=9, secret_key="guess", user_id="root", str_room_id="x", privileges=Privilege(0), now=0
    )
    result = verify(forged, now=NOW)
    assert result.reason is F.SIGNATURE_MISMATCH and not result.authenticated
    assert result.private_map is not None and result.private_map.account == "root"  # debugging only


def test_r14_reason_order_after_the_signature() -> None:
    wrong_room_and_expired = pmk(room_id=1, expire=1)
    assert verify(wrong_room_and_expired, room_id=2, now=NOW + 5).reason is F.ROOM_MISMATCH
    expired_and_unprivileged = pmk(privileges=Privilege(0), expire=1)
    assert verify(expired_and_unprivileged, now=NOW + 5).reason is F.EXPIRED
    plain_buf_other_user = signed_with_userbuf(b"x", user="bob")
    assert verify(plain_buf_other_user).reason is F.IDENTIFIER_MISMATCH


# --- input validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"room_id": 1, "str_room_id": "x"},
        {"room_id": 0},
        {"room_id": 2**32},
        {"room_id": True},
        {"room_id": "12"},
        {"str_room_id": ""},
        {"str_room_id": 12},
        {"str_room_id": "x" * (MAX_STR_ROOM_ID_BYTES + 1)},
        {"str_room_id": "\ud800"},
        {"room_id": 1, "privileges": 256},
        {"room_id": 1, "privileges": -1},
        {"room_id": 1, "privileges": True},
        {"room_id": 1, "user_id": ""},
        {"room_id": 1, "sdk_app_id": 2**32},
        {"room_id": 1, "secret_key": ""},
        {"room_id": 1, "expire_seconds": 0},
        {"room_id": 1, "now": 2**32 - 100, "expire_seconds": 100},  # absolute expiry past u32
    ],
    ids=repr,
)
def test_r14_generate_rejects_bad_arguments(bad: dict[str, Any]) -> None:
    args: dict[str, Any] = {"sdk_app_id": SDK, "secret_key": KEY, "user_id": "alice", "now": NOW, **bad}
    with pytest.raises(UserSigInputError):
        generate_private_map_key(**args)


def test_r14_latest_representable_expiry() -> None:
    token = pmk(now=2**32 - 101, expire=100)
    assert verify(token, now=2**32 - 1).ok


@pytest.mark.parametrize(
    "bad", [{}, {"room_id": 1, "str_room_id": "x"}, {"room_id": 1, "required": 256}, {"room_id": 0}], ids=repr
)
def test_r14_verify_rejects_bad_arguments(bad: dict[str, Any]) -> None:
    args: dict[str, Any] = {"sdk_app_id": SDK, "secret_key": KEY, "user_id": "alice", "now": NOW, **bad}
    with pytest.raises(UserSigInputError):
        verify_private_map_key("junk", **args)


def test_r14_encode_rejects_bad_arguments() -> None:
    with pytest.raises(UserSigInputError):
        encode_private_map_userbuf(sdk_app_id=SDK, user_id="a", room_id=1, expires_at=2**32)
    with pytest.raises(UserSigInputError):
        encode_private_map_userbuf(sdk_app_id=SDK, user_id="a", expires_at=1)


# --- fuzz: verify never raises -------------------------------------------------------------------------


def _assert_typed(result: PrivateMapKeyVerification) -> None:
    assert isinstance(result, PrivateMapKeyVerification)
    assert result.reason is None or isinstance(result.reason, VerificationFailure)


@FUZZ
@given(st.text())
def test_r14_fuzz_arbitrary_text(token: str) -> None:
    result = verify(token)
    _assert_typed(result)
    assert not result.ok


@FUZZ
@given(st.binary(max_size=300), st.booleans())
def test_r14_fuzz_signed_arbitrary_userbufs(userbuf: bytes, string_room: bool) -> None:
    room: dict[str, Any] = {"str_room_id": "lobby"} if string_room else {"room_id": 1234}
    result = verify(signed_with_userbuf(userbuf), **room)
    _assert_typed(result)
    assert result.authenticated
    if result.private_map is None:
        assert result.reason is F.USERBUF_MALFORMED


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4))
def test_r14_fuzz_mutated_userbufs_of_valid_keys(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID_STR_BUF)
    for position, value in flips:
        data[position % len(data)] = value
    result = verify(signed_with_userbuf(bytes(data)), str_room_id="lobby")
    _assert_typed(result)
    if result.ok:  # the userbuf is signed, so a mutation may pass, but only if it still grants this exactly
        claims = result.private_map
        assert claims is not None and (claims.account, claims.str_room_id) == ("alice", "lobby")
        assert (
            claims.sdk_app_id == SDK
            and Privilege.ENTER_ROOM in claims.privileges
            and claims.expires_at >= NOW
        )


@FUZZ
@given(st.integers(0, 10**6), st.characters())
def test_r14_fuzz_mutated_tokens(position: int, char: str) -> None:
    token = pmk(str_room_id="lobby")
    i = position % len(token)
    result = verify(token[:i] + char + token[i + 1 :], str_room_id="lobby")
    _assert_typed(result)
    if result.ok:
        assert result.private_map == decode_private_map_userbuf(VALID_STR_BUF)
