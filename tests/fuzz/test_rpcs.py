"""The schema-driven fuzzer of issue 10 §2: every RPC of every service, on SQLite and PostgreSQL.

For each service discovered from the ``rtcconsole.v1`` descriptors, one test per backend
prepares a tenant with real things (apps, a tag, a material, an operation, a
secondary-auth token, a UserSig, a PrivateMapKey, a callback URL in effect) and then, for
every method of the service:

1. runs :func:`~tests.fuzz.harness.examples_for` hypothesis examples (client-streaming
   methods with streams of 0-3 messages) over real gRPC, each judged by
   :func:`~tests.fuzz.harness.judge` and followed by a health check;
2. sends every one-field variant of the requests known to be accepted (the bases
   :func:`prepare` returns and the richest ones step 1 found): the code behind validation,
   one bad value at a time.

A failing example is shrunk and printed as a ``Call(...)`` with the request in text form.
``RTC_FUZZ_EXAMPLES`` runs more, ``RTC_FUZZ_SEED`` others, ``RTC_FUZZ_REPORT=1`` prints what was
reached (docs/operations.md, "Tests").
"""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from PIL import Image

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import call_details_pb2 as call_pb
from rtcconsole.v1 import config_service_pb2 as config_pb
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import monitor_service_pb2 as monitor_pb
from rtcconsole.v1 import quality_pb2 as quality_pb
from rtcconsole.v1 import quality_series_pb2 as series_pb
from rtcconsole.v1 import realtime_pb2 as realtime_pb
from rtcconsole.v1 import realtime_stream_pb2 as realtime_stream_pb
from rtcconsole.v1 import room_control_pb2 as control_pb
from rtcconsole.v1 import room_event_stream_pb2 as room_event_stream_pb
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.monitor import set_edition
from rtcconsole_server.server import SERVICE_NAMES
from tests.callback_support import DATA_PLANE_TOKEN, report, room_event, set_callback
from tests.fuzz.harness import Judge, examples_for, exercise, fuzz_method
from tests.fuzz.schema import Call, Schema, Targets, discover_services, method_path
from tests.support import Tenant

SERVICES = discover_services()
REPORT = os.environ.get("RTC_FUZZ_REPORT", "") == "1"
"""Print the codes each method got (run with ``-s``): what the fuzzer reached."""
DATA_PLANE_SERVICES = frozenset({"rtcconsole.v1.IngestService"})
"""Services only the data-plane token may call (the schema does not say who may call what)."""
DATA_PLANE_METHODS = frozenset({"/rtcconsole.v1.AuthService/AuthorizeRoomEntry"})


_SECONDS_PER_EXAMPLE = 0.6
"""Generous per-call budget for the pytest timeout of a service's test."""


def _timeout(service: ServiceDescriptor) -> float:
    return max(120.0, sum(examples_for(m) for m in service.methods) * _SECONDS_PER_EXAMPLE)


def credentials_for(method: MethodDescriptor, api_key: str) -> list[str | None]:
    """The credential the method expects first, then the others, none and garbage."""
    key, data_plane = f"Bearer {api_key}", f"Bearer {DATA_PLANE_TOKEN}"
    others: list[str | None] = [None, "Bearer not-a-key", "Basic eA==", "Bearer " + "x" * 4000]
    path = method_path(method)
    if method.containing_service.full_name in DATA_PLANE_SERVICES or path in DATA_PLANE_METHODS:
        return [data_plane, key, *others]
    return [key, data_plane, *others]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


_METHODS = {method_path(m): m for service in SERVICES for m in service.methods}


def baseline(path: str, *requests: Message, credential: str) -> Call:
    """An accepted request of the method at ``path``: a base for one-field variants."""
    return Call(_METHODS[path], credential, requests)


