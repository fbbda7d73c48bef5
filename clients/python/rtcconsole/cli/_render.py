"""Human-readable output: aligned fields, tables, times and enum labels; and the JSON form."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, timedelta
from typing import Any

from google.protobuf import any_pb2, duration_pb2, json_format, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from rtcconsole.cli._framework import UsageError
from rtcconsole.errors import RtcConsoleError
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import common_pb2

__all__ = [
    "STOP_REASONS",
    "app_fields",
    "app_status",
    "apps_table",
    "error_json",
    "field_value",
    "fields",
    "label",
    "material_fields",
    "materials_table",
    "next_page",
    "operation_fields",
    "operations_table",
    "table",
    "tag_text",
    "to_json",
    "when",
]


def _as_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def to_json(message: Message) -> str:
    """The proto-JSON form printed by ``--json``: proto field names, uint64 as strings, and every
    field, also one that holds its default (``"valid": false``, ``"index": 0``, ``[]``); only a
    message or ``optional`` field that is not set is left out (absent, not a default)."""
    return json.dumps(_as_dict(message), indent=2, ensure_ascii=False)


def error_json(error: RtcConsoleError, *, message: str | None = None) -> str:
    """``{"error": {"code", "message", "details"}}`` as ``--json`` prints a failure on stderr:
    the details in proto-JSON with their ``@type`` and every field, like :func:`to_json`.
    ``message`` replaces the server's message (rtcctl's own words for an unreachable server)."""
    details: list[dict[str, Any]] = []
    for detail in error.details:
        if isinstance(detail, any_pb2.Any):  # a type rtcconsole.errors does not decode
            details.append({"@type": detail.type_url})
        else:
            details.append(
                {"@type": f"type.googleapis.com/{detail.DESCRIPTOR.full_name}", **_as_dict(detail)}
            )
    body = {"code": error.code.name, "message": error.message if message is None else message}
    return json.dumps({"error": {**body, "details": details}}, indent=2, ensure_ascii=False)


def field_value(message: Message, path: str, *, as_json: bool = False) -> str:
    """``--field PATH``: one field of ``message`` in its proto-JSON form (``claims.identifier``).

    A number after a list field picks one item, counting from 0 (``calls.0.call_id``); past
    the end of the list is an empty line, like an unset field. Text is printed as it is
    (``--json``: as a JSON string), anything else as JSON; an unset message field is an empty
    line. A name the message does not have is a usage error that lists the names it has.
    """
    descriptor: Any = message.DESCRIPTOR
    value: Any = _as_dict(message)
    names = path.split(".")
    items: Any = None  # after a list field: the descriptor of its items (False: not messages)
    for depth, name in enumerate(names):
        where = ".".join(names[:depth]) or message.DESCRIPTOR.name
        if items is not None:
            if not (name.isascii() and name.isdigit()):
                raise UsageError(f"--field {path}: {where} is a list: pick an item, e.g. --field {where}.0")
            index = int(name)
            value = value[index] if isinstance(value, list) and index < len(value) else None
            descriptor, items = items or None, None
            continue
        if descriptor is None:
            raise UsageError(f"--field {path}: {where} is a value, with no fields: use --field {where}")
        known = descriptor.fields_by_name.get(name)
        if known is None:
            fields = ", ".join(f.name for f in descriptor.fields)
            raise UsageError(f"--field {path}: {where} has no field {name!r}; its fields: {fields}")
        value = value.get(name) if isinstance(value, dict) else None  # None: not set
        nested = known.message_type if known.type == FieldDescriptor.TYPE_MESSAGE else None
        # a map or a well-known type (Timestamp: a string in JSON) is a value, not fields
        well_known = nested is not None and nested.full_name.startswith("google.protobuf.")
        is_map = nested is not None and nested.GetOptions().map_entry
        if known.is_repeated and not is_map:
            items = nested if nested is not None and not well_known else False
            descriptor = None
            continue
        descriptor = None if (is_map or well_known) else nested
    if value is None:
        return ""
    if isinstance(value, str) and not as_json:
        return value
    return json.dumps(value, ensure_ascii=False)


def _width(text: str) -> int:
    """Terminal columns of ``text``: CJK and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def fields(pairs: Iterable[tuple[str, str]]) -> str:
    """``label:  value`` lines with the values aligned."""
    rows = list(pairs)
    width = max((_width(name) for name, _ in rows), default=0) + 2
    return "\n".join(_pad(f"{name}:", width + 1) + value for name, value in rows)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A plain table: one header line, one line per row, columns two spaces apart."""
    cells = [list(headers), *[list(row) for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def when(timestamp: timestamp_pb2.Timestamp) -> str:
    """A timestamp as ``2025-01-02T03:04:05Z``; ``-`` when unset."""
    if timestamp.seconds == 0 and timestamp.nanos == 0:
        return "-"
    return timestamp.ToDatetime(tzinfo=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def room(message: Message) -> str:
    """The room of a message with a ``room`` oneof (``room_id`` / ``str_room_id``), as text."""
    which = message.WhichOneof("room") or "str_room_id"  # unset: the empty string room
    return str(getattr(message, which))


def span(duration: duration_pb2.Duration) -> str:
    """A duration for people, to the whole second: ``0:09:44``, ``1 day, 2:00:00``; ``0:00:00.5``
    below a second (a step of a short series)."""
    exact = duration.ToTimedelta()
    if exact < timedelta(seconds=1):
        return str(exact).rstrip("0") if exact else "0:00:00"
    return str(timedelta(seconds=round(exact.total_seconds())))


def label(enum: Any, value: int) -> str:
    """An enum value without its type prefix (``APP_STATUS_NORMAL`` → ``NORMAL``); ``-`` if unspecified."""
    if value == 0:
        return "-"
    try:
        name: str = enum.Name(value)
    except ValueError:
        return str(value)
    prefix = enum.DESCRIPTOR.values[0].name.removesuffix("UNSPECIFIED")
    return name.removeprefix(prefix)


def next_page(token: str) -> str:
    """The hint under a table that has more pages."""
    return f"\nmore: --page-token {token} (or --all)" if token else ""


def tag_text(tags: Iterable[app_pb.Tag]) -> str:
    """``key=value, key=value``; ``-`` when none."""
    return ", ".join(f"{t.key}={t.value}" for t in tags) or "-"


STOP_REASONS: dict[int, tuple[str, str]] = {
    app_pb.STOP_REASON_DISABLED_BY_OWNER: ("disabled by owner", "rtcctl apps enable {id} --totp CODE"),
    app_pb.STOP_REASON_PACKAGE_USED_UP: ("package used up", "buy a package or turn postpaid billing on"),
    app_pb.STOP_REASON_PACKAGE_EXPIRED: ("package expired", "buy a package or turn postpaid billing on"),
    app_pb.STOP_REASON_ARREARS: ("in arrears", "service comes back by itself when the arrears are cleared"),
}
"""``StopReason`` → (what it is, what restores the app) in words (R6); ``{id}`` is the SDKAppID."""


def app_status(app: app_pb.App) -> str:
    """``normal``, or ``stopped (package expired)`` with every reason the server gives (R6)."""
    status = label(app_pb.AppStatus, app.status).lower()
    if app.stop_reasons:
        reasons = (
            STOP_REASONS.get(r, (label(app_pb.StopReason, r).lower(), ""))[0] for r in app.stop_reasons
        )
        status += " (" + ", ".join(reasons) + ")"
    return status


def _restore(app: app_pb.App) -> list[tuple[str, str]]:
    """How to bring a stopped app back, one line per reason that has a remedy (R6)."""
    remedies = dict.fromkeys(
        STOP_REASONS[r][1].format(id=app.sdk_app_id) for r in app.stop_reasons if r in STOP_REASONS
    )
    return [("to restore", "; ".join(remedies))] if remedies else []


def app_fields(app: app_pb.App) -> str:
    """One app (R5) as aligned fields; a stopped one says why and what restores it (R6)."""
    status = app_status(app)
    pending = "-"
    if app.pending_transition:
        pending = f"{label(app_pb.AppTransition, app.pending_transition)} ({app.pending_operation})"
    relay = app.relayed_live_streaming
    return fields(
        [
            ("sdk_app_id", str(app.sdk_app_id)),
            ("name", app.name),
            ("description", app.description or "-"),
            ("status", status),
            *_restore(app),
            ("pending", pending),
            ("tags", tag_text(app.tags)),
            ("relayed push", f"{'on' if relay.enabled else 'off'}, domain {relay.push_domain or '-'}"),
            ("source", app.source or "-"),
            ("created", when(app.create_time)),
            ("updated", when(app.update_time)),
        ]
    )


def apps_table(response: app_pb.ListAppsResponse) -> str:
    """A page of apps (R4: SDKAppID, name, tags, status with its reasons (R6), creation time)."""
    if not response.apps:
        return "no apps"
    rows = [
        (str(a.sdk_app_id), a.name, app_status(a), tag_text(a.tags), when(a.create_time))
        for a in response.apps
    ]
    return table(("SDKAPPID", "NAME", "STATUS", "TAGS", "CREATED"), rows) + next_page(
        response.next_page_token
    )


def operation_fields(operation: common_pb2.Operation) -> str:
    """One operation as aligned fields."""
    pairs = [
        ("name", operation.name),
        ("kind", label(common_pb2.OperationKind, operation.kind)),
        ("state", label(common_pb2.OperationState, operation.state)),
        ("sdk_app_id", str(operation.sdk_app_id)),
        ("accepted", when(operation.accept_time)),
        ("effective", when(operation.effective_time)),
        ("done", when(operation.done_time) if operation.done else "no"),
    ]
    if operation.error_message:
        pairs.append(("error", operation.error_message))
    return fields(pairs)


def operations_table(response: app_pb.ListOperationsResponse) -> str:
    """A page of operations."""
    if not response.operations:
        return "no operations"
    rows = [
        (
            o.name,
            label(common_pb2.OperationKind, o.kind),
            label(common_pb2.OperationState, o.state),
            str(o.sdk_app_id),
            when(o.accept_time),
            when(o.effective_time),
        )
        for o in response.operations
    ]
    headers = ("NAME", "KIND", "STATE", "SDKAPPID", "ACCEPTED", "EFFECTIVE")
    return table(headers, rows) + next_page(response.next_page_token)


def material_fields(material: app_pb.Material) -> str:
    """One material (R9) as aligned fields."""
    return fields(
        [
            ("material_id", str(material.material_id)),
            ("sdk_app_id", str(material.sdk_app_id)),
            ("name", material.name or "-"),
            ("format", label(app_pb.ImageFormat, material.format)),
            ("size", f"{material.width}x{material.height} px, {material.size_bytes} bytes"),
            ("position", f"x={material.x_position} y={material.y_position}"),
            ("sha256", material.sha256),
            ("created", when(material.create_time)),
        ]
    )


def materials_table(response: app_pb.ListMaterialsResponse) -> str:
    """A page of materials."""
    if not response.materials:
        return "no materials"
    rows = [
        (
            str(m.material_id),
            m.name or "-",
            label(app_pb.ImageFormat, m.format),
            f"{m.width}x{m.height}",
            f"{m.x_position},{m.y_position}",
            str(m.size_bytes),
            when(m.create_time),
        )
        for m in response.materials
    ]
    headers = ("MATERIAL_ID", "NAME", "FORMAT", "PIXELS", "POSITION", "BYTES", "CREATED")
    return table(headers, rows) + next_page(response.next_page_token)
