"""Token text <-> JSON: zlib, standard base64 and the ``+/=`` -> ``*-_`` mapping, with hard size caps.

Private module: import the public names from :mod:`rtcconsole.usersig`.
"""

from __future__ import annotations

import base64
import binascii
import json
import string
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from rtcconsole._sigcommon import MAX_INFLATED_BYTES, MAX_TOKEN_CHARS

__all__ = ["DecodeCache", "decode_token", "encode_token", "inflate_token", "parse_token_json"]

_T = TypeVar("_T")

_TO_TOKEN = str.maketrans("+/=", "*-_")

_MISSING = object()
"""Marks a miss in :class:`DecodeCache` (``None`` is a value it may store)."""


def _from_token_table() -> bytes:
    """256-byte table: the token alphabet to standard base64, every other byte to ``!``.

    ``!`` is outside the base64 alphabet, so strict decoding rejects a token holding any byte outside
    ``[A-Za-z0-9*_-]`` (including a literal ``+``, ``/`` or ``=``), in one C pass and no regex.
    """
    table = bytearray(b"!" * 256)
    for char in string.ascii_letters + string.digits:
        table[ord(char)] = ord(char)
    for token_char, base64_char in zip("*-_", "+/=", strict=True):
        table[ord(token_char)] = ord(base64_char)
    return bytes(table)


_FROM_TOKEN = _from_token_table()


def encode_token(doc: dict[str, Any]) -> str:
    """``json.dumps`` defaults, ``zlib.compress`` default level, base64 with ``*-_`` (as the reference)."""
    compressed = zlib.compress(json.dumps(doc).encode("utf-8"))
    return base64.b64encode(compressed).decode("ascii").translate(_TO_TOKEN)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise ValueError("duplicate key")
    return doc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _parse_int(digits: str) -> int:
    if len(digits) > 21:  # "-" plus the 20 digits of 2**64 - 1
        raise ValueError("integer too long")
    return int(digits)


_DECODER = json.JSONDecoder(  # built once: json.loads with hooks would build a decoder per call
    object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, parse_int=_parse_int
)


def decode_token(token: object) -> Any:
    """Token text -> parsed JSON, or raise ``ValueError``/``zlib.error``/``RecursionError``.

    Rejected: a non-``str``, more than ``MAX_TOKEN_CHARS`` characters, any character outside
    ``[A-Za-z0-9*_-]``, bad base64 padding, anything but one complete zlib stream, more than
    ``MAX_INFLATED_BYTES`` inflated (never inflated past the cap), non-UTF-8, non-standard JSON
    (``NaN``/``Infinity``), duplicate keys and integers longer than 21 characters.
    """
    return parse_token_json(inflate_token(token))


def parse_token_json(text: str) -> Any:
    """The JSON step of :func:`decode_token`: no ``NaN``/``Infinity``, duplicate keys or long integers."""
    return _DECODER.decode(text)


def inflate_token(token: object) -> str:
    """The steps of :func:`decode_token` before JSON: token text -> the inflated UTF-8 document.

    Raises ``ValueError``/``zlib.error`` (``binascii.Error`` is a ``ValueError``) for what
    :func:`decode_token` rejects before parsing.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise ValueError("not a token string")
    # encode: a non-ASCII character is a UnicodeEncodeError (a ValueError); translate: see _FROM_TOKEN.
    raw = binascii.a2b_base64(token.encode("ascii").translate(_FROM_TOKEN), strict_mode=True)
    inflater = zlib.decompressobj(wbits=15)  # zlib container only: no gzip, no raw deflate, no raw JSON
    text = inflater.decompress(raw, MAX_INFLATED_BYTES + 1)
    if len(text) > MAX_INFLATED_BYTES:
        raise ValueError("inflated token exceeds the size cap")
    if not inflater.eof or inflater.unused_data:
        raise ValueError("truncated zlib stream or trailing data")
    return text.decode("utf-8")


class DecodeCache(Generic[_T]):
    """Thread-safe, bounded memo of ``decode(token)`` for tokens of at most ``max_chars`` characters.

    Only values ``keep`` accepts are stored (so the memory per entry stays bounded), at most ``entries``
    of them; the oldest stored goes first when full. Exceptions are never stored: a token that fails to
    decode is decoded again next time. ``decode`` must depend on the token text alone.
    """

    def __init__(
        self, decode: Callable[[str], _T], *, entries: int, max_chars: int, keep: Callable[[_T], bool]
    ) -> None:
        self._decode, self._entries, self._max_chars, self._keep = decode, entries, max_chars, keep
        self._values: OrderedDict[str, _T] = OrderedDict()  # popitem(last=False) is O(1), unlike a dict
        self._lock = threading.Lock()

    def __call__(self, token: str) -> _T:
        """``decode(token)``, from the memo when there (a longer token is never hashed or looked up)."""
        if len(token) > self._max_chars:
            return self._decode(token)
        value = self._values.get(token, _MISSING)  # not try/except KeyError: a miss raises nothing
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        value = self._decode(token)
        if self._keep(value):
            with self._lock:
                if len(self._values) >= self._entries:
                    self._values.popitem(last=False)
                self._values[token] = value
        return value

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        """Forget every stored value."""
        with self._lock:
            self._values.clear()
