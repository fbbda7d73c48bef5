"""Hypothesis strategies for every request of the contract, read from the descriptors.

Nothing here names an RPC: the services are discovered from the ``rtcconsole.v1``
``*_pb2`` modules, each method's request type is walked field by field, and each
field gets edge values for its type, sized by the caps the contract declares on it
(``(rtcconsole.v1.max_len)``, ``(rtcconsole.v1.max_items)``). A new RPC is fuzzed the
day it is declared. The only knowledge beyond the schema is in :class:`Targets`
(the tenant's real ids and tokens, so that requests get past NOT_FOUND into the
code behind validation) and in :data:`SEEDS` (extra values for fields whose
meaning the type does not tell: URLs, operation names, TOTP codes, page tokens).
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from google.protobuf import text_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import strategies as st
from PIL import Image

import rtcconsole.v1
from rtcconsole.v1 import options_pb2

__all__ = [
    "SEEDS",
    "Call",
    "Schema",
    "Targets",
    "discover_services",
    "field_count",
    "message_class",
    "method_path",
    "request_text",
    "set_fields",
    "trimmed",
    "variants",
]

Strategy = st.SearchStrategy
Mutation = Callable[[bytes, int, int], bytes]
"""(encoding, position, byte) → a corrupted encoding."""


def discover_services() -> list[ServiceDescriptor]:
    """Every service declared by a ``rtcconsole.v1.*_pb2`` module, by full name."""
    found: dict[str, ServiceDescriptor] = {}
    for info in pkgutil.iter_modules(rtcconsole.v1.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module: ModuleType = importlib.import_module(f"rtcconsole.v1.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            found[service.full_name] = service
    return [found[name] for name in sorted(found)]


def method_path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def message_class(descriptor: Descriptor) -> type[Message]:
    return GetMessageClass(descriptor)


def field_count(descriptor: Descriptor, depth: int = 0) -> int:
    """Fields a request of this type reaches: its scalar fields and those of the messages inside
    it (to :data:`MAX_DEPTH`), a Timestamp, Duration or FieldMask counting as one."""
    count = 0
    for field in descriptor.fields:
        inner = field.message_type
        if inner is not None and not inner.full_name.startswith("google.") and depth < MAX_DEPTH:
            count += field_count(inner, depth + 1)
        else:
            count += 1
    return count


# ------------------------------------------------------------------ edge values

I32 = (0, 1, -1, 2, 100, 101, 1000, 1001, 2**31 - 1, -(2**31))
U32 = (0, 1, 2, 255, 256, 86_400, 86_401, 2**31 - 1, 4_294_967_294, 2**32 - 1)
I64 = (0, 1, -1, 2**31 - 1, 2**32 - 1, 2**53 + 1, 2**63 - 1, -(2**63))
U64 = (0, 1, 2, 2**31 - 1, 2**32 - 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1)
UNKNOWN_ENUMS = (-1, 7, 99, 1000, 2**31 - 1, -(2**31))

YEAR_1 = -62_135_596_800  # 0001-01-01T00:00:00Z
YEAR_9999_END = 253_402_300_799  # 9999-12-31T23:59:59Z
DAY = 86_400
TIMESTAMP_SECONDS = (
    YEAR_1 - 1,
    YEAR_1,
    YEAR_1 + 1,
    YEAR_1 + 300,
    YEAR_1 + DAY,
    YEAR_1 + 40 * DAY,
    YEAR_9999_END - 40 * DAY,
    YEAR_9999_END - DAY,
    YEAR_9999_END - 300,
    YEAR_9999_END - 1,
    YEAR_9999_END,
    YEAR_9999_END + 1,
    -1,
    0,
    1,
    2**31 - 1,
    2**32,
    2**63 - 1,
    -(2**63),
)
NOW_OFFSETS = (0, -1, 1, -3600, -DAY, -35 * DAY + 60, -35 * DAY - 60, 299, 301, -31 * DAY, 31 * DAY)
"""Seconds relative to the server's clock: inside and just outside the ingest windows."""
ERAS = (
    YEAR_1,
    YEAR_1 + 1,
    YEAR_1 + DAY,
    YEAR_9999_END - 32 * DAY,
    YEAR_9999_END - DAY,
    YEAR_9999_END - 300,
    0,
)
"""Instants the timestamps of one request gather around (with the server's now, several times):
shared by every timestamp of an example, so that ranges (start, end) land near the same edge."""
ERA_OFFSETS = (0, 1, -1, 299, 300, 301, -300, 3600, DAY, 2 * DAY, 31 * DAY, 32 * DAY, -35 * DAY + 60)
NANOS = (0, 1, 999_999_999, 1_000_000_000, -1, -999_999_999, 2**31 - 1, -(2**31))
DURATION_SECONDS = (
    0,
    1,
    -1,
    4,
    5,
    86_400,
    86_401,
    180 * DAY,
    68 * 365 * DAY,
    69 * 365 * DAY,
    2**31 - 1,
    2**32,
    315_576_000_000,
    315_576_000_001,
    -315_576_000_000,
    2**63 - 1,
    -(2**63),
)

