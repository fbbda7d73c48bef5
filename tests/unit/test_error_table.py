"""The error table (api/errors.py): one explicit entry per domain error class, and the fallback for bugs.

Every subclass of ``RtcError``, found by walking ``__subclasses__`` after importing
every module of the server and the aggregator, must have its own entry: the
lookup is by exact class, so a class without one would be answered as a bug
(``INTERNAL``), never with its base's status by accident. docs/errors.md lists
the same classes with the same codes.
"""

from __future__ import annotations

import gc
import importlib
import logging
import pkgutil
import re
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

import rtcconsole_aggregator
import rtcconsole_server
from rtcconsole_server import errors
from rtcconsole_server.api.errors import STATUS_OF, to_status

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"

SAMPLES: dict[type[errors.RtcError], errors.RtcError] = {
    errors.InvalidArgument: errors.InvalidArgument(errors.FieldViolation("app.name", "is required")),
    errors.NotFound: errors.NotFound("app", "apps/1400000001"),
    errors.AlreadyExists: errors.AlreadyExists("event", "1/a", "reused", others=["1/b"]),
    errors.FailedPrecondition: errors.FailedPrecondition(
        errors.PreconditionViolation("APP_STATUS", "apps/1400000001", "the app is not stopped")
    ),
    errors.QuotaExceeded: errors.QuotaExceeded(subject="accounts/1", resource="apps", limit=30, current=30),
    errors.Unauthenticated: errors.Unauthenticated("no key"),
    errors.PermissionDenied: errors.PermissionDenied("no secondary authentication"),
    errors.Aborted: errors.Aborted("lost a race"),
    errors.StatementTimeout: errors.StatementTimeout(timedelta(seconds=5)),
    errors.LockedOut: errors.LockedOut(
        subject="accounts/7/totp", retry_after=timedelta(minutes=1), reason="no"
    ),
}
"""One instance of every domain error class (a new class needs one here too)."""


def _import_everything() -> None:
    """Import every module of the server and aggregator, so that every subclass is defined."""
    for package in (rtcconsole_server, rtcconsole_aggregator):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" not in module.name and not module.name.endswith("__main__"):
                importlib.import_module(module.name)


def _domain_error_classes() -> set[type[errors.RtcError]]:
    """Every subclass of RtcError at any depth, except throwaway ones defined by tests."""
    _import_everything()
    gc.collect()  # forget classes that tests defined and dropped
    found: set[type[errors.RtcError]] = set()
    todo: list[type[errors.RtcError]] = [errors.RtcError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found and not sub.__module__.startswith("tests."):
                found.add(sub)
                todo.append(sub)
    return found


def _decoded(status: grpc.Status) -> status_pb2.Status:
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    assert isinstance(details, bytes)
    return status_pb2.Status.FromString(details)


def _detail_types(status: grpc.Status) -> list[str]:
    return [packed.TypeName().removeprefix("google.rpc.") for packed in _decoded(status).details]


def test_every_domain_error_class_has_its_own_entry() -> None:
    classes = _domain_error_classes()
    assert len(classes) >= 8  # not vacuous
    missing = sorted(c.__qualname__ for c in classes if c not in STATUS_OF)
    assert missing == [], f"domain errors without an entry in api/errors.py STATUS_OF: {missing}"
    assert set(STATUS_OF) == classes  # and no entry for anything else (RtcError itself included)
    assert set(SAMPLES) == classes


@pytest.mark.parametrize("cls", list(STATUS_OF), ids=lambda c: c.__name__)
def test_each_entry_gives_its_code_message_and_details(cls: type[errors.RtcError]) -> None:
    sample = SAMPLES[cls]
    status = to_status(sample)
    code, _details = STATUS_OF[cls]
    assert status.code == code != grpc.StatusCode.INTERNAL
    assert status.details == sample.message
    decoded = _decoded(status)
    assert (decoded.code, decoded.message) == (code.value[0], sample.message)


def _documented() -> dict[str, tuple[str, set[str]]]:
    """docs/errors.md's table: class name → (code, the backticked names in its details column)."""
    rows: dict[str, tuple[str, set[str]]] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`\w+`", cells[0]) and re.fullmatch(r"`[A-Z_]+`", cells[1]):
            rows[cells[0].strip("`")] = (cells[1].strip("`"), set(re.findall(r"`([\w.]+)`", cells[2])))
    return rows


def test_docs_list_every_entry_with_its_code_and_details() -> None:
    documented = _documented()
    assert set(documented) == {cls.__name__ for cls in STATUS_OF}
    for cls, (code, _details) in STATUS_OF.items():
        documented_code, documented_details = documented[cls.__name__]
        assert documented_code == code.name, cls.__name__
        for detail in _detail_types(to_status(SAMPLES[cls])):  # `RetryInfo` or `RetryInfo.retry_delay`
            assert any(d.partition(".")[0] == detail for d in documented_details), (cls.__name__, detail)


def _correlation_id(status: grpc.Status) -> str:
    decoded = _decoded(status)
    assert [packed.TypeName() for packed in decoded.details] == ["google.rpc.RequestInfo"]
    info = error_details_pb2.RequestInfo()
    decoded.details[0].Unpack(info)
    return str(info.request_id)


def test_an_exception_that_is_no_domain_error_is_internal_with_a_logged_correlation_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bug = RuntimeError("secret internals")
    status = to_status(bug, "/rtcconsole.v1.AppService/GetApp")
    assert status.code == grpc.StatusCode.INTERNAL
    correlation_id = _correlation_id(status)
    assert re.fullmatch(r"[0-9a-f]{32}", correlation_id)
    assert status.details == f"internal error; correlation id {correlation_id}"
    assert "secret internals" not in status.details
    [record] = [r for r in caplog.records if correlation_id in r.getMessage()]
    assert record.levelno == logging.ERROR and record.name == "rtcconsole_server.rpc"
    assert "/rtcconsole.v1.AppService/GetApp" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[1] is bug
    assert _correlation_id(to_status(bug)) != correlation_id  # a fresh id each time


def test_the_root_class_and_unlisted_subclasses_fall_back_as_bugs(caplog: pytest.LogCaptureFixture) -> None:
    """No inheritance: a subclass of NotFound without its own entry is not NOT_FOUND."""

    class Unlisted(errors.NotFound):
        pass

    for error in (errors.RtcError("raised bare"), Unlisted("thing", "things/1")):
        status = to_status(error, "/test.Edge/Call")
        assert status.code == grpc.StatusCode.INTERNAL
        assert [r for r in caplog.records if _correlation_id(status) in r.getMessage()]
    del Unlisted, error
    gc.collect()


def test_a_mapped_error_is_logged_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rtcconsole_server.rpc")
    to_status(SAMPLES[errors.NotFound], "/rtcconsole.v1.AppService/GetApp")
    [record] = [r for r in caplog.records if r.name == "rtcconsole_server.rpc"]
    assert record.levelno == logging.DEBUG
    assert (
        record.getMessage() == "/rtcconsole.v1.AppService/GetApp -> NOT_FOUND: app apps/1400000001 not found"
    )


def test_a_lockout_says_how_long_to_wait() -> None:
    decoded = _decoded(to_status(SAMPLES[errors.LockedOut]))
    info = error_details_pb2.RetryInfo()
    assert decoded.details[0].Unpack(info)
    assert info.retry_delay.ToTimedelta() == timedelta(minutes=1)