async def prepare(tenant: Tenant, other: Tenant, clock: ManualClock) -> tuple[Targets, list[Call]]:
    """Real things of ``tenant`` for the fuzzer to aim at (and one app of another account), and
    requests the server accepts, as bases for one-field variants (Judge.vary_accepted)."""
    meta, key, data_plane = tenant.metadata, f"Bearer {tenant.api_key}", f"Bearer {DATA_PLANE_TOKEN}"
    set_edition(tenant.server.console.store, tenant.account_id, "advanced")  # R21: past the gate
    app = await tenant.create_app("fuzzed", "演示")
    doomed = await tenant.create_app("doomed")
    foreign = await other.create_app("foreign")
    app_id = app.sdk_app_id
    tag = app_pb.Tag(key="team", value="live")
    await tenant.apps.CreateTag(app_pb.CreateTagRequest(tag=tag), metadata=meta)
    await tenant.apps.AddAppTags(app_pb.AddAppTagsRequest(sdk_app_id=app_id, tags=[tag]), metadata=meta)
    upload = app_pb.CreateMaterialRequest(sdk_app_id=app_id, name="bg", content=_png(), x_position=1)
    material = await tenant.apps.CreateMaterial(upload, metadata=meta)
    totp = await tenant.enroll()
    token = await tenant.secondary_token(totp, clock)
    operation = await tenant.apps.DisableApp(
        app_pb.DisableAppRequest(sdk_app_id=doomed.sdk_app_id, secondary_auth_token=token), metadata=meta
    )
    identity = await tenant.auth.GetCallerIdentity(auth_pb.GetCallerIdentityRequest(), metadata=meta)
    sig = await tenant.auth.GenerateUserSig(
        auth_pb.GenerateUserSigRequest(sdk_app_id=app_id, user_id="alice"), metadata=meta
    )
    ticket_request = auth_pb.GeneratePrivateMapKeyRequest(
        sdk_app_id=app_id, user_id="alice", room_id=42, privileges=255, lifetime=Duration(seconds=3600)
    )
    ticket = await tenant.auth.GeneratePrivateMapKey(ticket_request, metadata=meta)
    now = clock.now()
    await set_callback(
        tenant.server.console.store,
        app_id,
        now=now,
        key="a" * 16,
        room_event_url="http://127.0.0.1:9/room",
        media_event_url="http://127.0.0.1:9/media",
    )
    event = room_event("seed-1", app_id, at=now - timedelta(minutes=1))
    event.session.CopyFrom(ingest_pb.SessionAttributes(region="ap-tokyo", country="JP", platform="web"))
    call_start = now - timedelta(minutes=2)  # a call in room 42 with alice and bob in it
    in_call = [room_event(f"call-{u}", app_id, at=call_start, room=42, user=u) for u in ("alice", "bob")]
    await report(tenant.channel, [event, *in_call])
    call_id = f"{app_id}_42_{int(call_start.timestamp())}"
    record = ingest_pb.UsageRecord(
        record_id="r-1",
        sdk_app_id=app_id,
        room_id=42,
        user_id="alice",
        kind=usage_pb.USAGE_KIND_INTERACTIVE_AV,
        category=usage_pb.USAGE_CATEGORY_HD,
        seconds=60,
    )
    record.start_time.FromDatetime(now - timedelta(minutes=10))
    sample = quality_pb.QualitySample(  # a receiver's video, every downstream metric measured
        sample_id="q-1",
        sdk_app_id=app_id,
        room_id=42,
        user_id="bob",
        peer_id="alice",
        media=quality_pb.MEDIA_KIND_VIDEO,
        interval=Duration(seconds=2),
        packet_loss_percent=1.5,
        bitrate_kbps=1200,
        decode_fps=15,
        render_fps=15,
        width=1280,
        height=720,
        rtt_ms=60,
        stall_ms=0,
        app_cpu_percent=20.0,
        system_cpu_percent=40.0,
        sdk_task_time_ms=10,
    )
    sample.sample_time.FromDatetime(now - timedelta(minutes=1))
    client_event = quality_pb.ClientEvent(
        event_id="c-1",
        sdk_app_id=app_id,
        room_id=42,
        user_id="bob",
        peer_id="alice",
        type=quality_pb.CLIENT_EVENT_TYPE_PLAY_START,
        media=quality_pb.MEDIA_KIND_VIDEO,
        parameters={"device": "speaker"},
    )
    client_event.event_time.FromDatetime(now - timedelta(minutes=1))
    started, ended = Timestamp(), Timestamp()
    started.FromDatetime(now - timedelta(days=1))
    ended.FromDatetime(now)
    recent, now_stamp = Timestamp(), Timestamp()
    recent.FromDatetime(now - timedelta(minutes=30))
    now_stamp.FromDatetime(now)
    targets = Targets(
        now=now,
        sdk_app_ids=(app_id, doomed.sdk_app_id, foreign.sdk_app_id),
        material_ids=(material.material.material_id,),
        operation_names=(operation.operation.name,),
        secondary_auth_token=token,
        key_ids=(identity.api_key_id,),
        tags=(("team", "live"),),
        user_ids=("alice",),
        user_sigs=(sig.user_sig,),
        private_map_keys=(ticket.private_map_key,),
        call_ids=(call_id,),
    )
    apps, auth, config = (
        "/rtcconsole.v1.AppService/",
        "/rtcconsole.v1.AuthService/",
        "/rtcconsole.v1.ConfigService/",
    )
    ingest, monitor = "/rtcconsole.v1.IngestService/", "/rtcconsole.v1.MonitorService/"
    bases = [
        baseline(apps + "CreateMaterial", upload, credential=key),
        baseline(
            apps + "UpdateApp",
            app_pb.UpdateAppRequest(
                app=app_pb.App(sdk_app_id=app_id, name="renamed", description="d"),
                update_mask=FieldMask(paths=["name", "description"]),
            ),
            credential=key,
        ),
        baseline(
            apps + "ListApps",
            app_pb.ListAppsRequest(page_size=5, name_contains="fuzz", sdk_app_id=app_id, tags=[tag]),
            credential=key,
        ),
        baseline(
            apps + "ListOperations",
            app_pb.ListOperationsRequest(page_size=5, sdk_app_id=doomed.sdk_app_id, pending_only=True),
            credential=key,
        ),
        baseline(
            apps + "RemoveAppTags", app_pb.RemoveAppTagsRequest(sdk_app_id=app_id, tags=[tag]), credential=key
        ),
        baseline(auth + "GeneratePrivateMapKey", ticket_request, credential=key),
        baseline(
            auth + "AuthorizeRoomEntry",
            auth_pb.AuthorizeRoomEntryRequest(
                sdk_app_id=app_id,
                room_id=42,
                user_id="alice",
                user_sig=sig.user_sig,
                private_map_key=ticket.private_map_key,
                role=ingest_pb.ROLE_ANCHOR,
            ),
            credential=data_plane,
        ),
        baseline(
            config + "UpdateCallbackConfig",
            config_pb.UpdateCallbackConfigRequest(
                sdk_app_id=app_id,
                key="b" * 16,
                room_event_url="https://example.com/room",
                media_event_url="https://example.com/media",
            ),
            credential=key,
        ),
        baseline(
            config + "UpdateCloudRecording",
            config_pb.UpdateCloudRecordingRequest(
                sdk_app_id=app_id,
                settings=config_pb.CloudRecordingSettings(
                    enabled=False,
                    mode=config_pb.RECORDING_MODE_MANUAL,
                    media=config_pb.RECORDING_MEDIA_AUDIO_AND_VIDEO,
                    file_format=config_pb.RECORDING_FILE_FORMAT_MP4,
                    max_idle_time=Duration(seconds=30),
                    storage=config_pb.RECORDING_STORAGE_VOD,
                ),
            ),
            credential=key,
        ),
        baseline(
            config + "ListCallbackDeliveries",
            config_pb.ListCallbackDeliveriesRequest(
                sdk_app_id=app_id, room="42", state=config_pb.DELIVERY_STATE_PENDING, page_size=5
            ),
            credential=key,
        ),
        baseline(
            ingest + "ReportEvents", ingest_pb.ReportEventsRequest(events=[event]), credential=data_plane
        ),
        baseline(
            ingest + "StreamEvents", ingest_pb.StreamEventsRequest(events=[event]), credential=data_plane
        ),
        baseline(
            ingest + "ReportUsage", ingest_pb.ReportUsageRequest(records=[record]), credential=data_plane
        ),
        baseline(
            ingest + "StreamUsage", ingest_pb.StreamUsageRequest(records=[record]), credential=data_plane
        ),
        baseline(
            ingest + "ReportQuality", ingest_pb.ReportQualityRequest(samples=[sample]), credential=data_plane
        ),
        baseline(
            ingest + "StreamQuality", ingest_pb.StreamQualityRequest(samples=[sample]), credential=data_plane
        ),
        baseline(
            ingest + "ReportClientEvents",
            ingest_pb.ReportClientEventsRequest(events=[client_event]),
            credential=data_plane,
        ),
        baseline(
            ingest + "StreamClientEvents",
            ingest_pb.StreamClientEventsRequest(events=[client_event]),
            credential=data_plane,
        ),
        baseline(
            monitor + "ListCalls",
            monitor_pb.ListCallsRequest(
                sdk_app_id=app_id,
                start_time=started,
                end_time=ended,
                room_id=42,
                user_id="alice",
                page_size=5,
            ),
            credential=key,
        ),
        baseline(  # room control (R7)
            "/rtcconsole.v1.MonitorService/DismissRoom",
            control_pb.DismissRoomRequest(sdk_app_id=app_id, room_id=42, request_id="fuzz-dismiss"),
            credential=key,
        ),
        baseline(
            "/rtcconsole.v1.MonitorService/RemoveUsers",
            control_pb.RemoveUsersRequest(sdk_app_id=app_id, str_room_id="hall", user_ids=["alice", "bob"]),
            credential=key,
        ),
        baseline(
            "/rtcconsole.v1.MonitorService/ListRoomCommands",
            control_pb.ListRoomCommandsRequest(
                sdk_app_id=app_id, room_id=42, state=control_pb.ROOM_COMMAND_STATE_PENDING, page_size=5
            ),
            credential=key,
        ),
        baseline(
            ingest + "WatchRoomCommands",
            control_pb.WatchRoomCommandsRequest(sdk_app_ids=[app_id], server_name="fuzz"),
            credential=data_plane,
        ),
        baseline(
            auth + "UpdateAccountSettings",
            auth_pb.UpdateAccountSettingsRequest(time_zone="Asia/Tokyo"),
            credential=key,
        ),
        baseline(monitor + "GetCall", call_pb.GetCallRequest(call_id=call_id), credential=key),
        baseline(
            monitor + "ListCallUsers",
            call_pb.ListCallUsersRequest(call_id=call_id, user_ids=["alice", "bob"], page_size=5),
            credential=key,
        ),
        baseline(
            monitor + "GetUserView",
            monitor_pb.GetUserViewRequest(call_id=call_id, user_id="bob", max_points=10),
            credential=key,
        ),
        baseline(
            monitor + "GetQualitySeries",
            monitor_pb.GetQualitySeriesRequest(
                call_id=call_id,
                user_id="bob",
                peer_id="alice",
                media=quality_pb.MEDIA_KIND_VIDEO,
                metrics=[series_pb.SERIES_METRIC_PACKET_LOSS, series_pb.SERIES_METRIC_STALL_TIME],
                max_points=10,
            ),
            credential=key,
        ),
        baseline(
            monitor + "ListClientEvents",
            series_pb.ListClientEventsRequest(call_id=call_id, user_id="bob", peer_id="alice", page_size=5),
            credential=key,
        ),
        baseline(
            monitor + "GetRealtimeOverview",
            realtime_pb.GetRealtimeOverviewRequest(sdk_app_id=app_id),
            credential=key,
        ),
        baseline(
            monitor + "GetRealtimeSeries",
            realtime_pb.GetRealtimeSeriesRequest(sdk_app_id=app_id, start_time=recent, end_time=now_stamp),
            credential=key,
        ),
        baseline(
            monitor + "ListRealtimeRooms",
            realtime_pb.ListRealtimeRoomsRequest(
                sdk_app_id=app_id, order_by=realtime_pb.REALTIME_ROOM_ORDER_ONLINE_USERS, page_size=5
            ),
            credential=key,
        ),
        baseline(
            monitor + "GetRealtimeBreakdown",
            realtime_pb.GetRealtimeBreakdownRequest(
                sdk_app_id=app_id, dimension=realtime_pb.REALTIME_DIMENSION_COUNTRY, top=3
            ),
            credential=key,
        ),
        baseline(
            monitor + "SubscribeRealtime",
            realtime_stream_pb.SubscribeRealtimeRequest(sdk_app_id=app_id, resume_after=recent),
            credential=key,
        ),
        baseline(
            monitor + "SubscribeRoomEvents",
            room_event_stream_pb.SubscribeRoomEventsRequest(sdk_app_id=app_id, room_id=42, after_sequence=0),
            credential=key,
        ),
        baseline(
            "/rtcconsole.v1.UsageService/GetUsage",
            usage_pb.GetUsageRequest(
                kind=usage_pb.USAGE_KIND_INTERACTIVE_AV,
                sdk_app_id=app_id,
                start_time=started,
                end_time=ended,
                granularity=usage_pb.GRANULARITY_HOUR,
            ),
            credential=key,
        ),
    ]
    return targets, bases


