"""The fast way through a UserSig document: the exact JSON layout that ``tls-sig-api-v2`` writes.

Private module of :mod:`rtcconsole._usersig`. The reference library (and :func:`mint_token`) write
one layout: ``json.dumps`` defaults (``", "`` and ``": "``, ``ensure_ascii``), keys in the order
ver, identifier, sdkappid, expire, time, [userbuf], sig. A document in that layout, with version
``"2.0"``, an identifier free of JSON escapes and integers within the ranges the general decoder
accepts, is read here by one regular expression instead of the JSON parser and the per-field
checks. Anything else (another key order, compact separators, an escaped identifier, a bad field)
returns ``None`` and goes the general way, which decides every verdict on it; so a token's verdict
never depends on which way it went (``tests/unit/test_usersig_layout.py`` checks that).
"""

from __future__ import annotations

import binascii
import re

__all__ = ["LayoutFields", "read_reference_layout"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1

_INT = r"(0|-?[1-9][0-9]{0,18})"
"""A JSON integer of at most 19 digits written as ``str(int)`` would (no ``-0``, no leading zero)."""

_REFERENCE_LAYOUT = re.compile(
    r'\{"TLS\.ver": "2\.0", '
    r'"TLS\.identifier": "([^"\\\x00-\x1f]*)", '  # the JSON scanner's literal run: no escape
    r'"TLS\.sdkappid": (0|[1-9][0-9]{0,19}), '
    rf'"TLS\.expire": {_INT}, '
    rf'"TLS\.time": {_INT}, '
    r'(?:"TLS\.userbuf": "([A-Za-z0-9+/]*={0,2})", )?'
    r'"TLS\.sig": "([A-Za-z0-9+/]{43}=)"\}'
)

LayoutFields = tuple[str, int, int, int, "bytes | None", bytes, bytes]
"""``(identifier, sdk_app_id, time, expire, userbuf, signature, string to sign)`` of a document."""


def read_reference_layout(text: str) -> LayoutFields | None:
    """Fields of ``text`` (an inflated token) if in the reference layout and valid, else ``None``.

    When this returns fields, the general decoder (JSON, field checks) accepts ``text`` and yields
    the same claims, signature and string to sign; ``None`` promises nothing either way.
    """
    match = _REFERENCE_LAYOUT.fullmatch(text)
    if match is None:
        return None
    identifier, app, expire_text, time_text, userbuf_text, sig_text = match.groups()
    sdk_app_id, expire, issued_at = int(app), int(expire_text), int(time_text)
    if (
        sdk_app_id > _UINT64_MAX
        or not _INT64_MIN <= expire <= _INT64_MAX
        or not _INT64_MIN <= issued_at <= _INT64_MAX
    ):
        return None
    # The digits as matched are str(int) of the values, so they go into the string to sign as is.
    to_sign = (
        f"TLS.identifier:{identifier}\nTLS.sdkappid:{app}\nTLS.time:{time_text}\nTLS.expire:{expire_text}\n"
    )
    try:
        signature = binascii.a2b_base64(sig_text, strict_mode=True)
        userbuf = None if userbuf_text is None else binascii.a2b_base64(userbuf_text, strict_mode=True)
    except binascii.Error:
        return None
    if userbuf is not None:  # signed as re-encoded from the bytes, as the general way does
        to_sign += f"TLS.userbuf:{binascii.b2a_base64(userbuf, newline=False).decode('ascii')}\n"
    # No lone surrogate can be in text decoded from UTF-8, so this cannot raise.
    return identifier, sdk_app_id, issued_at, expire, userbuf, signature, to_sign.encode("utf-8")
