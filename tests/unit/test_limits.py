"""Request limits from the contract (services/rtcconsole_server/api/limits.py)."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor

from rtcconsole.v1 import (
    app_service_pb2,
    auth_service_pb2,
    common_pb2,
    config_service_pb2,
    ingest_service_pb2,
    monitor_service_pb2,
    quality_pb2,
    usage_service_pb2,
)
from rtcconsole_server.api.limits import (
    FIELD_MASK_MAX_PATHS,
    MAX_VIOLATIONS,
    UINT64_MAX_ACCEPTED,
    check_request,
    uncapped_fields,
    violations_of,
)
from rtcconsole_server.errors import InvalidArgument

MODULES = (
    app_service_pb2,
    auth_service_pb2,
    config_service_pb2,
    ingest_service_pb2,
    monitor_service_pb2,
    quality_pb2,
    usage_service_pb2,
)


def _request_types() -> list[Descriptor]:
    return [
        method.input_type
        for module in MODULES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]


def test_every_request_field_has_its_cap() -> None:
    """A new RPC whose request has an uncapped string, bytes or repeated field fails here."""
    missing = sorted({gap for request in _request_types() for gap in uncapped_fields(request)})
    assert missing == []


def test_the_completeness_check_sees_an_uncapped_field() -> None:
    # common.proto's messages are responses only and carry no caps; the check must notice
    gaps = [uncapped_fields(message) for message in common_pb2.DESCRIPTOR.message_types_by_name.values()]
    assert any(gaps)


def test_a_request_within_its_limits_passes() -> None:
    check_request(app_service_pb2.ListAppsRequest(name_contains="live", tags=[app_service_pb2.Tag(key="k")]))
    assert violations_of(app_service_pb2.GetAppRequest(sdk_app_id=UINT64_MAX_ACCEPTED)) == []


def test_a_long_string_names_the_field_and_the_cap() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_request(app_service_pb2.ListAppsRequest(name_contains="x" * 16))
    (violation,) = caught.value.violations
    assert violation.field == "name_contains"
    assert violation.description == "must be at most 15 characters (got 16)"


def test_characters_not_bytes_count_for_strings() -> None:
    assert violations_of(app_service_pb2.CreateAppRequest(name="演" * 15)) == []


def test_too_many_items_are_refused_without_looking_inside() -> None:
    tags = [app_service_pb2.Tag(key="k" * 1000) for _ in range(51)]
    (violation,) = violations_of(app_service_pb2.ListAppsRequest(tags=tags))
    assert violation.field == "tags"
    assert "at most 50 items (got 51)" in violation.description


def test_nested_items_get_indexed_paths() -> None:
    request = ingest_service_pb2.ReportEventsRequest(
        events=[ingest_service_pb2.RoomEvent(event_id="ok"), ingest_service_pb2.RoomEvent(user_id="u" * 129)]
    )
    (violation,) = violations_of(request)
    assert violation.field == "events[1].user_id"


def test_uint64_above_the_signed_range_is_refused() -> None:
    (violation,) = violations_of(app_service_pb2.GetAppRequest(sdk_app_id=2**63))
    assert violation.field == "sdk_app_id"
    records = [ingest_service_pb2.UsageRecord(sdk_app_id=2**64 - 1)]
    assert [v.field for v in violations_of(ingest_service_pb2.ReportUsageRequest(records=records))] == [
        "records[0].sdk_app_id"
    ]


@pytest.mark.parametrize(
    ("seconds", "nanos", "field"),
    [
        (-62_135_596_801, 0, "start_time"),
        (253_402_300_800, 0, "start_time"),
        (0, 1_000_000_000, "start_time.nanos"),
        (0, -1, "start_time.nanos"),
    ],
)
def test_timestamps_outside_their_definition_are_refused(seconds: int, nanos: int, field: str) -> None:
    request = usage_service_pb2.GetUsageRequest()
    request.start_time.seconds = seconds
    request.start_time.nanos = nanos
    assert [v.field for v in violations_of(request)] == [field]


def test_timestamps_at_the_edges_pass() -> None:
    request = usage_service_pb2.GetUsageRequest()
    request.start_time.seconds = -62_135_596_800
    request.end_time.seconds = 253_402_300_799
    request.end_time.nanos = 999_999_999
    assert violations_of(request) == []


@pytest.mark.parametrize(
    ("seconds", "nanos", "ok"),
    [(2**63 - 1, 0, False), (315_576_000_000, 0, True), (1, -1, False), (-1, 1, False), (0, -5, True)],
)
def test_durations_follow_their_definition(seconds: int, nanos: int, ok: bool) -> None:
    request = auth_service_pb2.GenerateUserSigRequest()
    request.lifetime.seconds = seconds
    request.lifetime.nanos = nanos
    assert (violations_of(request) == []) is ok


def test_field_masks_are_bounded() -> None:
    request = app_service_pb2.UpdateAppRequest()
    request.update_mask.paths.extend(["name"] * (FIELD_MASK_MAX_PATHS + 1))
    assert [v.field for v in violations_of(request)] == ["update_mask.paths"]
    request = app_service_pb2.UpdateAppRequest()
    request.update_mask.paths.append("x" * 65)
    assert [v.field for v in violations_of(request)] == ["update_mask.paths[0]"]


def test_violations_are_bounded() -> None:
    events = [ingest_service_pb2.RoomEvent(user_id="u" * 200, event_id="e" * 200) for _ in range(500)]
    assert len(violations_of(ingest_service_pb2.ReportEventsRequest(events=events))) == MAX_VIOLATIONS


def test_nul_in_a_string_is_refused() -> None:
    # PostgreSQL text cannot hold U+0000: refused for every string field, before any query
    (violation,) = violations_of(app_service_pb2.ListTagsRequest(key="a\x00b"))
    assert (violation.field, violation.description) == ("key", "must not contain NUL (U+0000)")
    assert violations_of(app_service_pb2.CreateMaterialRequest(content=b"\x00")) == []  # bytes may


def _event_with(parameters: dict[str, str]) -> ingest_service_pb2.ReportClientEventsRequest:
    return ingest_service_pb2.ReportClientEventsRequest(
        events=[quality_pb2.ClientEvent(parameters=parameters)]
    )


def test_a_maps_keys_and_values_have_their_own_caps() -> None:
    # ClientEvent.parameters: at most 16 entries, keys at most 64 characters, values at most 256
    assert violations_of(_event_with({"k" * 64: "v" * 256})) == []
    (long_key,) = violations_of(_event_with({"k" * 65: "v"}))
    assert (long_key.field, long_key.description) == (
        "events[0].parameters",
        "keys must be at most 64 characters (got 65)",
    )
    (long_value,) = violations_of(_event_with({"device": "v" * 257}))
    assert long_value.field == 'events[0].parameters["device"]'
    assert long_value.description == "must be at most 256 characters (got 257)"
    nul = violations_of(_event_with({"a\x00": "x", "b": "y\x00"}))
    assert [(v.field, v.description) for v in nul] == [
        ("events[0].parameters", "keys must not contain NUL (U+0000)"),
        ('events[0].parameters["b"]', "must not contain NUL (U+0000)"),
    ]
    (too_many,) = violations_of(_event_with({f"k{i}": "v" for i in range(17)}))
    assert (too_many.field, too_many.description) == (
        "events[0].parameters",
        "must hold at most 16 items (got 17)",
    )


def test_the_completeness_check_sees_an_uncapped_map() -> None:
    """A map field needs max_items and, for string keys and values, their own caps."""
    file = descriptor_pb2.FileDescriptorProto(name="uncapped_map.proto", package="probe", syntax="proto3")
    holder = file.message_type.add(name="Holder")
    entry = holder.nested_type.add(name="LabelsEntry")
    entry.options.map_entry = True
    string, optional = (
        descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    entry.field.add(name="key", number=1, type=string, label=optional)
    entry.field.add(name="value", number=2, type=string, label=optional)
    holder.field.add(
        name="labels",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
        type_name=".probe.Holder.LabelsEntry",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    assert uncapped_fields(pool.FindMessageTypeByName("probe.Holder")) == [
        "probe.Holder.labels: needs max_items",
        "probe.Holder.labels: needs map_key_max_len",
        "probe.Holder.labels: needs map_value_max_len",
    ]
