"""Request limits read from the contract, checked before any other work on a request.

Every string and bytes field of a request carries ``(rtcconsole.v1.max_len)``, every
repeated field ``(rtcconsole.v1.max_items)``, and every map field with string keys or
values ``(rtcconsole.v1.map_key_max_len)`` / ``(rtcconsole.v1.map_value_max_len)`` besides
(``protos/rtcconsole/v1/options.proto``);
``tests/unit/test_limits.py`` fails when a request field lacks its cap, so a new RPC
inherits the protection by declaring its fields. Beyond the declared caps, values the
store or the clock cannot hold are refused for every field of their type:

- ``uint64`` above 2^63 - 1 (ids are signed 64-bit integers in the store);
- ``google.protobuf.Timestamp`` outside 0001-01-01 .. 9999-12-31 or with nanos outside
  [0, 1e9); ``google.protobuf.Duration`` beyond ±10,000 years or with nanos of the wrong
  sign or size (the protobuf definitions of both types);
- a string holding NUL (U+0000), which PostgreSQL text cannot store;
- ``google.protobuf.FieldMask`` with more than :data:`FIELD_MASK_MAX_PATHS` paths or a
  path longer than :data:`FIELD_MASK_MAX_PATH_LEN` characters.

A violated limit is ``InvalidArgument`` with one field violation per offending field
(AIP paths such as ``events[3].user_id``; a map value ``events[3].parameters["key"]``, a
key too long the map itself), at most :data:`MAX_VIOLATIONS` of them. The
check walks only the fields that are set, and stops descending into a repeated field
that is over its cap, so its cost is bounded by the caps themselves.
"""

from __future__ import annotations

import json

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from rtcconsole_server.api.limits_plan import (
    BYTES,
    DURATION_MAX_SECONDS,
    FIELD_MASK_MAX_PATH_LEN,
    FIELD_MASK_MAX_PATHS,
    MESSAGE,
    NANOS,
    STRING,
    TIMESTAMP_MAX_SECONDS,
    TIMESTAMP_MIN_SECONDS,
    UINT64,
    UINT64_MAX_ACCEPTED,
    Plan,
    is_map,
    kind_of,
    map_parts,
    plan_of,
)
from rtcconsole_server.api.limits_screen import within_limits
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = [
    "FIELD_MASK_MAX_PATHS",
    "FIELD_MASK_MAX_PATH_LEN",
    "MAX_VIOLATIONS",
    "UINT64_MAX_ACCEPTED",
    "check_request",
    "uncapped_fields",
    "violations_of",
]

MAX_VIOLATIONS = 50
"""Field violations reported at most per request; the check stops there."""


class _Collector:
    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    @property
    def full(self) -> bool:
        return len(self.violations) >= MAX_VIOLATIONS

    def add(self, path: str, description: str) -> None:
        if not self.full:
            self.violations.append(FieldViolation(path, description))


def _check_timestamp(message: Message, path: str, out: _Collector) -> None:
    seconds, nanos = message.seconds, message.nanos  # type: ignore[attr-defined]
    if not TIMESTAMP_MIN_SECONDS <= seconds <= TIMESTAMP_MAX_SECONDS:
        out.add(path, "must be between 0001-01-01 and 9999-12-31 (google.protobuf.Timestamp)")
    elif not 0 <= nanos < NANOS:
        out.add(f"{path}.nanos", "must be in [0, 999999999]")


def _check_duration(message: Message, path: str, out: _Collector) -> None:
    seconds, nanos = message.seconds, message.nanos  # type: ignore[attr-defined]
    if not -DURATION_MAX_SECONDS <= seconds <= DURATION_MAX_SECONDS:
        out.add(path, "must be within ±315576000000 seconds (google.protobuf.Duration)")
    elif not -NANOS < nanos < NANOS or (seconds > 0 and nanos < 0) or (seconds < 0 and nanos > 0):
        out.add(f"{path}.nanos", "must be in (-1e9, 1e9) with the sign of seconds")


def _check_field_mask(message: Message, path: str, out: _Collector) -> None:
    paths = message.paths  # type: ignore[attr-defined]
    if len(paths) > FIELD_MASK_MAX_PATHS:
        out.add(f"{path}.paths", f"must hold at most {FIELD_MASK_MAX_PATHS} paths (got {len(paths)})")
        return
    for index, item in enumerate(paths):
        if len(item) > FIELD_MASK_MAX_PATH_LEN:
            out.add(f"{path}.paths[{index}]", f"must be at most {FIELD_MASK_MAX_PATH_LEN} characters")


_WELL_KNOWN = {
    "google.protobuf.Timestamp": _check_timestamp,
    "google.protobuf.Duration": _check_duration,
    "google.protobuf.FieldMask": _check_field_mask,
}


