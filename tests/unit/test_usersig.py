"""R22: UserSig generation (byte-identical to tls-sig-api-v2 1.1) and verification (claims, not strings)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
import tracemalloc
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
    DEFAULT_EXPIRE_SECONDS,
    MAX_INFLATED_BYTES,
    MAX_TOKEN_CHARS,
    MAX_USER_ID_BYTES,
    MAX_USERBUF_BYTES,
    UserSigInputError,
    UserSigVerification,
    VerificationFailure,
    generate_usersig,
    verify_usersig,
)

SDK = 1400000000
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
NOW = 1700000000
F = VerificationFailure

user_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
sdk_app_ids = st.integers(1, 2**32 - 1)
expires = st.integers(1, 2**31 - 1)
clocks = st.integers(0, 2**32 - 1)
secret_keys = st.one_of(st.just(KEY), st.text(st.characters(codec="utf-8"), min_size=1, max_size=80))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def reference_clock(now: int) -> Iterator[None]:
    """Freeze ``time.time`` as seen by the PyPI module only (its ``time`` name), not globally."""
    with mock.patch.object(TLSSigAPIv2, "time", types.SimpleNamespace(time=lambda: float(now))):
        yield


def reference(sdk: int, key: str, user: str, expire: int, now: int, userbuf: bytes | None = None) -> str:
    api = TLSSigAPIv2.TLSSigAPIv2(sdk, key)
    with reference_clock(now):
        if userbuf is None:
            return str(api.gen_sig(user, expire))
        return str(api.gen_sig_with_userbuf(user, expire, userbuf))


def to_token(payload: bytes, level: int | None = 6) -> str:
    """zlib (or nothing when ``level`` is None), standard base64, then the ``+/=`` -> ``*-_`` mapping."""
    data = payload if level is None else zlib.compress(payload, level)
    return base64.b64encode(data).decode().replace("+", "*").replace("/", "-").replace("=", "_")


def inflate(token: str) -> bytes:
    return zlib.decompress(base64.b64decode(token.replace("*", "+").replace("-", "/").replace("_", "=")))


def oracle_sig(key: str, user: str, sdk: int, t: int, expire: int, userbuf_b64: str | None = None) -> str:
    """Independent test oracle of the string to sign and TLS.sig."""
    lines = [f"TLS.identifier:{user}", f"TLS.sdkappid:{sdk}", f"TLS.time:{t}", f"TLS.expire:{expire}"]
    if userbuf_b64 is not None:
        lines.append(f"TLS.userbuf:{userbuf_b64}")
    text = "".join(line + "\n" for line in lines)
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()).decode()


def signed_doc(
    user: str = "alice",
    sdk: int = SDK,
    t: int = NOW,
    expire: int = 3600,
    userbuf: bytes | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A document signed by the test oracle, then ``overrides`` applied (after signing)."""
    doc: dict[str, Any] = {
        "TLS.ver": "2.0",
        "TLS.identifier": user,
        "TLS.sdkappid": sdk,
        "TLS.expire": expire,
        "TLS.time": t,
    }
    if userbuf is not None:
        doc["TLS.userbuf"] = base64.b64encode(userbuf).decode()
    doc["TLS.sig"] = oracle_sig(KEY, user, sdk, t, expire, doc.get("TLS.userbuf"))
    doc.update(overrides or {})
    return doc


def json_token(doc: Any, level: int | None = 6, **dumps: Any) -> str:
    return to_token(json.dumps(doc, **dumps).encode(), level)


def reencode(token: str, *, level: int, order: str = "reversed", trailing_newline: bool = False) -> str:
    """Go-style re-encoding: compact JSON, another key order, another zlib level, optional newline."""
    doc = json.loads(inflate(token))
    keys = sorted(doc, reverse=order == "reversed")
    text = json.dumps({k: doc[k] for k in keys}, separators=(",", ":"), ensure_ascii=False)
    return to_token((text + ("\n" if trailing_newline else "")).encode(), level)