EDGE_CHARS = (
    "a",
    "9",
    "中",
    "\uff11",  # FULLWIDTH DIGIT ONE
    "\u0663",  # ARABIC-INDIC DIGIT THREE
    "\u00b2",  # SUPERSCRIPT TWO: str.isdigit() but not int()
    "\U0001d7d9",  # MATHEMATICAL DOUBLE-STRUCK DIGIT ONE (astral)
    "\x00",
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\ufeff",
    "e\u0301",
    " ",
    "\n",
    "\x7f",
    "%",
    "\U0001f600",
)
EDGE_STRINGS = (
    "",
    "0",
    "1",
    "-1",
    "9" * 25,
    "true",
    "null",
    "{}",
    "[" * 200 + "]" * 200,
    "\x00",
    "\uff11\uff12\uff13",
    "\u0661\u0662\u0663",
    "\u202eabc",
    "../../etc/passwd",
    "%s%n%x",
    "' OR 1=1 --",
    "\\",
    "a\x00b",
    " lead",
    "trail ",
    "operations/1",
    "n:1",
    "s:x",
)

_SCHEMES = ("http", "https")
URLS = (
    "http://0177.0.0.1/",
    "http://999.999.999.999/",
    "http://256.1.1.1/cb",
    "http://1.2.3/",
    "http://1.2.3.4.5/",
    "http://127.1/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1%25eth0]/",
    "http://[::1%eth0]/",
    "http://[1:2:3]/",
    "https://example.com/cb",
    "https://example.com:443/cb?x=1",
    "http://example.com:99999/",
    "http://example.com:0/",
    "http://example.com:/",
    "http://example.com:-1/",
    "http://a..b/",
    "http://-a.com/",
    "http://xn--/",
    "http://xn--zz/",
    "http://_.com/",
    "http://example.com./",
    "http:///path",
    "http:example.com",
    "HTTP://EXAMPLE.COM/",
    "ftp://example.com/",
    "http://user:pw@example.com/",
    "http://example.com/#frag",
    "http://example.com/%zz",
    "http://" + "a" * 63 + ".com/",
    "http://" + "a" * 64 + ".com/",
    "http://" + ("a" * 63 + ".") * 4 + "com/",
    "https://example.com/" + "a" * 2063,
    "https://example.com/" + "a" * 2064,
)
OPERATION_NAMES = (
    "operations/0",
    "operations/1",
    "operations/01",
    "operations/-1",
    "operations/+1",
    "operations/ 1",
    "operations/1_000",
    "operations/\u0661\u0662\u0663",
    "operations/\uff11\uff12",
    "operations/\u00b2",
    "operations/\U0001d7d9",
    "operations/" + "9" * 18,
    "operations/" + "9" * 19,
    "operations/" + "9" * 20,
    "operations/" + "9" * 53,
    "operations/" + "9" * 54,
    "operations/" + "9" * 100_000,
    "operations/9223372036854775807",
    "operations/9223372036854775808",
    "operations",
    "operations/",
    "/1",
    "apps/1",
)
TOTP_CODES = (
    "123456",
    "000000",
    "\uff11\uff12\uff13\uff14\uff15\uff16",
    "\u0661\u0662\u0663\u0664\u0665\u0666",
    "12345\uff16",
    "12345",
    "1234567",
    "12 456",
    "-12345",
)
PAGE_TOKENS = (
    "true",
    "1e400",
    "9" * 400,
    "[" * 1000 + "]" * 1000,
    '{"a":' * 300 + "1" + "}" * 300,
    "eyJhIjoxfQ",
    "eyJhIjoxfQ==",
    "AAAA",
    "!!!!",
    "\x00",
)

