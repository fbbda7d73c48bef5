"""The two output forms: proto-JSON with proto field names, and text for people."""

from __future__ import annotations

import json

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import UsageError
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import common_pb2
from rtcconsole.v1 import monitor_service_pb2 as monitor_pb

CREATED = timestamp_pb2.Timestamp(seconds=1_735_689_600)  # 2025-01-01T00:00:00Z

APP = app_pb.App(
    sdk_app_id=1400000001,
    name="直播_demo",
    description="",
    status=app_pb.APP_STATUS_STOPPED,
    stop_reasons=[app_pb.STOP_REASON_DISABLED_BY_OWNER],
    tags=[app_pb.Tag(key="team", value="live")],
    create_time=CREATED,
)


def test_json_uses_proto_field_names_and_proto_json_values() -> None:
    data = json.loads(render.to_json(APP))
    assert data["sdk_app_id"] == "1400000001"  # uint64 is a string in proto-JSON
    assert data["name"] == "直播_demo"
    assert data["status"] == "APP_STATUS_STOPPED"
    assert data["stop_reasons"] == ["STOP_REASON_DISABLED_BY_OWNER"]
    assert data["tags"] == [{"key": "team", "value": "live"}]
    assert data["create_time"] == "2025-01-01T00:00:00Z"
    assert "sdkAppId" not in data


def test_json_of_a_list_is_the_whole_response() -> None:
    response = app_pb.ListAppsResponse(apps=[APP], next_page_token="p2")
    data = json.loads(render.to_json(response))
    assert data["next_page_token"] == "p2"
    assert [a["sdk_app_id"] for a in data["apps"]] == ["1400000001"]


def test_app_fields() -> None:
    text = render.app_fields(APP)
    assert "sdk_app_id:" in text and "1400000001" in text
    assert "stopped (disabled by owner)" in text
    assert "rtcctl apps enable 1400000001 --totp CODE" in text  # R6: what restores it
    assert "team=live" in text
    assert "2025-01-01T00:00:00Z" in text


def test_apps_table_aligns_wide_characters() -> None:
    other = app_pb.App(sdk_app_id=1400000002, name="ab", status=app_pb.APP_STATUS_NORMAL)
    lines = render.apps_table(app_pb.ListAppsResponse(apps=[APP, other], next_page_token="t")).splitlines()
    assert lines[0].split() == ["SDKAPPID", "NAME", "STATUS", "TAGS", "CREATED"]
    # The status column starts at the same terminal column although 直播 is two characters wide each.
    stopped, normal = lines[1], lines[2]
    assert render._width(stopped[: stopped.index("stopped")]) == render._width(
        normal[: normal.index("normal")]
    )
    assert lines[-1] == "more: --page-token t (or --all)"


def test_empty_lists_say_so() -> None:
    assert render.apps_table(app_pb.ListAppsResponse()) == "no apps"
    assert render.operations_table(app_pb.ListOperationsResponse()) == "no operations"


def test_labels_and_times() -> None:
    assert render.label(common_pb2.OperationState, common_pb2.OPERATION_STATE_PENDING) == "PENDING"
    assert render.label(common_pb2.OperationState, 0) == "-"
    assert render.label(common_pb2.OperationState, 99) == "99"
    assert render.when(timestamp_pb2.Timestamp()) == "-"


def test_json_prints_fields_that_hold_their_default() -> None:
    """``--json`` prints every field: a script reads ``valid``/``postpaid``/``index`` without guessing."""
    from rtcconsole.v1 import auth_service_pb2 as auth_pb
    from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
    from rtcconsole.v1 import usage_service_pb2 as usage_pb

    assert json.loads(render.to_json(auth_pb.VerifyUserSigResponse()))["valid"] is False
    billing = json.loads(render.to_json(usage_pb.GetBillingStateResponse()))
    assert (billing["postpaid"], billing["arrears"], billing["packages"]) == (False, False, [])
    assert "data_through" not in billing  # a message field that is not set is absent, not a default
    rejected = ingest_pb.StreamEventsResponse(rejections=[ingest_pb.RejectedRecord(index=0, code="X")])
    assert json.loads(render.to_json(rejected))["rejections"][0]["index"] == "0"


