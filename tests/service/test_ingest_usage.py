"""IngestService.ReportUsage / StreamUsage and ``rtcctl ingest usage`` (R16 ingest), on both backends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole.cli import amain
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.clock import ManualClock
from tests.support import Tenant, fails

CODE = grpc.StatusCode
DATA_PLANE = (("authorization", "Bearer data-plane-test-token"),)


def _record(sdk_app_id: int, record_id: str, start: datetime, **overrides: Any) -> pb.UsageRecord:
    stamp = Timestamp()
    stamp.FromDatetime(start)
    fields: dict[str, Any] = {
        "record_id": record_id,
        "sdk_app_id": sdk_app_id,
        "room_id": 7,
        "user_id": "alice",
        "kind": usage_pb.USAGE_KIND_INTERACTIVE_AV,
        "category": usage_pb.USAGE_CATEGORY_HD,
        "start_time": stamp,
        "seconds": 61,
    }
    fields.update(overrides)
    return pb.UsageRecord(**fields)


def _stub(tenant: Tenant) -> Any:
    return pb_grpc.IngestServiceStub(tenant.channel)


async def test_r16_a_retry_is_counted_once_and_a_conflict_stores_nothing(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("metered")
    now = clock.now()
    batch = [_record(app.sdk_app_id, f"r{i}", now - timedelta(minutes=i)) for i in range(3)]
    report = _stub(tenant).ReportUsage
    first = await report(pb.ReportUsageRequest(records=batch), metadata=DATA_PLANE)
    assert (first.accepted, first.duplicates) == (3, 0)
    again = await report(pb.ReportUsageRequest(records=batch), metadata=DATA_PLANE)
    assert (again.accepted, again.duplicates) == (0, 3)

    changed = _record(app.sdk_app_id, "r1", now, seconds=5)
    fresh = _record(app.sdk_app_id, "r9", now)
    failure = await fails(
        report(pb.ReportUsageRequest(records=[fresh, changed]), metadata=DATA_PLANE), CODE.ALREADY_EXISTS
    )
    assert failure.details["google.rpc.ResourceInfo"].resource_name == "r1"
    retry_fresh = await report(pb.ReportUsageRequest(records=[fresh]), metadata=DATA_PLANE)
    assert retry_fresh.accepted == 1  # nothing of the refused batch was stored


async def test_r16_invalid_records_name_every_field(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("checked")
    now = clock.now()
    batch = [
        _record(app.sdk_app_id, "ok", now),
        _record(app.sdk_app_id, "old", now - timedelta(days=35, seconds=1)),
        _record(app.sdk_app_id, "ahead", now + timedelta(minutes=5, seconds=1)),
        _record(app.sdk_app_id, "zero", now, seconds=0, category=usage_pb.USAGE_CATEGORY_UNSPECIFIED),
        _record(1, "nobody", now),
    ]
    failure = await fails(
        _stub(tenant).ReportUsage(pb.ReportUsageRequest(records=batch), metadata=DATA_PLANE),
        CODE.INVALID_ARGUMENT,
    )
    assert set(failure.field_violations) == {
        "records[1].start_time",
        "records[2].start_time",
        "records[3].seconds",
        "records[3].category",
        "records[4].sdk_app_id",
    }
    categories = [v.name for v in usage_pb.UsageCategory.DESCRIPTOR.values if v.number]
    said = failure.field_violations["records[3].category"]
    assert said.startswith("must be a UsageCategory: ") and [n for n in categories if n not in said] == []
    edge = [
        _record(app.sdk_app_id, "edge", now - timedelta(days=35)),
        _record(app.sdk_app_id, "soon", now + timedelta(minutes=5)),
    ]
    assert (
        await _stub(tenant).ReportUsage(pb.ReportUsageRequest(records=edge), metadata=DATA_PLANE)
    ).accepted == 2


async def test_r16_only_the_data_plane_reports_usage(tenant: Tenant) -> None:
    await fails(
        _stub(tenant).ReportUsage(pb.ReportUsageRequest(), metadata=tenant.metadata), CODE.PERMISSION_DENIED
    )
    await fails(_stub(tenant).ReportUsage(pb.ReportUsageRequest()), CODE.UNAUTHENTICATED)


async def test_r16_streaming_reports_problems_per_record(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("streamed")
    now = clock.now()

    async def batches() -> AsyncIterator[pb.StreamUsageRequest]:
        yield pb.StreamUsageRequest(
            records=[_record(app.sdk_app_id, "a", now), _record(app.sdk_app_id, "b", now)]
        )
        yield pb.StreamUsageRequest(
            records=[
                _record(app.sdk_app_id, "a", now),
                _record(app.sdk_app_id, "b", now, seconds=9),
                _record(app.sdk_app_id, "c", now, user_id=""),
            ]
        )

    response = await _stub(tenant).StreamUsage(batches(), metadata=DATA_PLANE)
    assert (response.accepted, response.duplicates, response.rejected) == (2, 1, 2)
    assert [(r.index, r.code) for r in response.rejections] == [
        (3, "ALREADY_EXISTS"),
        (4, "INVALID_ARGUMENT"),
    ]
    assert list(response.rejections[1].fields) == ["user_id"]


async def test_rtcctl_ingest_usage(
    tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await tenant.create_app("cli")
    now = clock.now()
    lines = [
        json_format.MessageToJson(_record(app.sdk_app_id, f"line{i}", now), indent=None) for i in range(3)
    ]
    lines.insert(1, "{not json")
    lines.append(json_format.MessageToJson(_record(app.sdk_app_id, "line0", now, seconds=1), indent=None))
    path = tmp_path / "usage.jsonl"
    path.write_text("\n".join(lines) + "\n")
    argv = [
        "--target",
        tenant.server.target,
        "ingest",
        "usage",
        str(path),
        "--token",
        "data-plane-test-token",
    ]
    capsys.readouterr()
    assert await amain([*argv, "--json"]) == 3  # EXIT_REJECTED: two lines were not stored
    result = json.loads(capsys.readouterr().out)
    assert (result["accepted"], result["rejected"]) == (3, 2)
    assert [(int(r["index"]), r["code"]) for r in result["rejections"]] == [
        (1, "INVALID_ARGUMENT"),
        (4, "ALREADY_EXISTS"),
    ]
    assert await amain(argv) == 3
    text = capsys.readouterr().out
    assert "accepted 0, duplicates 3, rejected 2" in text and "line 5: ALREADY_EXISTS" in text
