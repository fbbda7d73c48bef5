"""Errors of rtc-console calls: one exception per gRPC status, with decoded details.

Every failed call of the client raises a subclass of :class:`RtcConsoleError`,
built by :func:`from_grpc_error` from the status code, the message and the
``google.rpc`` details of the ``grpc-status-details-bin`` trailer (see
``docs/errors.md`` for which call answers which)::

    RtcConsoleError                (.code, .message, .details, .status, .grpc_error)
    ├── InvalidArgument            INVALID_ARGUMENT     BadRequest: one field violation per field
    ├── NotFound                   NOT_FOUND            ResourceInfo
    ├── AlreadyExists              ALREADY_EXISTS       ResourceInfo, one per conflicting resource
    ├── FailedPrecondition         FAILED_PRECONDITION  PreconditionFailure
    ├── ResourceExhausted          RESOURCE_EXHAUSTED   QuotaFailure + ErrorInfo (limit, current)
    ├── Unauthenticated            UNAUTHENTICATED
    ├── PermissionDenied           PERMISSION_DENIED
    ├── Aborted                    ABORTED              lost a race: retry
    ├── Unavailable                UNAVAILABLE          server unreachable or shutting down: retry
    ├── DeadlineExceeded           DEADLINE_EXCEEDED
    ├── Internal                   INTERNAL             RequestInfo: the server log's correlation id
    └── Unknown                    UNKNOWN

Any other status (CANCELLED, UNIMPLEMENTED, …) raises :class:`RtcConsoleError` itself,
with its ``code`` set. Callers catch ``except NotFound`` or look at ``error.code``::

    try:
        app = await console.apps.get_app(sdk_app_id=1400000001)
    except NotFound:
        ...
    except InvalidArgument as error:
        for violation in error.field_violations:
            print(violation.field, violation.description)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import grpc
from google.protobuf import any_pb2, json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = [
    "DETAIL_TYPES",
    "EXCEPTION_CLASS_BY_CODE",
    "Aborted",
    "AlreadyExists",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "RtcConsoleError",
    "Unauthenticated",
    "Unavailable",
    "Unknown",
    "exception_class_for",
    "from_grpc_error",
]

DETAIL_TYPES: Mapping[str, type[Message]] = MappingProxyType(
    {
        cls.DESCRIPTOR.full_name: cls
        for cls in (
            error_details_pb2.BadRequest,
            error_details_pb2.QuotaFailure,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.ErrorInfo,
            error_details_pb2.ResourceInfo,
            error_details_pb2.RequestInfo,
        )
    }
)
"""``google.rpc`` detail messages that are decoded, by full name; others stay packed in ``Any``."""


class RtcConsoleError(Exception):
    """A call failed with a non-OK status.

    ``str(error)`` is ``"<CODE>: <message>"``. The detail accessors return empty
    lists or ``None`` when the server sent no detail of that kind.
    """

    grpc_status_code: ClassVar[grpc.StatusCode | None] = None
    """The status this class stands for; ``None`` on the base class."""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        details: tuple[Message, ...] = (),
        status: status_pb2.Status | None = None,
        grpc_error: grpc.RpcError | None = None,
    ) -> None:
        super().__init__(message)
        self.code: grpc.StatusCode = code or self.grpc_status_code or grpc.StatusCode.UNKNOWN
        """The gRPC status code."""
        self.message = message
        """The status message, for people."""
        self.details = details
        """Decoded ``google.rpc`` details (``any_pb2.Any`` for types not in :data:`DETAIL_TYPES`)."""
        self.status = status
        """The ``google.rpc.Status`` of the trailer, or ``None`` when the server sent none."""
        self.grpc_error = grpc_error
        """The exception raised by gRPC, if this error came from one."""

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code.name})"

    def _all(self, cls: type[Message]) -> list[Any]:
        return [d for d in self.details if isinstance(d, cls)]

    def _detail(self, cls: type[Message]) -> Any:
        return next(iter(self._all(cls)), None)

    @property
    def field_violations(self) -> list[Any]:
        """``BadRequest.FieldViolation`` items (``field`` is the proto path, e.g. ``app.name``)."""
        return [v for d in self._all(error_details_pb2.BadRequest) for v in d.field_violations]

    @property
    def quota_violations(self) -> list[Any]:
        """``QuotaFailure.Violation`` items (``subject``, ``description``)."""
        return [v for d in self._all(error_details_pb2.QuotaFailure) for v in d.violations]

    @property
    def precondition_violations(self) -> list[Any]:
        """``PreconditionFailure.Violation`` items (``type``, ``subject``, ``description``)."""
        return [v for d in self._all(error_details_pb2.PreconditionFailure) for v in d.violations]

    @property
    def error_info(self) -> Any:
        """The ``ErrorInfo`` detail (``reason``, ``domain``, ``metadata``), or ``None``."""
        return self._detail(error_details_pb2.ErrorInfo)

    @property
    def resource_info(self) -> Any:
        """The ``ResourceInfo`` detail (``resource_type``, ``resource_name``), or ``None``."""
        return self._detail(error_details_pb2.ResourceInfo)

    @property
    def resource_infos(self) -> list[Any]:
        """Every ``ResourceInfo`` detail (ALREADY_EXISTS names each conflicting resource)."""
        return self._all(error_details_pb2.ResourceInfo)

    @property
    def request_info(self) -> Any:
        """The ``RequestInfo`` detail (``request_id``: the server log's correlation id), or ``None``."""
        return self._detail(error_details_pb2.RequestInfo)

    def to_dict(self) -> dict[str, Any]:
        """``{"code": "INVALID_ARGUMENT", "message": …, "details": [{"@type": …, …}]}``.

        Details are in proto-JSON form with proto field names, each with its ``@type``
        URL, as ``google.protobuf.Any`` is written in JSON.
        """
        details = [_detail_json(d) for d in self.details]
        return {"code": self.code.name, "message": self.message, "details": details}


class InvalidArgument(RtcConsoleError):
    """A field of the request is invalid or missing; see :attr:`field_violations`."""

    grpc_status_code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(RtcConsoleError):
    """No such resource, or another account's (they look the same); see :attr:`resource_info`."""

    grpc_status_code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(RtcConsoleError):
    """The resource exists already (or a request id was reused differently)."""

    grpc_status_code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(RtcConsoleError):
    """The resource is not in a state that allows the call; see :attr:`precondition_violations`."""

    grpc_status_code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(RtcConsoleError):
    """A quota is used up (R1); see :attr:`quota_violations` and :attr:`error_info`."""

    grpc_status_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unauthenticated(RtcConsoleError):
    """The API key is missing, malformed, unknown or revoked."""

    grpc_status_code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(RtcConsoleError):
    """The key is valid but lacks what the call needs (e.g. a fresh secondary authentication, R7)."""

    grpc_status_code = grpc.StatusCode.PERMISSION_DENIED


class Aborted(RtcConsoleError):
    """The call lost a race with a concurrent change; retrying is safe."""

    grpc_status_code = grpc.StatusCode.ABORTED


class Unavailable(RtcConsoleError):
    """The server could not be reached or is shutting down; retrying is safe."""

    grpc_status_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(RtcConsoleError):
    """The call did not finish within its timeout."""

    grpc_status_code = grpc.StatusCode.DEADLINE_EXCEEDED


class Internal(RtcConsoleError):
    """A bug on the server; :attr:`request_info` holds the correlation id of its log line."""

    grpc_status_code = grpc.StatusCode.INTERNAL


class Unknown(RtcConsoleError):
    """The server or the transport failed without a status."""

    grpc_status_code = grpc.StatusCode.UNKNOWN


EXCEPTION_CLASS_BY_CODE: Mapping[grpc.StatusCode, type[RtcConsoleError]] = MappingProxyType(
    {
        cls.grpc_status_code: cls
        for cls in (
            InvalidArgument,
            NotFound,
            AlreadyExists,
            FailedPrecondition,
            ResourceExhausted,
            Unauthenticated,
            PermissionDenied,
            Aborted,
            Unavailable,
            DeadlineExceeded,
            Internal,
            Unknown,
        )
        if cls.grpc_status_code is not None
    }
)
"""Status code → exception class: the one table. Codes not listed map to :class:`RtcConsoleError`."""


def exception_class_for(code: grpc.StatusCode) -> type[RtcConsoleError]:
    """The exception class of ``code`` (:class:`RtcConsoleError` for codes without their own)."""
    return EXCEPTION_CLASS_BY_CODE.get(code, RtcConsoleError)


def from_grpc_error(exc: grpc.aio.AioRpcError | grpc.RpcError) -> RtcConsoleError:
    """The :class:`RtcConsoleError` for a failed call; use as ``raise from_grpc_error(e) from e``.

    Works for ``grpc.aio.AioRpcError`` and for the sync API's errors (which are also
    ``grpc.Call``). A trailer that cannot be decoded, or whose code or message
    disagrees with the call's, is ignored: the error then has no details.
    """
    code = _call_code(exc)
    message = _call_message(exc)
    status = _rich_status(exc)
    details = tuple(_unpack(packed) for packed in status.details) if status is not None else ()
    return exception_class_for(code)(message, code=code, details=details, status=status, grpc_error=exc)


def _call_code(exc: grpc.RpcError) -> grpc.StatusCode:
    code = getattr(exc, "code", None)
    value = code() if callable(code) else None
    return value if isinstance(value, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def _call_message(exc: grpc.RpcError) -> str:
    details = getattr(exc, "details", None)
    if callable(details):  # a call's status message (None when the transport failed without one)
        value = details()
        return value if isinstance(value, str) else ""
    return str(exc)


def _rich_status(exc: grpc.RpcError) -> status_pb2.Status | None:
    if not callable(getattr(exc, "trailing_metadata", None)):
        return None
    try:
        # AioRpcError is not a grpc.Call but has the three methods from_call reads.
        return rpc_status.from_call(exc)  # type: ignore[arg-type]
    except (ValueError, DecodeError):
        # A trailer that disagrees with the call, or is not a Status: no details rather than no error.
        return None


def _unpack(packed: any_pb2.Any) -> Message:
    cls = DETAIL_TYPES.get(packed.TypeName())
    if cls is None:
        return packed
    detail = cls()
    return detail if packed.Unpack(detail) else packed


def _detail_json(detail: Message) -> dict[str, Any]:
    if isinstance(detail, any_pb2.Any):
        return {"@type": detail.type_url}
    body = json_format.MessageToDict(detail, preserving_proto_field_name=True)
    return {"@type": f"type.googleapis.com/{detail.DESCRIPTOR.full_name}", **body}