def check(token: object, user: str = "alice", now: int = NOW, **kw: Any) -> UserSigVerification:
    return verify_usersig(token, sdk_app_id=SDK, secret_key=KEY, user_id=user, now=now, **kw)  # type: ignore[arg-type]


# --- generation: byte-identical to the PyPI reference ----------------------------------------------


@settings(max_examples=200, deadline=None)
@given(user=user_ids, sdk=sdk_app_ids, key=secret_keys, expire=expires, now=clocks)
def test_r22_generate_is_byte_identical_to_reference(
    user: str, sdk: int, key: str, expire: int, now: int
) -> None:
    ours = generate_usersig(sdk_app_id=sdk, secret_key=key, user_id=user, expire_seconds=expire, now=now)
    assert ours == reference(sdk, key, user, expire, now)


@settings(max_examples=200, deadline=None)
@given(user=user_ids, sdk=sdk_app_ids, expire=expires, now=clocks, userbuf=st.binary(max_size=300))
def test_r22_generate_with_userbuf_is_byte_identical(
    user: str, sdk: int, expire: int, now: int, userbuf: bytes
) -> None:
    ours = generate_usersig(
        sdk_app_id=sdk, secret_key=KEY, user_id=user, expire_seconds=expire, now=now, userbuf=userbuf
    )
    assert ours == reference(sdk, KEY, user, expire, now, userbuf)


def test_r22_default_expiry_is_180_days_like_reference() -> None:
    assert DEFAULT_EXPIRE_SECONDS == 15552000
    ours = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="xiaojun", now=NOW)
    api = TLSSigAPIv2.TLSSigAPIv2(SDK, KEY)
    with reference_clock(NOW):
        assert ours == api.gen_sig("xiaojun")
    assert json.loads(inflate(ours))["TLS.expire"] == 15552000


def test_r22_now_none_reads_time_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW + 0.99)
    ours = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice")
    assert ours == reference(SDK, KEY, "alice", DEFAULT_EXPIRE_SECONDS, NOW)
    assert verify_usersig(ours, sdk_app_id=SDK, secret_key=KEY, user_id="alice").ok


def test_r22_json_layout_matches_reference_exactly() -> None:
    token = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="é<&>", expire_seconds=60, now=NOW)
    text = inflate(token).decode("ascii")
    assert text.startswith('{"TLS.ver": "2.0", "TLS.identifier": "\\u00e9<&>", "TLS.sdkappid": 1400000000, ')
    assert '"TLS.expire": 60, "TLS.time": 1700000000, "TLS.sig": "' in text


# --- verification: accepted tokens --------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(user=user_ids, sdk=sdk_app_ids, key=secret_keys, expire=expires, now=clocks)
def test_r22_reference_tokens_verify(user: str, sdk: int, key: str, expire: int, now: int) -> None:
    token = reference(sdk, key, user, expire, now)
    result = verify_usersig(token, sdk_app_id=sdk, secret_key=key, user_id=user, now=now + expire)
    assert result.ok and result.authenticated and result.reason is None
    assert result.claims is not None
    assert (result.claims.identifier, result.claims.sdk_app_id) == (user, sdk)
    assert (result.claims.time, result.claims.expire, result.claims.expires_at) == (now, expire, now + expire)
    assert result.claims.userbuf is None


@settings(max_examples=100, deadline=None)
@given(user=user_ids, userbuf=st.binary(max_size=200), level=st.sampled_from([0, 1, 9]))
def test_r22_go_style_reencodings_verify(user: str, userbuf: bytes, level: int) -> None:
    token = reference(SDK, KEY, user, 3600, NOW, userbuf)
    for order in ("reversed", "sorted"):
        for newline in (False, True):
            other = reencode(token, level=level, order=order, trailing_newline=newline)
            result = verify_usersig(
                other, sdk_app_id=SDK, secret_key=KEY, user_id=user, now=NOW, expect_userbuf=True
            )
            assert result.ok, result.reason
            assert result.claims is not None and result.claims.userbuf == userbuf


