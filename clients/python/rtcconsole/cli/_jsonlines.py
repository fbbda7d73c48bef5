"""One JSON line → one proto message, with what a person writes by hand made acceptable.

On top of proto-JSON (``json_format.ParseDict``), found from the message's
descriptors, so it holds for every enum and time field, nested ones too:

- an enum field takes the full value name (``EVENT_TYPE_ROOM_CREATED``), the
  number (``101``), or the name without the prefix its values share
  (``ROOM_CREATED``, ``HD``, ``ANCHOR``), in any case; ``_`` and ``-`` do not
  matter either (``FullHD`` is ``USAGE_CATEGORY_FULL_HD``);
- a ``google.protobuf.Timestamp`` field takes RFC 3339 as proto-JSON does, any
  other ISO 8601 form, or a relative form (``now-10m``, ``today``) resolved
  against the reader's ``now`` (:mod:`rtcconsole.times`): one ``now`` per file,
  so its lines keep their spacing.

A line that cannot become a message raises :class:`LineError`, whose reason names
the field and what may be typed there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole.times import is_relative, parse_instant

__all__ = ["LineError", "LineReader", "enum_choices", "timestamp_text"]

M = TypeVar("M", bound=Message)

_TIMESTAMP = "google.protobuf.Timestamp"
_WELL_KNOWN = "google.protobuf."
_IGNORED = re.compile(r"[\s_-]+")


class LineError(ValueError):
    """A line that is not a record: ``reason`` for people, ``fields`` the proto paths at fault."""

    def __init__(self, reason: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields


def timestamp_text(instant: datetime) -> str:
    """``instant`` as proto-JSON writes a Timestamp (RFC 3339, UTC, ``Z``)."""
    stamp = Timestamp()
    stamp.FromDatetime(instant)
    return stamp.ToJsonString()


@dataclass(frozen=True)
class _EnumNames:
    prefix: str
    """What every value name starts with, up to an underscore (``EVENT_TYPE_``); may be empty."""
    short: tuple[str, ...]
    """The names without the prefix, the zero value (``…_UNSPECIFIED``) left out."""
    by_key: dict[str, str]
    """Upper case, ``_``/``-``/spaces removed → full name; keys two names share are left out."""
    what: str
    """The enum's name in words: ``event type``."""


_ENUMS: dict[str, _EnumNames] = {}


def _key(text: str) -> str:
    return _IGNORED.sub("", text).upper()


def _common_words(names: list[str]) -> str:
    """The leading ``WORD_`` parts every name has: ``EVENT_TYPE_`` of ``EVENT_TYPE_ROOM_CREATED``, …"""
    words = [name.split("_")[:-1] for name in names]  # a prefix always leaves a word
    common = 0
    while all(len(w) > common for w in words) and len({w[common] for w in words}) == 1:
        common += 1
    return "".join(f"{word}_" for word in words[0][:common])


def _names(enum: EnumDescriptor) -> _EnumNames:
    known = _ENUMS.get(enum.full_name)
    if known is not None:
        return known
    names = [value.name for value in enum.values]
    prefix = _common_words(names) if len(names) > 1 else ""
    seen: dict[str, set[str]] = {}
    for name in names:
        for alias in {name, name[len(prefix) :]}:
            seen.setdefault(_key(alias), set()).add(name)
    by_key = {key: next(iter(full)) for key, full in seen.items() if len(full) == 1 and key}
    short = tuple(value.name[len(prefix) :] for value in enum.values if value.number != 0)
    what = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", enum.name).lower()
    known = _EnumNames(prefix, short, by_key, what)
    _ENUMS[enum.full_name] = known
    return known


def enum_choices(enum: EnumDescriptor) -> str:
    """What an enum field takes, in words: ``one of ANCHOR, AUDIENCE (any case; …)``."""
    names = _names(enum)
    full = f"the full names {names.prefix}…, " if names.prefix else ""
    return f"one of {', '.join(names.short)} (any case; or {full}or the numbers)"


