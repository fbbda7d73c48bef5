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

from rtcconsole._sigcommon import INT64_MAX, INT64_MIN, UINT64_MAX

__all__ = ["LayoutFields", "read_reference_layout", "string_to_sign"]

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


def string_to_sign(
    identifier: str, sdk_app_id: int | str, issued_at: int | str, expire: int | str, userbuf: str | None
) -> bytes:
    """The UTF-8 string a UserSig's HMAC signs: its claims, one ``TLS.name:value`` line each.

    The integers may be given as ints or as their decimal text (``str(int)``: the same line), and
    ``userbuf`` as its standard base64 text (``None``: no userbuf line). The one spelling of it, for
    the general decoder, the reference-layout reader and the generators alike.
    """
    text = (
        f"TLS.identifier:{identifier}\nTLS.sdkappid:{sdk_app_id}\nTLS.time:{issued_at}\nTLS.expire:{expire}\n"
    )
    if userbuf is not None:
        text += f"TLS.userbuf:{userbuf}\n"
    return text.encode("utf-8")


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
        sdk_app_id > UINT64_MAX
        or not INT64_MIN <= expire <= INT64_MAX
        or not INT64_MIN <= issued_at <= INT64_MAX
    ):
        return None
    try:
        signature = binascii.a2b_base64(sig_text, strict_mode=True)
        userbuf = None if userbuf_text is None else binascii.a2b_base64(userbuf_text, strict_mode=True)
    except binascii.Error:
        return None
    # The digits as matched are str(int) of the values, so they are signed as they are; the userbuf
    # is signed as re-encoded from its bytes, as the general way does. No lone surrogate can be in
    # text decoded from UTF-8, so the encoding cannot raise.
    reencoded = None if userbuf is None else binascii.b2a_base64(userbuf, newline=False).decode("ascii")
    signed = string_to_sign(identifier, app, time_text, expire_text, reencoded)
    return identifier, sdk_app_id, issued_at, expire, userbuf, signature, signed
