"""from_grpc_error: real google.rpc.Status trailers on real AioRpcError objects."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2

from rtcconsole import errors
from rtcconsole.errors import (
    EXCEPTION_CLASS_BY_CODE,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    RtcConsoleError,
    from_grpc_error,
)
from tests.client.fake import failure

BAD_REQUEST = error_details_pb2.BadRequest(
    field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field="name", description="must be 1–15 characters"),
        error_details_pb2.BadRequest.FieldViolation(field="description", description="bad character '!'"),
    ]
)


def aio_error(status: grpc.Status, *, details: str | None = None) -> grpc.aio.AioRpcError:
    """The exception a grpc.aio call raises for ``status``."""
    return grpc.aio.AioRpcError(
        status.code,
        initial_metadata=grpc.aio.Metadata(),
        trailing_metadata=grpc.aio.Metadata(*status.trailing_metadata),
        details=status.details if details is None else details,
    )


def test_bad_request_becomes_invalid_argument_with_field_violations() -> None:
    error = from_grpc_error(aio_error(failure(grpc.StatusCode.INVALID_ARGUMENT, "invalid app", BAD_REQUEST)))
    assert type(error) is InvalidArgument
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert error.message == "invalid app"
    assert str(error) == "INVALID_ARGUMENT: invalid app"
    assert [(v.field, v.description) for v in error.field_violations] == [
        ("name", "must be 1–15 characters"),
        ("description", "bad character '!'"),
    ]
    assert error.details == (BAD_REQUEST,)
    assert error.status is not None and error.status.message == "invalid app"


def test_quota_failure_and_error_info() -> None:
    quota = error_details_pb2.QuotaFailure(
        violations=[
            error_details_pb2.QuotaFailure.Violation(subject="accounts/1", description="100 apps of 100")
        ]
    )
    info = error_details_pb2.ErrorInfo(
        reason="APPS_QUOTA_EXCEEDED", domain="rtcconsole.v1", metadata={"limit": "100", "current": "100"}
    )
    error = from_grpc_error(aio_error(failure(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota", quota, info)))
    assert isinstance(error, ResourceExhausted)
    assert [(v.subject, v.description) for v in error.quota_violations] == [("accounts/1", "100 apps of 100")]
    assert error.error_info.metadata["limit"] == "100"
    assert error.field_violations == []
    assert error.resource_info is None


def test_precondition_resource_and_request_info() -> None:
    precondition = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="APP_STATUS", subject="apps/1400000001", description="disable it first"
            )
        ]
    )
    resource = error_details_pb2.ResourceInfo(resource_type="app", resource_name="apps/1400000001")
    request = error_details_pb2.RequestInfo(request_id="abc123")
    error = from_grpc_error(
        aio_error(failure(grpc.StatusCode.FAILED_PRECONDITION, "no", precondition, resource, request))
    )
    assert isinstance(error, errors.FailedPrecondition)
    assert [v.type for v in error.precondition_violations] == ["APP_STATUS"]
    assert error.resource_info.resource_name == "apps/1400000001"
    assert error.request_info.request_id == "abc123"


def test_to_dict_is_proto_json_with_type_urls() -> None:
    error = from_grpc_error(aio_error(failure(grpc.StatusCode.INVALID_ARGUMENT, "invalid app", BAD_REQUEST)))
    assert error.to_dict() == {
        "code": "INVALID_ARGUMENT",
        "message": "invalid app",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "field_violations": [
                    {"field": "name", "description": "must be 1–15 characters"},
                    {"field": "description", "description": "bad character '!'"},
                ],
            }
        ],
    }


def test_an_unknown_detail_type_stays_packed() -> None:
    help_detail = error_details_pb2.Help(links=[error_details_pb2.Help.Link(url="https://example.com")])
    error = from_grpc_error(aio_error(failure(grpc.StatusCode.NOT_FOUND, "gone", help_detail)))
    assert isinstance(error, NotFound)
    assert error.to_dict()["details"] == [{"@type": "type.googleapis.com/google.rpc.Help"}]


@pytest.mark.parametrize("code", list(EXCEPTION_CLASS_BY_CODE), ids=lambda c: c.name)
def test_every_code_of_the_table_maps_to_its_class(code: grpc.StatusCode) -> None:
    error = from_grpc_error(aio_error(failure(code, "x")))
    cls = EXCEPTION_CLASS_BY_CODE[code]
    assert type(error) is cls and cls.grpc_status_code is code and error.code is code
    assert error.details == ()


def test_the_table_covers_the_statuses_we_use() -> None:
    assert {code.name for code in EXCEPTION_CLASS_BY_CODE} == {
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "FAILED_PRECONDITION",
        "RESOURCE_EXHAUSTED",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "ABORTED",
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
        "INTERNAL",
        "UNKNOWN",
    }


def test_a_code_without_a_class_is_the_base_class_with_its_code() -> None:
    error = from_grpc_error(aio_error(failure(grpc.StatusCode.UNIMPLEMENTED, "no such method")))
    assert type(error) is RtcConsoleError
    assert error.code is grpc.StatusCode.UNIMPLEMENTED


def test_no_trailer_means_no_details() -> None:
    error = from_grpc_error(grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, details="connection refused"))
    assert isinstance(error, errors.Unavailable)
    assert error.message == "connection refused"
    assert error.status is None and error.details == ()


def test_a_trailer_that_disagrees_with_the_call_is_ignored() -> None:
    status = failure(grpc.StatusCode.INVALID_ARGUMENT, "invalid app", BAD_REQUEST)
    error = from_grpc_error(aio_error(status, details="another message"))
    assert isinstance(error, InvalidArgument)
    assert error.message == "another message"
    assert error.details == ()


def test_a_garbage_trailer_is_ignored() -> None:
    metadata = grpc.aio.Metadata(("grpc-status-details-bin", b"\xff\xff not a status"))
    error = from_grpc_error(
        grpc.aio.AioRpcError(grpc.StatusCode.INTERNAL, grpc.aio.Metadata(), metadata, details="boom")
    )
    assert isinstance(error, errors.Internal)
    assert error.details == ()


class _SyncError(grpc.RpcError):
    """What the sync API raises: an RpcError that is also call-like."""

    def __init__(self, status: grpc.Status) -> None:
        self._status = status

    def code(self) -> grpc.StatusCode:
        return self._status.code

    def details(self) -> str:
        return self._status.details

    def trailing_metadata(self) -> tuple[Any, ...]:
        return tuple(self._status.trailing_metadata)


def test_sync_api_errors_are_decoded_too() -> None:
    error = from_grpc_error(_SyncError(failure(grpc.StatusCode.INVALID_ARGUMENT, "invalid app", BAD_REQUEST)))
    assert isinstance(error, InvalidArgument)
    assert [v.field for v in error.field_violations] == ["name", "description"]


def test_a_bare_rpc_error_is_unknown() -> None:
    error = from_grpc_error(grpc.RpcError("what happened"))
    assert isinstance(error, errors.Unknown)
    assert error.message == "what happened"
    assert error.grpc_error is not None


def test_already_exists_names_every_conflicting_resource() -> None:
    names = ["events/e1", "events/e2"]
    infos = [error_details_pb2.ResourceInfo(resource_type="event", resource_name=n) for n in names]
    error = from_grpc_error(aio_error(failure(grpc.StatusCode.ALREADY_EXISTS, "reused ids", *infos)))
    assert isinstance(error, errors.AlreadyExists)
    assert [r.resource_name for r in error.resource_infos] == names
    assert error.resource_info.resource_name == "events/e1"
