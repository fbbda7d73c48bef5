"""Rendering messages for logs with every ``(rtcconsole.v1.sensitive)`` field masked and every long
field shortened, so a DEBUG request log stays one short line whatever the request holds.

- a sensitive string becomes :data:`REDACTED`; any other sensitive field is cleared;
- a bytes field longer than :data:`BYTES_SHOWN` bytes becomes ``<N bytes>``;
- a string longer than :data:`CHARS_SHOWN` characters keeps its start, then ``…<N characters>``;
- a repeated field with more than :data:`ITEMS_SHOWN` items keeps the first ones, and the line
  ends with a note of how many there were (``[events: 5000 items, 3 logged]``).
"""

from __future__ import annotations

from google.protobuf import text_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from rtcconsole.v1 import options_pb2

__all__ = ["BYTES_SHOWN", "CHARS_SHOWN", "ITEMS_SHOWN", "REDACTED", "redact", "redacted_text"]

REDACTED = "<redacted>"
BYTES_SHOWN = 64
"""Bytes fields longer than this are logged as their length only."""
CHARS_SHOWN = 64
"""Strings longer than this many characters are logged as their first characters and their length."""
ITEMS_SHOWN = 3
"""Items of a repeated field logged; the rest are counted."""
_KEPT_CHARS = 40


def _is_sensitive(field: FieldDescriptor) -> bool:
    return bool(field.GetOptions().Extensions[options_pb2.sensitive])


def redact(message: Message) -> Message:
    """A copy of ``message`` with sensitive fields replaced (strings) or cleared (others) and long
    fields shortened."""
    copy = type(message)()
    copy.CopyFrom(message)
    _redact_in_place(copy, "", [])
    return copy


def _redact_in_place(message: Message, path: str, notes: list[str]) -> None:
    for field, value in message.ListFields():
        where = path + field.name
        if _is_sensitive(field):
            if field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated:
                setattr(message, field.name, REDACTED)
            else:
                message.ClearField(field.name)
            continue
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            continue
        if field.is_repeated and len(value) > ITEMS_SHOWN:
            notes.append(f"{where}: {len(value)} items, {ITEMS_SHOWN} logged")
            del value[ITEMS_SHOWN:]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for index, item in enumerate(value if field.is_repeated else [value]):
                _redact_in_place(item, f"{where}[{index}]." if field.is_repeated else f"{where}.", notes)
        elif field.type in (FieldDescriptor.TYPE_BYTES, FieldDescriptor.TYPE_STRING):
            items = list(value) if field.is_repeated else [value]
            short = [_short(item) for item in items]
            if short != items:
                if field.is_repeated:
                    getattr(message, field.name)[:] = short
                else:
                    setattr(message, field.name, short[0])


def _short(value: str | bytes) -> str | bytes:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>".encode() if len(value) > BYTES_SHOWN else value
    return f"{value[:_KEPT_CHARS]}…<{len(value)} characters>" if len(value) > CHARS_SHOWN else value


def redacted_text(message: Message) -> str:
    """One-line text form of ``message``, sensitive fields masked and long fields shortened (with a
    note of the repeated fields cut)."""
    copy = type(message)()
    copy.CopyFrom(message)
    notes: list[str] = []
    _redact_in_place(copy, "", notes)
    text = text_format.MessageToString(copy, as_one_line=True)
    return f"{text} [{'; '.join(notes)}]" if notes else text
