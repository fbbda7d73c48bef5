"""Rendering messages for logs with every ``(rtcconsole.v1.sensitive)`` field masked."""

from __future__ import annotations

from google.protobuf import text_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from rtcconsole.v1 import options_pb2

__all__ = ["REDACTED", "redact", "redacted_text"]

REDACTED = "<redacted>"
_BYTES_SHOWN = 64
"""Bytes fields longer than this are logged as their length only."""


def _is_sensitive(field: FieldDescriptor) -> bool:
    return bool(field.GetOptions().Extensions[options_pb2.sensitive])


def redact(message: Message) -> Message:
    """A copy of ``message`` with sensitive fields replaced (strings) or cleared (others)."""
    copy = type(message)()
    copy.CopyFrom(message)
    _redact_in_place(copy)
    return copy


def _redact_in_place(message: Message) -> None:
    for field, value in message.ListFields():
        if _is_sensitive(field):
            if field.type == FieldDescriptor.TYPE_STRING and not _is_repeated(field):
                setattr(message, field.name, REDACTED)
            else:
                message.ClearField(field.name)
        elif (
            field.type == FieldDescriptor.TYPE_BYTES and not _is_repeated(field) and len(value) > _BYTES_SHOWN
        ):
            setattr(message, field.name, f"<{len(value)} bytes>".encode())
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                continue
            if _is_repeated(field):
                for item in value:
                    _redact_in_place(item)
            else:
                _redact_in_place(value)


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def redacted_text(message: Message) -> str:
    """One-line text form of ``message`` with sensitive fields masked; long bytes show their length."""
    return text_format.MessageToString(redact(message), as_one_line=True)