@pytest.mark.parametrize(
    ("reasons", "text"),
    [
        ([app_pb.STOP_REASON_PACKAGE_EXPIRED], "stopped (package expired)"),
        ([app_pb.STOP_REASON_PACKAGE_USED_UP], "stopped (package used up)"),
        ([app_pb.STOP_REASON_ARREARS], "stopped (in arrears)"),
        (
            [app_pb.STOP_REASON_DISABLED_BY_OWNER, app_pb.STOP_REASON_PACKAGE_EXPIRED],
            "stopped (disabled by owner, package expired)",
        ),
    ],
)
def test_a_stopped_app_says_why_in_the_list(reasons: list[app_pb.StopReason.ValueType], text: str) -> None:
    """R4/R6: the STATUS column carries the reasons, not a bare STOPPED."""
    app = app_pb.App(sdk_app_id=1400000003, name="x", status=app_pb.APP_STATUS_STOPPED, stop_reasons=reasons)
    [_, row] = render.apps_table(app_pb.ListAppsResponse(apps=[app])).splitlines()
    assert text in row
    assert render.app_status(app_pb.App(status=app_pb.APP_STATUS_NORMAL)) == "normal"


def test_app_fields_say_what_restores_a_stopped_app() -> None:
    app = app_pb.App(
        sdk_app_id=1400000003,
        status=app_pb.APP_STATUS_STOPPED,
        stop_reasons=[app_pb.STOP_REASON_PACKAGE_USED_UP, app_pb.STOP_REASON_PACKAGE_EXPIRED],
    )
    restore = [line.split(None, 2)[2] for line in render.app_fields(app).splitlines() if "restore" in line]
    assert restore == ["buy a package or turn postpaid billing on"]  # said once for both reasons
    assert "restore" not in render.app_fields(app_pb.App(status=app_pb.APP_STATUS_NORMAL))


def test_field_picks_an_item_of_a_list_by_its_number() -> None:
    """``--field calls.0.call_id``: what a shell variable of the README's walkthrough takes."""
    listed = monitor_pb.ListCallsResponse(
        calls=[monitor_pb.Call(call_id="1400000001_42_1"), monitor_pb.Call(call_id="1400000001_7_2")]
    )
    assert render.field_value(listed, "calls.1.call_id") == "1400000001_7_2"
    assert render.field_value(listed, "calls.5.call_id") == ""  # past the end: like an unset field
    assert render.field_value(monitor_pb.ListCallsResponse(), "calls.0.call_id") == ""
    assert json.loads(render.field_value(listed, "calls"))[0]["call_id"] == "1400000001_42_1"
    with pytest.raises(UsageError, match=r"calls is a list: pick an item, e\.g\. --field calls\.0"):
        render.field_value(listed, "calls.call_id")
    with pytest.raises(UsageError, match=r"calls\.0 has no field 'nope'; its fields: call_id"):
        render.field_value(listed, "calls.0.nope")
    with pytest.raises(UsageError, match="call_id is a value, with no fields"):
        render.field_value(listed, "calls.0.call_id.x")


@pytest.mark.parametrize(
    ("seconds", "nanos", "shown"),
    [
        (584, 42_249_000, "0:09:44"),
        (584, 600_000_000, "0:09:45"),
        (93_600, 0, "1 day, 2:00:00"),
        (0, 500_000_000, "0:00:00.5"),
        (0, 0, "0:00:00"),
    ],
)
def test_span_shows_whole_seconds(seconds: int, nanos: int, shown: str) -> None:
    assert render.span(duration_pb2.Duration(seconds=seconds, nanos=nanos)) == shown