def test_r22_go_html_escaped_identifier_verifies() -> None:
    doc = signed_doc(user="<a&b>")
    text = json.dumps(doc, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")
    assert check(to_token(text.replace("&", "\\u0026").encode(), 0), user="<a&b>").ok


def test_r22_unknown_extra_fields_are_ignored() -> None:
    assert check(json_token(signed_doc(overrides={"TLS.future": [1, {"x": None}]}))).ok


def test_r22_empty_userbuf_from_reference_is_present_and_verifies() -> None:
    token = reference(SDK, KEY, "alice", 3600, NOW, b"")
    assert json.loads(inflate(token))["TLS.userbuf"] == ""
    result = check(token, expect_userbuf=True)
    assert result.ok and result.claims is not None and result.claims.userbuf == b""
    assert check(token).reason is F.USERBUF_UNEXPECTED


def test_r22_expiry_boundary_is_inclusive() -> None:
    token = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", expire_seconds=100, now=NOW)
    assert check(token, now=NOW + 100).ok
    late = check(token, now=NOW + 101)
    assert late.reason is F.EXPIRED and late.authenticated and late.claims is not None
    assert late.claims.expires_at == NOW + 100


def test_r22_largest_generated_token_fits_the_inflate_cap() -> None:
    user = "\x01" * MAX_USER_ID_BYTES  # ensure_ascii turns each byte into 6 characters
    userbuf = bytes(range(256)) * (MAX_USERBUF_BYTES // 256)
    token = generate_usersig(sdk_app_id=2**32 - 1, secret_key=KEY, user_id=user, now=NOW, userbuf=userbuf)
    assert len(inflate(token)) <= MAX_INFLATED_BYTES
    result = verify_usersig(
        token, sdk_app_id=2**32 - 1, secret_key=KEY, user_id=user, now=NOW, expect_userbuf=True
    )
    assert result.ok


def test_r22_inflated_size_cap_is_exact() -> None:
    doc = signed_doc(overrides={"pad": ""})
    overhead = len(json.dumps(doc).encode())
    doc["pad"] = "x" * (MAX_INFLATED_BYTES - overhead)
    assert len(json.dumps(doc).encode()) == MAX_INFLATED_BYTES
    assert check(json_token(doc, 9)).ok
    doc["pad"] += "x"
    assert check(json_token(doc, 9)).reason is F.MALFORMED


# --- verification: each reason from a concrete token -------------------------------------------------


def test_r22_every_reason_is_reachable() -> None:
    good = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", expire_seconds=60, now=NOW)
    with_buf = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW, userbuf=b"x")
    other_app = generate_usersig(sdk_app_id=SDK + 1, secret_key=KEY, user_id="alice", now=NOW)
    forged = generate_usersig(sdk_app_id=SDK, secret_key="not-the-key", user_id="alice", now=NOW)
    cases = {
        F.MALFORMED: check("definitely not a token"),
        F.VERSION: check(json_token({**signed_doc(), "TLS.ver": "3.0"})),
        F.SIGNATURE_MISMATCH: check(forged),
        F.SDK_APP_ID_MISMATCH: check(other_app),
        F.IDENTIFIER_MISMATCH: check(good, user="Alice"),
        F.USERBUF_UNEXPECTED: check(with_buf),
        F.USERBUF_MISSING: check(good, expect_userbuf=True),
        F.EXPIRED: check(good, now=NOW + 61),
    }
    for reason, result in cases.items():
        assert result.reason is reason
        assert not result.ok
    assert check(good).ok


def test_r22_tampered_claims_fail_the_signature() -> None:
    doc = json.loads(inflate(generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW)))
    changes = [
        ("TLS.identifier", "bob"),
        ("TLS.expire", 10**9),
        ("TLS.time", NOW + 1),
        ("TLS.sdkappid", SDK + 1),
    ]
    for name, value in changes:
        result = check(json_token({**doc, name: value}), user="bob" if name == "TLS.identifier" else "alice")
        assert result.reason is F.SIGNATURE_MISMATCH and not result.authenticated
    added = check(json_token({**doc, "TLS.userbuf": "AA=="}), expect_userbuf=True)
    assert added.reason is F.SIGNATURE_MISMATCH


