"""The door's message codecs: connectrpc's protobuf binary and JSON ones, the JSON one stricter.

protobuf's Python JSON parser takes any top-level JSON value and iterates it as an object's keys:
a string, ``[]`` or an array of strings naming no field becomes an empty message (the characters
or items read as unknown field names, which the door ignores, as Connect does); ``null``, a
number or ``true`` fail with a Python ``TypeError`` text. Go's ``protojson``, which other
Connect servers use, refuses anything but an object. :class:`ObjectOnlyJSONCodec` refuses it the
same way before parsing, so such a body is ``invalid_argument`` with a message that says why, and
never reaches a servicer as an empty request.
"""

from __future__ import annotations

import re
from typing import Any

from connectrpc.codec import Codec
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec

__all__ = ["NOT_AN_OBJECT", "ObjectOnlyJSONCodec", "door_codecs"]

NOT_AN_OBJECT = "a JSON request message must be a JSON object"
"""The error text for a JSON body whose top-level value is not an object (after ``unmarshal message: ``)."""
_OBJECT_START = re.compile(rb"[ \t\r\n]*\{")
"""An object's opening brace after the four whitespace bytes JSON allows (RFC 8259, section 2)."""


class ObjectOnlyJSONCodec:
    """connectrpc's protobuf JSON codec (unknown fields ignored), refusing a non-object body."""

    def __init__(self) -> None:
        self._json: Codec[Any, Any] = google_protobuf_json_codec()

    def name(self) -> str:
        return self._json.name()

    def encode(self, message: Any) -> bytes:
        return self._json.encode(message)

    def decode(self, data: bytes | bytearray, message_class: type[Any]) -> Any:
        """``message_class`` read from ``data``; ``ValueError`` unless its value is a JSON object
        (connectrpc answers it as ``invalid_argument: unmarshal message: …``)."""
        if _OBJECT_START.match(data) is None:  # matched in place: no copy of the body
            raise ValueError(NOT_AN_OBJECT)
        return self._json.decode(data, message_class)


def door_codecs() -> list[Codec[Any, Any]]:
    """The codecs the door speaks: protobuf binary (``proto``) and JSON (``json``), in that order."""
    return [google_protobuf_binary_codec(), ObjectOnlyJSONCodec()]