def test_every_service_of_the_server_is_fuzzed() -> None:
    """The descriptors the fuzzer walks are exactly the services the server registers."""
    assert [s.full_name for s in SERVICES] == sorted(SERVICE_NAMES)
    assert any(m.client_streaming for s in SERVICES for m in s.methods)


@pytest.mark.parametrize(
    "service",
    [pytest.param(s, id=s.name, marks=pytest.mark.timeout(_timeout(s))) for s in SERVICES],
)
async def test_no_request_is_answered_unknown_or_internal(
    service: ServiceDescriptor, backend: str, tenant: Tenant, other_tenant: Tenant, clock: ManualClock
) -> None:
    targets, bases = await prepare(tenant, other_tenant, clock)
    schema = Schema(targets)
    judge = Judge(tenant.channel)
    for base in bases:
        if base.method.containing_service is not service:
            continue
        error = await exercise(tenant.channel, base)  # a base that is refused would vary nothing
        assert error is None, f"{base!r}\n  a base of the variants is refused: {error.details()}"
        judge.accepted[method_path(base.method)].append(base)
    for method in service.methods:
        await fuzz_method(schema, method, credentials_for(method, tenant.api_key), judge)
        await judge.vary_accepted(method)
    if REPORT:
        print(f"\n{service.name} on {backend}, {judge.calls} calls:\n{judge.summary()}")
    assert judge.calls >= len(service.methods)