def test_r22_forged_token_learns_only_signature_mismatch() -> None:
    # Wrong user, wrong app, expired and carrying a userbuf, but forged: nothing but SIGNATURE_MISMATCH.
    forged = generate_usersig(
        sdk_app_id=7, secret_key="guess", user_id="root", expire_seconds=1, now=0, userbuf=b"x"
    )
    result = check(forged, now=NOW)
    assert result.reason is F.SIGNATURE_MISMATCH and result.authenticated is False
    assert result.claims is not None and result.claims.identifier == "root"  # for the developer's logs


def test_r22_reason_order_for_genuine_tokens() -> None:
    both = generate_usersig(sdk_app_id=SDK + 1, secret_key=KEY, user_id="bob", expire_seconds=1, now=NOW)
    assert check(both, now=NOW + 5).reason is F.SDK_APP_ID_MISMATCH
    user_and_time = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="bob", expire_seconds=1, now=NOW)
    assert check(user_and_time, now=NOW + 5).reason is F.IDENTIFIER_MISMATCH
    buf_and_time = generate_usersig(
        sdk_app_id=SDK, secret_key=KEY, user_id="alice", expire_seconds=1, now=NOW, userbuf=b""
    )
    assert check(buf_and_time, now=NOW + 5).reason is F.USERBUF_UNEXPECTED


def test_r22_signature_is_compared_in_constant_time() -> None:
    token = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW)
    with mock.patch("hmac.compare_digest", wraps=hmac.compare_digest) as spy:
        assert check(token).ok
    assert spy.call_count == 1


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=31)
    return compressor.compress(data) + compressor.flush()


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


_GOOD = json.dumps(signed_doc()).encode()
_B64 = base64.b64encode


def _malformed_tokens() -> dict[str, object]:
    z = zlib.compress(_GOOD)
    return {
        "empty": "",
        "not str": _GOOD,
        "none": None,
        "plus sign": to_token(_GOOD).replace("*", "+") + "+",
        "whitespace": to_token(_GOOD) + "\n",
        "non-ascii": "é" + to_token(_GOOD),
        "bad padding": to_token(_GOOD)[:-1],
        "raw json, not zlib": to_token(_GOOD, None),
        "gzip": to_token(_gzip(_GOOD), None),
        "raw deflate": to_token(_raw_deflate(_GOOD), None),
        "truncated stream": to_token(z[:-4], None),
        "trailing data": to_token(z + b"\x00", None),
        "two streams": to_token(z + z, None),
        "invalid utf-8": to_token(b'{"TLS.ver": "2.0\xff"}'),
        "bom": to_token(b"\xef\xbb\xbf" + _GOOD),
        "too long": "A" * (MAX_TOKEN_CHARS + 4),
        "list": json_token([signed_doc()]),
        "string": json_token("2.0"),
        "null": json_token(None),
        "no version": json_token({k: v for k, v in signed_doc().items() if k != "TLS.ver"}),
        "duplicate key": to_token(_GOOD[:-1] + b', "TLS.identifier": "alice"}'),
        "NaN": to_token(_GOOD.replace(b'"TLS.time": 1700000000', b'"TLS.time": NaN')),
        "Infinity": to_token(_GOOD.replace(b'"TLS.time": 1700000000', b'"TLS.time": -Infinity')),
        "huge int": to_token(_GOOD.replace(b'"TLS.time": 1700000000', b'"TLS.time": ' + b"9" * 5000)),
        "deep nesting": to_token(b'{"TLS.ver": "2.0", "x": ' + b"[" * 7000 + b"]" * 7000 + b"}", 9),
        "lone surrogate": to_token(_GOOD.replace(b'"alice"', b'"\\ud800"')),
        "sig not base64": json_token(signed_doc(overrides={"TLS.sig": "!!!!"})),
        "sig short": json_token(signed_doc(overrides={"TLS.sig": _B64(b"x" * 31).decode()})),
        "sig non-ascii": json_token(signed_doc(overrides={"TLS.sig": "é" * 44})),
        "sig unpadded": json_token(signed_doc(overrides={"TLS.sig": signed_doc()["TLS.sig"].rstrip("=")})),
        "userbuf not base64": json_token(signed_doc(overrides={"TLS.userbuf": "a b"})),
        "userbuf int": json_token(signed_doc(overrides={"TLS.userbuf": 5})),
        "userbuf null": json_token(signed_doc(overrides={"TLS.userbuf": None})),
        **{
            f"missing {name}": json_token({k: v for k, v in signed_doc().items() if k != name})
            for name in ("TLS.identifier", "TLS.sdkappid", "TLS.time", "TLS.expire", "TLS.sig")
        },
        **{
            f"{name}={value!r}": json_token(signed_doc(overrides={name: value}))
            for name, value in [
                ("TLS.identifier", 5),
                ("TLS.identifier", None),
                ("TLS.sdkappid", "1400000000"),
                ("TLS.sdkappid", True),
                ("TLS.sdkappid", -1),
                ("TLS.sdkappid", 2**64),
                ("TLS.sdkappid", 1400000000.0),
                ("TLS.time", 1.5),
                ("TLS.time", False),
                ("TLS.time", 2**63),
                ("TLS.expire", "60"),
                ("TLS.expire", [60]),
                ("TLS.sig", 0),
            ]
        },
    }


