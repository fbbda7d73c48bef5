"""Speaking the HTTP door's protocols by hand in tests: Connect JSON calls, the 5-byte envelopes of
Connect streams and gRPC-Web, gRPC-Web trailer frames, and the ``google.rpc`` details of errors.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from tests.support import Tenant

__all__ = [
    "APPS",
    "END_STREAM",
    "TRAILER",
    "bearer",
    "connect_details",
    "envelope",
    "envelopes",
    "frames",
    "grpc_web_details",
    "json_call",
    "messages",
    "trailer",
]

APPS = "/rtcconsole.v1.AppService"
END_STREAM = 0x02
"""Flag of the last envelope of a Connect stream (its JSON holds the error, if any)."""
TRAILER = 0x80
"""Flag of the trailer frame of a gRPC-Web response (``grpc-status``, ``grpc-message`` lines)."""

_DETAIL_TYPES: dict[str, type[Message]] = {
    "google.rpc.BadRequest": error_details_pb2.BadRequest,
    "google.rpc.ErrorInfo": error_details_pb2.ErrorInfo,
    "google.rpc.QuotaFailure": error_details_pb2.QuotaFailure,
    "google.rpc.RequestInfo": error_details_pb2.RequestInfo,
    "google.rpc.RetryInfo": error_details_pb2.RetryInfo,
}


def bearer(tenant: Tenant) -> dict[str, str]:
    return {"authorization": f"Bearer {tenant.api_key}"}


async def json_call(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    """A unary Connect call with a JSON body."""
    return await http.post(path, json=body, headers={**headers, "content-type": "application/json"})


def _unpadded(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def connect_details(error: dict[str, Any]) -> dict[str, Message]:
    """The ``google.rpc`` details of a Connect error body, decoded by type."""
    found: dict[str, Message] = {}
    for detail in error.get("details", []):
        found[detail["type"]] = _DETAIL_TYPES[detail["type"]].FromString(_unpadded(detail["value"]))
    return found


def envelope(payload: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(payload)) + payload


def envelopes(data: bytes) -> list[tuple[int, bytes]]:
    """Every ``(flags, payload)`` of a whole stream body."""
    found, at = [], 0
    while at < len(data):
        flags, size = struct.unpack(">BI", data[at : at + 5])
        found.append((flags, data[at + 5 : at + 5 + size]))
        at += 5 + size
    return found


def trailer(body: bytes, name: str) -> str:
    """The value of ``name`` in the trailer frame of a gRPC-Web body."""
    for flags, payload in envelopes(body):
        if flags & TRAILER:
            for line in payload.decode().split("\r\n"):
                key, _, value = line.partition(":")
                if key.strip().lower() == name:
                    return value.strip()
    raise AssertionError(f"no {name} trailer in {body!r}")


def grpc_web_details(response: httpx.Response) -> dict[str, Message]:
    """The ``google.rpc`` details of a gRPC-Web error (a header when the body is empty, else in the
    trailer frame), decoded by type."""
    packed = response.headers.get("grpc-status-details-bin") or trailer(
        response.content, "grpc-status-details-bin"
    )
    status = status_pb2.Status.FromString(_unpadded(packed))
    found: dict[str, Message] = {}
    for detail in status.details:
        name = detail.type_url.rsplit("/", 1)[1]
        found[name] = _DETAIL_TYPES[name].FromString(detail.value)
    return found


async def frames(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    """The ``(flags, payload)`` envelopes of a response stream, as they arrive."""
    buffered = b""
    async for chunk in chunks:
        buffered += chunk
        while len(buffered) >= 5:
            flags, size = struct.unpack(">BI", buffered[:5])
            if len(buffered) < 5 + size:
                break
            payload, buffered = buffered[5 : 5 + size], buffered[5 + size :]
            yield flags, payload


async def messages(chunks: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
    """The JSON messages of a Connect response stream, as they arrive (the stream must not end)."""
    async for flags, payload in frames(chunks):
        assert not flags & END_STREAM, f"the stream ended: {payload!r}"
        yield json.loads(payload)