SEEDS: dict[str, tuple[str, ...]] = {
    "room_event_url": URLS,
    "media_event_url": URLS,
    "rtcconsole.v1.GetOperationRequest.name": OPERATION_NAMES,
    "totp_code": TOTP_CODES,
    "page_token": PAGE_TOKENS,
    "key": ("a" * 16, "a" * 32, "a" * 33, "\u00e4" * 10, "abc-def"),
    "room": ("1", "n:1", "s:x", "4294967295", "abc"),
    "name": ("demo", "演示", "a" * 15, "a" * 16, "a_1", "中" * 15),
    "description": ("演示", "new_text", "a" * 15, "a" * 16),
}
"""Extra values of string fields, by full field name or by field name (the type says nothing of
what a URL or an operation name is)."""

INT_SEEDS: dict[str, tuple[int, ...]] = {
    "room_id": (0, 1, 4_294_967_294, 2**32 - 1),
    "seconds": (0, 1, 86_400, 86_401),
    "privileges": (0, 1, 2, 255, 256),
    "required_privileges": (0, 2, 255, 256),
    "x_position": (0, 1, 10_000, 10_001),
    "y_position": (0, 1, 10_000, 10_001),
    "reason": (0, 1, -1),
}


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (1, 2, 3)).save(out, format="PNG")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb_header() -> bytes:
    """A PNG whose header claims 65535 × 65535 pixels, with an empty image: Pillow's bomb guard."""
    header = struct.pack(">IIBBBBB", 65_535, 65_535, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


def _bytes_seeds(cap: int) -> tuple[bytes, ...]:
    png = _png(4, 4)
    return (
        b"",
        b"\x00",
        b"\xff" * 16,
        png,
        png[: len(png) // 2],
        png[:8],
        b"\xff\xd8\xff",
        b"\xff\xd8\xff\xe0" + b"\x00" * 32,
        b"GIF89a" + b"\x00" * 16,
        _png_bomb_header(),
        b"\x00" * cap,
        b"\x00" * (cap + 1),
    )


@dataclass(frozen=True)
class Targets:
    """Real things of the tenant under test, so that requests reach the code behind NOT_FOUND."""

    now: datetime
    sdk_app_ids: tuple[int, ...]
    material_ids: tuple[int, ...] = ()
    operation_names: tuple[str, ...] = ()
    secondary_auth_token: str = ""
    key_ids: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    user_ids: tuple[str, ...] = ()
    user_sigs: tuple[str, ...] = ()
    private_map_keys: tuple[str, ...] = ()
    call_ids: tuple[str, ...] = ()

    def strings_for(self, field: FieldDescriptor) -> tuple[str, ...]:
        name = field.name
        if name == "secondary_auth_token":
            return (self.secondary_auth_token,) if self.secondary_auth_token else ()
        if field.full_name == "rtcconsole.v1.GetOperationRequest.name":
            return self.operation_names
        if name == "key_id":
            return self.key_ids
        if field.full_name in ("rtcconsole.v1.Tag.key", "rtcconsole.v1.Tag.value"):
            return tuple(key if name == "key" else value for key, value in self.tags)
        if name == "user_id":
            return self.user_ids
        if name == "user_sig":
            return self.user_sigs
        if name == "private_map_key":
            return self.private_map_keys
        if name == "call_id":
            return self.call_ids
        return ()

    def ints_for(self, field: FieldDescriptor) -> tuple[int, ...]:
        if field.name == "sdk_app_id":
            return self.sdk_app_ids
        if field.name == "material_id":
            return self.material_ids
        return ()


# ------------------------------------------------------------------ calls


@dataclass(frozen=True)
class Call:
    """One fuzzed call: the method, the credential, and the request (or request stream).

    ``raw`` holds wire bytes instead of messages (corrupt or mutated encodings)."""

    method: MethodDescriptor
    credential: str | None
    requests: tuple[Message, ...]
    raw: tuple[bytes, ...] | None = None

    def __repr__(self) -> str:
        credential = "none" if self.credential is None else self.credential[:24]
        if self.raw is not None:
            body = ", ".join(repr(b[:200]) + (f"…({len(b)} bytes)" if len(b) > 200 else "") for b in self.raw)
        else:
            body = " | ".join(request_text(r) for r in self.requests)
        return f"Call({method_path(self.method)}, credential={credential}, {body})"

    def received(self) -> list[Message]:
        """The requests the server parses out of this call (a corrupt encoding parses to none)."""
        if self.raw is None:
            return list(self.requests)
        cls = message_class(self.method.input_type)
        parsed = []
        for data in self.raw:
            try:
                parsed.append(cls.FromString(data))
            except Exception:  # DecodeError, invalid UTF-8: refused before any handler
                continue
        return parsed

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints a falsifying example with this: the short text form above."""
        printer.text(repr(self))


_SHOWN_ITEMS = 2
_SHOWN_CHARS = 80
_TEXT_TYPES = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)


def _shorten(message: Message, path: str, notes: list[str]) -> None:
    for field, value in message.ListFields():
        where = f"{path}{field.name}"
        if field.is_repeated and len(value) > _SHOWN_ITEMS:
            notes.append(f"{where}: {len(value)} items")
            del value[_SHOWN_ITEMS:]
        items = list(value) if field.is_repeated else [value]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in items:
                _shorten(item, where + ".", notes)
        elif field.type in _TEXT_TYPES and not field.is_repeated and len(value) > _SHOWN_CHARS:
            notes.append(f"{where}: {len(value)} long")
            setattr(message, field.name, value[:_SHOWN_CHARS])


def request_text(message: Message, limit: int = 2000) -> str:
    """The text form of ``message`` with long values and long repeated fields shortened (a note
    says how long they were), at most ``limit`` characters."""
    copy = type(message)()
    copy.CopyFrom(message)
    notes: list[str] = []
    _shorten(copy, "", notes)
    text = text_format.MessageToString(copy, as_one_line=True, as_utf8=True)
    if notes:
        text += f" [shortened: {'; '.join(sorted(set(notes)))}]"
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} characters)"


# ------------------------------------------------------------------ the schema walk


def _cap(field: FieldDescriptor, option: Any, default: int) -> int:
    value = int(field.GetOptions().Extensions[option])
    return value or default


_INT_TYPES = {
    FieldDescriptor.TYPE_INT32: I32,
    FieldDescriptor.TYPE_SINT32: I32,
    FieldDescriptor.TYPE_SFIXED32: I32,
    FieldDescriptor.TYPE_UINT32: U32,
    FieldDescriptor.TYPE_FIXED32: U32,
    FieldDescriptor.TYPE_INT64: I64,
    FieldDescriptor.TYPE_SINT64: I64,
    FieldDescriptor.TYPE_SFIXED64: I64,
    FieldDescriptor.TYPE_UINT64: U64,
    FieldDescriptor.TYPE_FIXED64: U64,
}
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
MAX_DEPTH = 3
"""Nesting below a request that still gets values (deeper messages stay unset)."""


class Schema:
    """Strategies for requests of any method, built once per field and cached."""

    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self._fields: dict[tuple[str, int], Strategy[Any]] = {}
        self._messages: dict[tuple[str, int], Strategy[Message]] = {}
        now = int(targets.now.timestamp())
        self._era = st.shared(st.sampled_from((*ERAS, now, now, now - 2 * DAY)), key="era")
        around_era = st.tuples(self._era, st.sampled_from(ERA_OFFSETS)).map(sum)
        self._timestamp_seconds = weighted(
            (3, around_era),
            (1, st.sampled_from(TIMESTAMP_SECONDS)),
            (1, st.sampled_from([now + offset for offset in NOW_OFFSETS])),
            (1, st.integers(YEAR_1, YEAR_9999_END)),
        )

    # -- messages

    def message(self, descriptor: Descriptor, depth: int = 0) -> Strategy[Message]:
        key = (descriptor.full_name, depth)
        if key not in self._messages:
            self._messages[key] = self._build_message(descriptor, depth)
        return self._messages[key]

    def _build_message(self, descriptor: Descriptor, depth: int) -> Strategy[Message]:
        special = {
            "google.protobuf.Timestamp": self._timestamp,
            "google.protobuf.Duration": self._duration,
        }.get(descriptor.full_name)
        if special is not None:
            return special()
        cls = message_class(descriptor)
        plain = [f for f in descriptor.fields if f.containing_oneof is None or _synthetic(f)]
        oneofs = [o for o in descriptor.oneofs if not _synthetic(o.fields[0])]
        instants = [f for f in plain if _is_timestamp(f)]
        ranged = self._range(len(instants)) if len(instants) > 1 else None
        parent = descriptor

        @st.composite
        def build(draw: st.DrawFn) -> Message:
            message = cls()
            joint = iter(draw(ranged)) if ranged is not None else None
            for field in plain:
                if draw(_IS_SET):
                    if joint is not None and _is_timestamp(field):
                        value = next(joint)
                        _assign(
                            message, field, draw(self.field(field, parent, depth)) if value is None else value
                        )
                    else:
                        _assign(message, field, draw(self.field(field, parent, depth)))
            for oneof in oneofs:
                member = draw(st.sampled_from([None, *oneof.fields]))
                if member is not None:
                    _assign(message, member, draw(self.field(member, parent, depth)))
            return message

        return build()

    def _timestamp(self) -> Strategy[Message]:
        return st.builds(Timestamp, seconds=self._timestamp_seconds, nanos=_nanos())

    def _range(self, count: int) -> Strategy[list[Timestamp | None]]:
        """The timestamps of a message with several (a range: start, end), drawn together: most of
        the time around one instant of the era, ascending in declaration order; else each alone
        (None: drawn by the field's own strategy)."""
        ascending = st.tuples(
            self._era, st.lists(st.sampled_from(ERA_OFFSETS), min_size=count, max_size=count, unique=True)
        )
        together = ascending.map(lambda parts: [Timestamp(seconds=parts[0] + o) for o in sorted(parts[1])])
        alone: Strategy[list[Timestamp | None]] = st.just([None] * count)
        return weighted((3, together), (1, alone))

    def _duration(self) -> Strategy[Message]:
        seconds = st.one_of(st.sampled_from(DURATION_SECONDS), st.integers(-315_576_000_000, 315_576_000_000))
        return st.builds(Duration, seconds=seconds, nanos=_nanos())

    def _field_mask(self, parent: Descriptor) -> Strategy[Message]:
        names: list[str] = []
        for field in parent.fields:
            if field.message_type is not None and not field.message_type.full_name.startswith("google."):
                for sub in field.message_type.fields:
                    names += [sub.name, f"{field.name}.{sub.name}"]
            names.append(field.name)
        path = st.one_of(
            st.sampled_from(sorted(set(names)) or ["x"]),
            st.sampled_from(["", "*", "name.name", "x" * 64, "x" * 65, "中" * 20, "\x00"]),
        )
        paths = st.one_of(
            st.lists(path, max_size=3), st.lists(path, min_size=16, max_size=17), st.just(["name"] * 100)
        )
        return st.builds(FieldMask, paths=paths)

    # -- fields

    def field(self, field: FieldDescriptor, parent: Descriptor, depth: int) -> Strategy[Any]:
        key = (field.full_name, depth)
        if key not in self._fields:
            self._fields[key] = self._build_field(field, parent, depth)
        return self._fields[key]

    def _build_field(self, field: FieldDescriptor, parent: Descriptor, depth: int) -> Strategy[Any]:
        if _is_map(field):
            return self._map(field, parent, depth)
        single = self._single(field, parent, depth)
        if not field.is_repeated:
            return single
        cap = _cap(field, options_pb2.max_items, 8)
        counts = sorted({0, 1, 2, 3, cap, cap + 1})

        @st.composite
        def repeated(draw: st.DrawFn) -> list[Any]:
            count = draw(st.sampled_from(counts))
            if count == 0:
                return []
            distinct = draw(st.lists(single, min_size=1, max_size=min(3, count)))
            return [distinct[i % len(distinct)] for i in range(count)]

        return repeated()

    def _map(self, field: FieldDescriptor, parent: Descriptor, depth: int) -> Strategy[dict[Any, Any]]:
        """Entries of a map field: around its ``max_items``, keys and values around their own caps
        (``map_key_max_len`` / ``map_value_max_len``, read as the key's and value's ``max_len``)."""
        entry = field.message_type
        assert entry is not None
        key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
        keys = self._capped_text(key_field, _cap(field, options_pb2.map_key_max_len, 64))
        values: Strategy[Any]
        if value_field.type == FieldDescriptor.TYPE_STRING:
            values = self._capped_text(value_field, _cap(field, options_pb2.map_value_max_len, 64))
        else:
            values = self._single(value_field, parent, depth)
        if key_field.type != FieldDescriptor.TYPE_STRING:
            keys = self._single(key_field, parent, depth)
        cap = _cap(field, options_pb2.max_items, 8)
        sizes = sorted({0, 1, 2, cap, cap + 1})
        return st.sampled_from(sizes).flatmap(
            lambda n: st.dictionaries(keys, values, min_size=min(n, 1), max_size=n)
        )

    def _single(self, field: FieldDescriptor, parent: Descriptor, depth: int) -> Strategy[Any]:
        kind = field.type
        if kind == FieldDescriptor.TYPE_MESSAGE:
            assert field.message_type is not None
            if field.message_type.full_name == "google.protobuf.FieldMask":
                return self._field_mask(parent)
            if depth >= MAX_DEPTH:
                return st.builds(message_class(field.message_type))
            return self.message(field.message_type, depth + 1)
        if kind == FieldDescriptor.TYPE_BOOL:
            return st.booleans()
        if kind == FieldDescriptor.TYPE_ENUM:
            assert field.enum_type is not None
            known = sorted((v.number for v in field.enum_type.values), key=lambda n: n == 0)  # 0 last
            return weighted((3, st.sampled_from(known)), (1, st.sampled_from(UNKNOWN_ENUMS)))
        if kind in _INT_TYPES:
            low, high = _INT_RANGES[kind]
            edges = tuple(v for v in (*_INT_TYPES[kind], *INT_SEEDS.get(field.name, ())) if low <= v <= high)
            numbers: list[tuple[int, Strategy[int]]] = [
                (2, st.sampled_from(edges)),
                (1, st.integers(low, high)),
            ]
            real = self.targets.ints_for(field)
            if real:  # the tenant's own ids half of the time: past NOT_FOUND, into the code behind it
                numbers.insert(0, (3, st.sampled_from(real)))
            return weighted(*numbers)
        if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return st.floats(allow_nan=True, allow_infinity=True, width=32)
        if kind == FieldDescriptor.TYPE_STRING:
            return self._string(field)
        if kind == FieldDescriptor.TYPE_BYTES:
            cap = _cap(field, options_pb2.max_len, 64)
            return st.one_of(st.sampled_from(_bytes_seeds(cap)), st.binary(max_size=64))
        raise AssertionError(f"no strategy for {field.full_name} (type {kind})")

    def _string(self, field: FieldDescriptor) -> Strategy[str]:
        return self._capped_text(field, _cap(field, options_pb2.max_len, 64))

    def _capped_text(self, field: FieldDescriptor, cap: int) -> Strategy[str]:
        lengths = sorted({1, 2, max(cap - 1, 1), cap, cap + 1})
        around_cap = st.builds(
            lambda char, n: (char * n)[:n], st.sampled_from(EDGE_CHARS), st.sampled_from(lengths)
        )
        choices: list[tuple[int, Strategy[str]]] = [
            (1, st.sampled_from(EDGE_STRINGS)),
            (1, around_cap),
            (1, st.text(max_size=min(cap, 24))),
        ]
        seeds = SEEDS.get(field.full_name) or SEEDS.get(field.name)
        if seeds:  # the values that mean something for this field, more often than the others
            choices.insert(0, (3, st.sampled_from(seeds)))
        real = self.targets.strings_for(field)
        if real:
            choices.insert(0, (2, st.sampled_from(real)))
        return weighted(*choices)

    # -- calls

    def call(self, method: MethodDescriptor, credentials: Sequence[str | None]) -> Strategy[Call]:
        """Calls of ``method``: the first credential most of the time, well-formed messages
        mostly, corrupt wire bytes sometimes; a request stream of 0-3 messages."""
        request = self.message(method.input_type)
        credential = weighted((6, st.just(credentials[0])), (1, st.sampled_from(credentials)))
        count = st.integers(0, 3) if method.client_streaming else st.just(1)
        requests = count.flatmap(lambda n: st.lists(request, min_size=n, max_size=n))
        mutate = _mutation(method.input_type)
        raw: Strategy[Mutation | None] = weighted((7, st.none()), (1, st.just(mutate)))

        def assemble(parts: tuple[str | None, list[Message], Mutation | None, int, int]) -> Call:
            who, messages, mutation, at, byte = parts
            if mutation is None:
                return Call(method, who, tuple(messages))
            raw = tuple(mutation(m.SerializeToString(), at, byte) for m in messages)
            return Call(method, who, tuple(messages), raw)

        return st.tuples(credential, requests, raw, st.integers(0, 2**16), st.integers(0, 255)).map(assemble)


_IS_SET = st.sampled_from((True, True, True, True, True, True, True, False))
"""Whether a field of a generated message is set: 7 times in 8 (unset is the simpler example)."""


def weighted(*choices: tuple[int, Strategy[Any]]) -> Strategy[Any]:
    """One of ``choices``, each picked in proportion to its weight (the first is the simplest, where
    shrinking goes). ``st.one_of`` would not do: it merges equal branches, so repeating one does
    not weigh it."""
    branches = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(range(len(branches))).flatmap(lambda index: branches[index])


def _nanos() -> Strategy[int]:
    return st.one_of(st.just(0), st.sampled_from(NANOS), st.integers(0, 999_999_999))


def _is_timestamp(field: FieldDescriptor) -> bool:
    message = field.message_type
    return not field.is_repeated and message is not None and message.full_name == "google.protobuf.Timestamp"


def _synthetic(field: FieldDescriptor) -> bool:
    """A proto3 ``optional`` field: its oneof is synthetic, the field is plain."""
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == f"_{field.name}"


def _is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return entry is not None and entry.GetOptions().map_entry


def _assign(message: Message, field: FieldDescriptor, value: Any) -> None:
    if _is_map(field):
        getattr(message, field.name).update(value)
    elif field.is_repeated:
        getattr(message, field.name).extend(value)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        getattr(message, field.name).CopyFrom(value)
    else:
        setattr(message, field.name, value)


def _mutation(descriptor: Descriptor) -> Mutation:
    """Corrupt the encoding of a message: truncate it, change a byte, append a broken tag, or add a
    string field holding invalid UTF-8 (when the message has a string field)."""
    strings = [f.number for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING]

    def mutate(data: bytes, at: int, byte: int) -> bytes:
        choice = at % 4
        if choice == 0 and data:
            return data[: at % len(data)]
        if choice == 1 and data:
            index = at % len(data)
            return data[:index] + bytes([byte]) + data[index + 1 :]
        if choice == 2 or not strings:
            return data + b"\xff\xff\xff"
        number = strings[at % len(strings)]
        return data + _varint(number << 3 | 2) + b"\x02\xc3\x28"

    return mutate


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


# ------------------------------------------------------------------ variants of accepted requests

_POISON_STRINGS = ("a\x00b", "\u0661\u0662\u0663", "\u202e" + "x" * 8, "")
_POISON_TIMESTAMPS = (YEAR_1, YEAR_1 + 1, YEAR_9999_END - 1, YEAR_9999_END)
_POISON_DURATIONS = (0, -1, 315_576_000_000, 68 * 365 * DAY + 1)


def _poison(field: FieldDescriptor) -> list[Any]:
    """Edge values for one field of a request the server accepted."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        cap = _cap(field, options_pb2.max_len, 64)
        return [*_POISON_STRINGS, "9" * cap, "\uff11" * cap]
    if kind == FieldDescriptor.TYPE_BYTES:
        return [b"", b"\xff" * 16]
    if kind == FieldDescriptor.TYPE_BOOL:
        return [True, False]
    if kind == FieldDescriptor.TYPE_ENUM:
        return [0, 99]
    if kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        return sorted({max(low, -1), 0, 1, min(high, 2**63 - 1), min(high, 2**31 - 1)})
    if kind == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        name = field.message_type.full_name
        if name == "google.protobuf.Timestamp":
            return [Timestamp(seconds=seconds) for seconds in _POISON_TIMESTAMPS]
        if name == "google.protobuf.Duration":
            return [Duration(seconds=seconds) for seconds in _POISON_DURATIONS]
    return []


def variants(message: Message, depth: int = 0) -> list[tuple[str, Message]]:
    """Copies of ``message`` with one leaf field (set, or a scalar left unset) replaced by an edge
    value of its type: the code behind validation, reached by a request it accepted, given one bad
    value at a time. Repeated fields change their first item. (path, variant) pairs."""
    out: list[tuple[str, Message]] = []
    for field in _fields_of(message):
        inner = field.message_type
        nested = inner is not None and not inner.full_name.startswith("google.") and depth < MAX_DEPTH
        if nested:
            if field.is_repeated:
                items = getattr(message, field.name)
                if not len(items) or (inner is not None and inner.GetOptions().map_entry):
                    continue
                for path, changed in variants(items[0], depth + 1):
                    copy = _copy(message)
                    getattr(copy, field.name)[0].CopyFrom(changed)
                    out.append((f"{field.name}[0].{path}", copy))
            elif message.HasField(field.name):
                for path, changed in variants(getattr(message, field.name), depth + 1):
                    copy = _copy(message)
                    getattr(copy, field.name).CopyFrom(changed)
                    out.append((f"{field.name}.{path}", copy))
            continue
        for value in _poison(field):
            copy = _copy(message)
            if field.is_repeated:
                items = getattr(copy, field.name)
                if not len(items):
                    continue
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    items[0].CopyFrom(value)
                else:
                    items[0] = value
            else:
                _assign(copy, field, value)
            out.append((field.name, copy))
    return out


def _copy(message: Message) -> Message:
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def set_fields(message: Message) -> int:
    """How many fields are set in ``message`` and the messages inside it (first items of lists)."""
    count = 0
    for field, value in message.ListFields():
        count += 1
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if field.is_repeated else [value]
            if len(items) and not (
                field.message_type is not None and field.message_type.GetOptions().map_entry
            ):
                count += set_fields(items[0])
    return count


def _fields_of(message: Message) -> Sequence[FieldDescriptor]:
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]
    return descriptor.fields


def trimmed(message: Message, items: int = 3) -> Message:
    """A copy of ``message`` with every repeated field (inside nested messages too) cut to its first
    ``items`` items: a base for variants that costs what a small request costs (variants change
    the first item only)."""
    copy = _copy(message)
    _trim(copy, items)
    return copy


def _trim(message: Message, items: int) -> None:
    for field, value in message.ListFields():
        if _is_map(field):
            continue  # a map is capped by its entries, kept whole
        if field.is_repeated and len(value) > items:
            del value[items:]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            entry = field.message_type
            if entry is not None and entry.GetOptions().map_entry:
                continue
            for item in value if field.is_repeated else [value]:
                _trim(item, items)