@pytest.mark.parametrize(("name", "token"), list(_malformed_tokens().items()))
def test_r22_malformed_tokens(name: str, token: object) -> None:
    result = check(token)
    assert result.reason is F.MALFORMED, name
    assert result.claims is None and not result.authenticated


# --- zlib bombs --------------------------------------------------------------------------------------


def _bomb(prefix: bytes, filler: bytes, size: int, suffix: bytes) -> bytes:
    compressor = zlib.compressobj(9)
    chunk = filler * (1 << 20)
    out = [compressor.compress(prefix)]
    out += [compressor.compress(chunk) for _ in range(size >> 20)]
    return b"".join([*out, compressor.compress(suffix), compressor.flush()])


def _assert_rejected_cheaply(token: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = check(token)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert result.reason is F.MALFORMED
    assert time.perf_counter() - started < 1.0
    assert peak < 1 << 20, f"peak traced allocation {peak} bytes"


def test_r22_zlib_bomb_of_100_mb_is_rejected_by_the_size_caps() -> None:
    bomb = _bomb(b"", b"\0", 100 << 20, b"")
    _assert_rejected_cheaply(to_token(bomb, None))


def test_r22_zlib_bomb_within_the_token_cap_is_not_inflated() -> None:
    # 20 MB of JSON whitespace before a genuinely signed document: valid JSON if fully inflated.
    bomb = to_token(_bomb(b"", b" ", 20 << 20, _GOOD), None)
    assert len(bomb) <= MAX_TOKEN_CHARS
    _assert_rejected_cheaply(bomb)


# --- input validation ----------------------------------------------------------------------------------


BAD_GENERATE_ARGS: list[dict[str, Any]] = [
    {"sdk_app_id": 0},
    {"sdk_app_id": -1},
    {"sdk_app_id": 2**32},
    {"sdk_app_id": True},
    {"sdk_app_id": "1400000000"},
    {"secret_key": ""},
    {"secret_key": None},
    {"secret_key": b"key"},
    {"secret_key": "\ud800"},
    {"user_id": ""},
    {"user_id": None},
    {"user_id": "\udfff"},
    {"user_id": "a" * (MAX_USER_ID_BYTES + 1)},
    {"user_id": "é" * (MAX_USER_ID_BYTES // 2 + 1)},
    {"expire_seconds": 0},
    {"expire_seconds": -1},
    {"expire_seconds": 2**31},
    {"expire_seconds": 1.0},
    {"now": -1},
    {"now": 2**32},
    {"now": 1.5},
    {"now": False},
    {"userbuf": "text"},
    {"userbuf": b"x" * (MAX_USERBUF_BYTES + 1)},
]


@pytest.mark.parametrize("bad", BAD_GENERATE_ARGS, ids=repr)
def test_r22_generate_rejects_bad_arguments(bad: dict[str, Any]) -> None:
    args: dict[str, Any] = {"sdk_app_id": SDK, "secret_key": KEY, "user_id": "alice", "now": NOW, **bad}
    with pytest.raises(UserSigInputError) as info:
        generate_usersig(**args)
    assert isinstance(info.value, ValueError) and str(info.value)


def test_r22_generate_accepts_the_limits() -> None:
    for user in ("a" * MAX_USER_ID_BYTES, "é" * (MAX_USER_ID_BYTES // 2), "x"):
        token = generate_usersig(
            sdk_app_id=2**32 - 1, secret_key="k", user_id=user, expire_seconds=2**31 - 1, now=0
        )
        assert verify_usersig(token, sdk_app_id=2**32 - 1, secret_key="k", user_id=user, now=2**31 - 1).ok


@pytest.mark.parametrize(
    "bad", [{"sdk_app_id": 0}, {"secret_key": ""}, {"user_id": ""}, {"now": -1}], ids=repr
)
def test_r22_verify_rejects_bad_arguments_but_not_bad_tokens(bad: dict[str, Any]) -> None:
    args: dict[str, Any] = {"sdk_app_id": SDK, "secret_key": KEY, "user_id": "alice", "now": NOW, **bad}
    with pytest.raises(UserSigInputError):
        verify_usersig("junk", **args)


# --- fuzz: verify never raises -------------------------------------------------------------------------


def _assert_typed(result: UserSigVerification) -> None:
    assert isinstance(result, UserSigVerification)
    assert result.reason is None or isinstance(result.reason, VerificationFailure)
    assert result.ok == (result.reason is None)


@FUZZ
@given(st.text())
def test_r22_fuzz_arbitrary_text(token: str) -> None:
    _assert_typed(check(token))


@FUZZ
@given(st.binary(), st.sampled_from([None, 0, 6]))
def test_r22_fuzz_arbitrary_bytes_encoded(payload: bytes, level: int | None) -> None:
    result = check(to_token(payload, level))
    _assert_typed(result)
    assert not result.ok


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
tls_keys = st.sampled_from(
    ["TLS.ver", "TLS.identifier", "TLS.sdkappid", "TLS.time", "TLS.expire", "TLS.userbuf", "TLS.sig"]
)


@FUZZ
@given(
    st.dictionaries(tls_keys, json_values | st.just("2.0") | st.just("alice") | st.just(SDK)), st.booleans()
)
def test_r22_fuzz_json_documents(doc: dict[str, Any], base_on_good: bool) -> None:
    if base_on_good:
        doc = {**signed_doc(), **doc}
    _assert_typed(check(json_token(doc), expect_userbuf="TLS.userbuf" in doc))


edits = st.lists(
    st.tuples(st.integers(0, 10**6), st.sampled_from(["set", "del", "ins"]), st.characters()),
    min_size=1,
    max_size=4,
)


@FUZZ
@given(edits, st.booleans())
def test_r22_fuzz_mutated_valid_tokens(changes: list[tuple[int, str, str]], inside: bool) -> None:
    token = generate_usersig(sdk_app_id=SDK, secret_key=KEY, user_id="alice", now=NOW, userbuf=b"\x00\x01")
    original = check(token, expect_userbuf=True).claims
    text = inflate(token).decode() if inside else token
    for position, op, char in changes:
        i = position % (len(text) + 1)
        text = {
            "set": text[:i] + char + text[i + 1 :],
            "del": text[:i] + text[i + 1 :],
            "ins": text[:i] + char + text[i:],
        }[op]
    mutated = to_token(text.encode("utf-8", "surrogatepass")) if inside else text
    result = check(mutated, expect_userbuf=True)
    _assert_typed(result)
    if result.ok:  # a mutation may be a no-op on the claims; it can never change them
        assert result.claims == original