def _check_scalar(plan: Plan, value: object, path: str, out: _Collector) -> None:
    if plan.kind == STRING or plan.kind == BYTES:
        size = len(value)  # type: ignore[arg-type]
        if plan.max_len and size > plan.max_len:
            unit = "characters" if plan.kind == STRING else "bytes"
            out.add(path, f"must be at most {plan.max_len} {unit} (got {size})")
        elif plan.kind == STRING and "\x00" in value:  # type: ignore[operator]
            out.add(path, "must not contain NUL (U+0000)")
    elif plan.kind == UINT64 and value > UINT64_MAX_ACCEPTED:  # type: ignore[operator]
        out.add(path, f"must be at most {UINT64_MAX_ACCEPTED}")


def _walk(message: Message, prefix: str, out: _Collector) -> None:
    well_known = _WELL_KNOWN.get(message.DESCRIPTOR.full_name)
    if well_known is not None:
        well_known(message, prefix.rstrip("."), out)
        return
    for field, value in message.ListFields():
        if out.full:
            return
        plan = plan_of(field)
        path = prefix + field.name
        if plan.repeated:
            if plan.max_items and len(value) > plan.max_items:
                out.add(path, f"must hold at most {plan.max_items} items (got {len(value)})")
                continue
            if is_map(field):
                _walk_map(field, plan, value, path, out)
                continue
            for index, item in enumerate(value):
                if out.full:
                    return
                if plan.kind == MESSAGE:
                    _walk(item, f"{path}[{index}].", out)
                else:
                    _check_scalar(plan, item, f"{path}[{index}]", out)
        elif plan.kind == MESSAGE:
            _walk(value, path + ".", out)
        else:
            _check_scalar(plan, value, path, out)


def _walk_map(field: FieldDescriptor, plan: Plan, entries: object, path: str, out: _Collector) -> None:
    """The keys and values of a map field (already within its ``max_items``): each string key
    within ``map_key_max_len`` (a longer one is reported on the map, without quoting it), each
    string or bytes value within ``map_value_max_len`` (``path["key"]``), no NUL in either;
    message values are walked like any message."""
    key_field, value_field = map_parts(field)
    key_is_text = key_field.type == FieldDescriptor.TYPE_STRING
    value_kind = kind_of(value_field)
    for key in sorted(entries):  # type: ignore[call-overload]
        if out.full:
            return
        value = entries[key]  # type: ignore[index]
        if key_is_text:
            if plan.map_key_max_len and len(key) > plan.map_key_max_len:
                out.add(path, f"keys must be at most {plan.map_key_max_len} characters (got {len(key)})")
                continue
            if "\x00" in key:
                out.add(path, "keys must not contain NUL (U+0000)")
                continue
        where = f"{path}[{json.dumps(key, ensure_ascii=False)}]"
        if value_kind == MESSAGE:
            _walk(value, where + ".", out)
        elif value_kind in (STRING, BYTES):
            value_plan = Plan(value_kind, False, plan.map_value_max_len, 0, None, 0, 0)
            _check_scalar(value_plan, value, where, out)
        else:
            _check_scalar(plan_of(value_field), value, where, out)


def violations_of(message: Message) -> list[FieldViolation]:
    """The limits ``message`` breaks, at most :data:`MAX_VIOLATIONS`; empty when it is within them."""
    if within_limits(message):  # the common case, without building a path per field
        return []
    out = _Collector()
    _walk(message, "", out)
    return out.violations


def check_request(message: Message) -> None:
    """Raise ``InvalidArgument`` (field-level) unless ``message`` is within every limit."""
    violations = violations_of(message)
    if violations:
        raise InvalidArgument(violations)


def uncapped_fields(descriptor: Descriptor) -> list[str]:
    """Fields reachable from ``descriptor`` that lack the cap their type needs (for the test that
    holds every request field to a cap): ``Message.field: needs max_len`` and the like."""
    missing: list[str] = []
    seen: set[str] = set()

    def visit(message: Descriptor) -> None:
        if message.full_name in seen or message.full_name in _WELL_KNOWN:
            return
        seen.add(message.full_name)
        for field in message.fields:
            plan = plan_of(field)
            name = f"{message.full_name}.{field.name}"
            if plan.repeated and not plan.max_items:
                missing.append(f"{name}: needs max_items")
            if is_map(field):
                key_field, value_field = map_parts(field)
                if key_field.type == FieldDescriptor.TYPE_STRING and not plan.map_key_max_len:
                    missing.append(f"{name}: needs map_key_max_len")
                if kind_of(value_field) in (STRING, BYTES) and not plan.map_value_max_len:
                    missing.append(f"{name}: needs map_value_max_len")
                if value_field.message_type is not None:
                    visit(value_field.message_type)
                continue
            if plan.kind in (STRING, BYTES) and not plan.max_len:
                missing.append(f"{name}: needs max_len")
            if plan.message is not None and not message.full_name.startswith("google.protobuf."):
                visit(plan.message)

    visit(descriptor)
    return missing