def _article(words: str) -> str:
    return "an" if words[:1] in ("a", "e", "i", "o") else "a"  # "a usage category"


@dataclass
class LineReader(Generic[M]):
    """Reads lines into ``record`` messages, relative times counted from ``now``."""

    record: type[M]
    now: datetime
    """The instant ``now`` means; ``today`` is its UTC midnight."""
    relative: bool = False
    """Whether a line read so far held a relative time (so ``now`` matters to a re-send)."""

    def parse(self, line: str) -> M:
        """The message on ``line``; raises :class:`LineError`."""
        try:
            value = json.loads(line.rstrip("\r\n"), object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as error:
            raise LineError(f"cannot parse: invalid JSON at column {error.pos + 1}: {error.msg}") from None
        except ValueError as error:  # a key given twice
            raise LineError(f"cannot parse: {error}") from None
        if not isinstance(value, dict):
            raise LineError(f"cannot parse: a line holds one JSON object, not {type(value).__name__}")
        message = self.record()
        prepared = self._message(value, cast(Descriptor, message.DESCRIPTOR), "")
        try:
            json_format.ParseDict(prepared, message)
        except json_format.ParseError as error:
            raise LineError(f"cannot parse: {error}".strip()) from None
        return message

    def _message(self, value: dict[str, Any], descriptor: Descriptor, path: str) -> dict[str, Any]:
        fields = {field.json_name: field for field in descriptor.fields}
        fields.update(descriptor.fields_by_name)
        prepared: dict[str, Any] = {}
        for key, item in value.items():
            field = fields.get(key)
            prepared[key] = item if field is None else self._field(item, field, f"{path}{field.name}")
        return prepared

    def _field(self, value: Any, field: FieldDescriptor, path: str) -> Any:
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            if not isinstance(value, dict):
                return value
            inner = entry.fields_by_name["value"]
            return {k: self._single(v, inner, f"{path}[{json.dumps(k)}]") for k, v in value.items()}
        if field.is_repeated:
            if not isinstance(value, list):
                return value
            return [self._single(item, field, f"{path}[{i}]") for i, item in enumerate(value)]
        return self._single(value, field, path)

    def _single(self, value: Any, field: FieldDescriptor, path: str) -> Any:
        if field.enum_type is not None and isinstance(value, str):
            return _enum(value, field.enum_type, path)
        message = field.message_type
        if message is None:
            return value
        if message.full_name == _TIMESTAMP and isinstance(value, str):
            return self._time(value, path)
        if isinstance(value, dict) and not message.full_name.startswith(_WELL_KNOWN):
            return self._message(value, message, f"{path}.")
        return value

    def _time(self, value: str, path: str) -> str:
        try:
            Timestamp().FromJsonString(value)
        except ValueError:
            pass
        else:
            return value  # proto-JSON's own form, to the nanosecond
        try:
            instant = parse_instant(value, now=self.now)
        except ValueError as error:
            raise LineError(f"{path}: {error}", (path,)) from None
        try:
            text = timestamp_text(instant)
        except (ValueError, OverflowError):
            raise LineError(f"{path}: {value!r} is out of range", (path,)) from None
        self.relative = self.relative or is_relative(value)
        return text


def _enum(value: str, enum: EnumDescriptor, path: str) -> str:
    if value in enum.values_by_name:
        return value
    names = _names(enum)
    full = names.by_key.get(_key(value))
    if full is not None:
        return full
    if re.fullmatch(r"\s*-?\d+\s*", value):
        return value  # a number in a string: json_format's rule
    what = names.what
    shown = json.dumps(value, ensure_ascii=False)
    raise LineError(f"{path}: {shown} is not {_article(what)} {what}; {enum_choices(enum)}", (path,))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} is given twice")
        result[key] = value
    return result
