"""The one table from domain errors to gRPC status codes and ``google.rpc`` details.

Every :class:`~rtcconsole_server.errors.RtcError` subclass has its own entry in
:data:`STATUS_OF` (looked up by exact class, never through a base class:
``tests/unit/test_error_table.py`` holds that every class has one) and maps to
its code with rich details (read them with ``grpc_status.rpc_status.from_call``).
Anything else, including an ``RtcError`` of a class without an entry, is a bug
of ours: it becomes ``INTERNAL`` with a fresh correlation id, logged at ERROR
next to the traceback; the caller never sees the traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from rtcconsole_server import errors

__all__ = ["DOMAIN", "STATUS_OF", "internal_status", "to_status"]

log = logging.getLogger("rtcconsole_server.rpc")

DOMAIN = "rtcconsole.v1"
"""``ErrorInfo.domain`` of every error this server raises."""


def _pack(*messages: Any) -> list[any_pb2.Any]:
    packed = []
    for message in messages:
        holder = any_pb2.Any()
        holder.Pack(message)
        packed.append(holder)
    return packed


def _bad_request(e: errors.InvalidArgument) -> list[any_pb2.Any]:
    return _pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in e.violations
            ]
        )
    )


def _resource(e: errors.NotFound | errors.AlreadyExists) -> list[any_pb2.Any]:
    return _pack(
        error_details_pb2.ResourceInfo(
            resource_type=e.resource_type, resource_name=e.resource_name, description=e.message
        )
    )


def _exists(e: errors.AlreadyExists) -> list[any_pb2.Any]:
    """One ResourceInfo per resource in the conflict (several when a batch reuses several ids)."""
    return _pack(
        *(
            error_details_pb2.ResourceInfo(
                resource_type=e.resource_type, resource_name=name, description=e.message
            )
            for name in (e.resource_name, *e.others)
        )
    )


def _precondition(e: errors.FailedPrecondition) -> list[any_pb2.Any]:
    return _pack(
        error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=v.type, subject=v.subject, description=v.description
                )
                for v in e.violations
            ]
        )
    )


def _quota(e: errors.QuotaExceeded) -> list[any_pb2.Any]:
    return _pack(
        error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(
                    subject=e.subject, description=f"{e.current} {e.resource} of {e.limit} allowed"
                )
            ]
        ),
        error_details_pb2.ErrorInfo(
            reason=f"{e.resource.upper()}_QUOTA_EXCEEDED",
            domain=DOMAIN,
            metadata={"limit": str(e.limit), "current": str(e.current), "resource": e.resource},
        ),
    )


def _retry_after(e: errors.LockedOut) -> list[any_pb2.Any]:
    """``RetryInfo.retry_delay``: how long the caller waits before the next attempt."""
    delay = duration_pb2.Duration()
    delay.FromTimedelta(e.retry_after)
    return _pack(error_details_pb2.RetryInfo(retry_delay=delay))


def _none(_e: errors.RtcError) -> list[any_pb2.Any]:
    return []


_Details = Callable[[Any], list[any_pb2.Any]]

STATUS_OF: dict[type[errors.RtcError], tuple[grpc.StatusCode, _Details]] = {
    errors.InvalidArgument: (grpc.StatusCode.INVALID_ARGUMENT, _bad_request),
    errors.NotFound: (grpc.StatusCode.NOT_FOUND, _resource),
    errors.AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, _exists),
    errors.FailedPrecondition: (grpc.StatusCode.FAILED_PRECONDITION, _precondition),
    errors.QuotaExceeded: (grpc.StatusCode.RESOURCE_EXHAUSTED, _quota),
    errors.Unauthenticated: (grpc.StatusCode.UNAUTHENTICATED, _none),
    errors.PermissionDenied: (grpc.StatusCode.PERMISSION_DENIED, _none),
    errors.Aborted: (grpc.StatusCode.ABORTED, _none),
    errors.StatementTimeout: (grpc.StatusCode.DEADLINE_EXCEEDED, _none),
    errors.LockedOut: (grpc.StatusCode.RESOURCE_EXHAUSTED, _retry_after),
}
"""Domain error class → (status code, details builder): one entry per class, matched exactly.

A subclass never borrows its base's entry; a class without one is answered as a bug (``INTERNAL``)."""


def _status(code: grpc.StatusCode, message: str, details: list[any_pb2.Any]) -> grpc.Status:
    number: int = code.value[0]
    status: grpc.Status = rpc_status.to_status(
        status_pb2.Status(code=number, message=message, details=details)
    )
    return status


def to_status(error: BaseException, method: str = "") -> grpc.Status:
    """The status (code, message, details in trailing metadata) a call that raised ``error`` ends with.

    A domain error with an entry in :data:`STATUS_OF` gets that entry (logged at DEBUG);
    anything else gets :func:`internal_status` with a fresh correlation id, logged at
    ERROR with ``error``'s traceback and ``method`` (the gRPC method path).
    """
    if isinstance(error, errors.RtcError) and (entry := STATUS_OF.get(type(error))) is not None:
        code, details = entry
        log.debug("%s -> %s: %s", method, code.name, error.message)
        return _status(code, error.message, details(error))
    correlation_id = uuid.uuid4().hex
    log.error("%s failed; correlation id %s", method, correlation_id, exc_info=error)
    return internal_status(correlation_id)


def internal_status(correlation_id: str) -> grpc.Status:
    """``INTERNAL`` for a bug of ours, naming the correlation id logged with the traceback."""
    return _status(
        grpc.StatusCode.INTERNAL,
        f"internal error; correlation id {correlation_id}",
        _pack(error_details_pb2.RequestInfo(request_id=correlation_id)),
    )
