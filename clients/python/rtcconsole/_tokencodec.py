"""Token text <-> JSON: zlib, standard base64 and the ``+/=`` -> ``*-_`` mapping, with hard size caps.

Private module: import the public names from :mod:`rtcconsole.usersig`.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

from rtcconsole._sigcommon import MAX_INFLATED_BYTES, MAX_TOKEN_CHARS

__all__ = ["decode_token", "encode_token"]

_TO_TOKEN = str.maketrans("+/=", "*-_")
_FROM_TOKEN = str.maketrans("*-_", "+/=")
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9*_-]+")


def encode_token(doc: dict[str, Any]) -> str:
    """``json.dumps`` defaults, ``zlib.compress`` default level, base64 with ``*-_`` (as the reference)."""
    compressed = zlib.compress(json.dumps(doc).encode("utf-8"))
    return base64.b64encode(compressed).decode("ascii").translate(_TO_TOKEN)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name, value in pairs:
        if name in doc:
            raise ValueError(f"duplicate key {name!r}")
        doc[name] = value
    return doc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _parse_int(digits: str) -> int:
    if len(digits) > 21:  # "-" plus the 20 digits of 2**64 - 1
        raise ValueError("integer too long")
    return int(digits)


def decode_token(token: object) -> Any:
    """Token text -> parsed JSON, or raise ``ValueError``/``zlib.error``/``RecursionError``."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not _TOKEN_ALPHABET.fullmatch(token):
        raise ValueError("not a token string")
    raw = base64.b64decode(token.translate(_FROM_TOKEN), validate=True)
    inflater = zlib.decompressobj(wbits=15)  # zlib container only: no gzip, no raw deflate, no raw JSON
    text = inflater.decompress(raw, MAX_INFLATED_BYTES + 1)
    if len(text) > MAX_INFLATED_BYTES:
        raise ValueError("inflated token exceeds the size cap")
    if not inflater.eof or inflater.unused_data:
        raise ValueError("truncated zlib stream or trailing data")
    return json.loads(
        text.decode("utf-8"),
        object_pairs_hook=_reject_duplicates,
        parse_constant=_reject_constant,
        parse_int=_parse_int,
    )
