"""Human-readable output: aligned fields, tables, times and enum labels; and the JSON form."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

from google.protobuf import json_format, timestamp_pb2
from google.protobuf.message import Message

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import common_pb2

__all__ = [
    "app_fields",
    "apps_table",
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


def to_json(message: Message) -> str:
    """The proto-JSON form printed by ``--json`` (proto field names; uint64 as strings)."""
    return json_format.MessageToJson(message, preserving_proto_field_name=True, ensure_ascii=False)


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


def app_fields(app: app_pb.App) -> str:
    """One app (R5) as aligned fields."""
    status = label(app_pb.AppStatus, app.status)
    if app.stop_reasons:
        status += " (" + ", ".join(label(app_pb.StopReason, r) for r in app.stop_reasons) + ")"
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
            ("pending", pending),
            ("tags", tag_text(app.tags)),
            ("relayed push", f"{'on' if relay.enabled else 'off'}, domain {relay.push_domain or '-'}"),
            ("source", app.source or "-"),
            ("created", when(app.create_time)),
            ("updated", when(app.update_time)),
        ]
    )


def apps_table(response: app_pb.ListAppsResponse) -> str:
    """A page of apps (R4: SDKAppID, name, tags, status, creation time)."""
    if not response.apps:
        return "no apps"
    rows = [
        (str(a.sdk_app_id), a.name, label(app_pb.AppStatus, a.status), tag_text(a.tags), when(a.create_time))
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
