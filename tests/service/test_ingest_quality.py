"""IngestService.ReportQuality / StreamQuality and ``rtcctl ingest quality`` (R20 samples), both backends.

A sample is identified by its natural key (sdk_app_id, room, user, peer, media, sample_time),
decision 0019; its metrics are optional ("not measured" is not 0) and bounded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from sqlalchemy import func, select

from rtcconsole.cli import amain
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_pb2 as quality
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import Server
from rtcconsole_server.store.models_monitor import QualitySample
from tests.callback_support import DATA_PLANE
from tests.support import Tenant, fails

CODE = grpc.StatusCode
VIDEO, AUDIO, SCREEN = quality.MEDIA_KIND_VIDEO, quality.MEDIA_KIND_AUDIO, quality.MEDIA_KIND_SCREEN_SHARE


def sample(sdk_app_id: int, at: datetime, **fields: Any) -> quality.QualitySample:
    """alice's upstream video in room 42 at ``at``, with a few metrics; ``fields`` override (None: unset)."""
    values: dict[str, Any] = {
        "sample_id": "s",
        "sdk_app_id": sdk_app_id,
        "room_id": 42,
        "user_id": "alice",
        "media": VIDEO,
        "packet_loss_percent": 1.5,
        "bitrate_kbps": 1200,
        "capture_fps": 15,
    } | fields
    message = quality.QualitySample(**{name: value for name, value in values.items() if value is not None})
    message.sample_time.FromDatetime(at)
    return message


def _stub(tenant: Tenant) -> pb_grpc.IngestServiceAsyncStub:
    return pb_grpc.IngestServiceStub(tenant.channel)


async def report(tenant: Tenant, samples: list[quality.QualitySample]) -> pb.ReportQualityResponse:
    return await _stub(tenant).ReportQuality(pb.ReportQualityRequest(samples=samples), metadata=DATA_PLANE)


async def stored(server: Server) -> list[QualitySample]:
    def read() -> list[QualitySample]:
        with server.console.store.read() as session:
            order = (
                QualitySample.user_id,
                QualitySample.peer_id,
                QualitySample.media,
                QualitySample.sample_time,
            )
            return list(session.scalars(select(QualitySample).order_by(*order)))

    return await asyncio.to_thread(read)


async def _count(server: Server) -> int:
    def count() -> int:
        with server.console.store.read() as session:
            return int(session.scalar(select(func.count()).select_from(QualitySample)) or 0)

    return await asyncio.to_thread(count)


async def test_r20_a_retry_is_counted_once(server: Server, tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app()
    now = clock.now()
    batch = [sample(app.sdk_app_id, now - timedelta(seconds=2 * i), sample_id=f"s{i}") for i in range(3)]
    first = await report(tenant, batch)
    assert (first.accepted, first.duplicates) == (3, 0)
    again = await report(tenant, [*batch, sample(app.sdk_app_id, now, media=AUDIO, capture_fps=None)])
    assert (again.accepted, again.duplicates) == (1, 3)
    # the key, not the sample id, is the identity: a retry that renamed its sample is still a retry
    renamed = await report(tenant, [sample(app.sdk_app_id, now, sample_id="other name")])
    assert (renamed.accepted, renamed.duplicates) == (0, 1)
    twice_in_batch = await report(tenant, [sample(app.sdk_app_id, now + timedelta(seconds=2))] * 2)
    assert (twice_in_batch.accepted, twice_in_batch.duplicates) == (1, 1)
    assert await _count(server) == 5


async def test_r20_concurrent_batches_with_the_same_samples_never_fail(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    batches = [
        [
            sample(app.sdk_app_id, now - timedelta(seconds=2 * (i % 50)), user_id=f"u{i // 50}")
            for i in range(start, start + 300)
        ]
        for start in (0, 100, 200, 0, 150)
    ]
    results = await asyncio.gather(*(report(tenant, batch) for batch in batches))
    assert sum(r.accepted for r in results) == 500
    assert sum(r.duplicates for r in results) == 1500 - 500
    assert await _count(server) == 500


async def test_r20_a_conflicting_resend_is_already_exists_and_nothing_is_stored(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    await report(
        tenant, [sample(app.sdk_app_id, now), sample(app.sdk_app_id, now, media=AUDIO, capture_fps=None)]
    )
    batch = [
        sample(app.sdk_app_id, now + timedelta(seconds=2)),  # new: not stored either
        sample(app.sdk_app_id, now, packet_loss_percent=9.0),
        sample(app.sdk_app_id, now, media=AUDIO, capture_fps=None, interval=Duration(seconds=3)),
    ]
    failure = await fails(report(tenant, batch), CODE.ALREADY_EXISTS)
    assert "samples[1]" in failure.message and "packet_loss_percent" in failure.message
    assert "samples[2]" in failure.message and "interval" in failure.message
    assert "nothing of the batch was stored" in failure.message
    info = failure.details["google.rpc.ResourceInfo"]  # the last of the two
    assert info.resource_type == "quality sample"
    assert info.resource_name.startswith(f"{app.sdk_app_id}/n:42/alice//AUDIO/")
    assert await _count(server) == 2
    (kept,) = [row for row in await stored(server) if row.media == VIDEO]
    assert kept.packet_loss_percent == 1.5  # the first one is kept


async def test_r20_an_invalid_batch_names_every_field_and_stores_nothing(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    no_room = sample(app.sdk_app_id, now)
    no_room.ClearField("room_id")
    no_time = sample(app.sdk_app_id, now)
    no_time.ClearField("sample_time")
    batch = [
        sample(app.sdk_app_id, now),  # fine
        no_room,
        no_time,
        sample(app.sdk_app_id, now, user_id="", media=quality.MEDIA_KIND_UNSPECIFIED),
        sample(app.sdk_app_id, now, peer_id="alice", capture_fps=None),  # a user does not receive itself
        sample(app.sdk_app_id, now, peer_id="bob", capture_fps=15),  # capture is the sender's
        sample(app.sdk_app_id, now, stall_ms=100),  # a stall is the receiver's
        sample(
            app.sdk_app_id, now, media=AUDIO, capture_fps=None, width=640, height=360
        ),  # no audio resolution
        sample(app.sdk_app_id, now, volume_db=60),  # volume is audio's
        sample(app.sdk_app_id, now, width=640),  # height missing
        sample(999, now),  # no such app
    ]
    failure = await fails(report(tenant, batch), CODE.INVALID_ARGUMENT)
    assert failure.field_violations == {
        "samples[1].room": "set room_id or str_room_id",
        "samples[2].sample_time": "is required",
        "samples[3].user_id": "must be 1-128 characters",
        "samples[3].media": "must be a MediaKind: VIDEO, AUDIO or SCREEN_SHARE",
        "samples[4].peer_id": "must not be user_id (a user does not receive itself)",
        "samples[5].capture_fps": "applies only to the upstream (peer_id empty) of video and screen share",
        "samples[6].stall_ms": "applies only to the downstream (peer_id set)",
        "samples[7].width": "applies only to video and screen share",
        "samples[7].height": "applies only to video and screen share",
        "samples[8].volume_db": "applies only to audio",
        "samples[9].height": "is required with width",
        "samples[10].sdk_app_id": "no app has this sdk_app_id",
    }
    assert await _count(server) == 0
    too_many = [sample(app.sdk_app_id, now - timedelta(seconds=i)) for i in range(5001)]
    refused = await fails(report(tenant, too_many), CODE.INVALID_ARGUMENT)
    assert refused.field_violations == {"samples": "must hold at most 5000 items (got 5001)"}  # the caps


# R20: every bound at its edge, as (field, lowest accepted, highest accepted, side, media)
EDGES = [
    ("packet_loss_percent", 0.0, 100.0, "", VIDEO),
    ("bitrate_kbps", 0, 10_000_000, "", AUDIO),
    ("capture_fps", 0, 240, "", VIDEO),
    ("encode_fps", 0, 240, "", SCREEN),
    ("decode_fps", 0, 240, "bob", VIDEO),
    ("render_fps", 0, 240, "bob", SCREEN),
    ("width", 0, 16_384, "", VIDEO),
    ("height", 0, 16_384, "bob", VIDEO),
    ("rtt_ms", 0, 60_000, "bob", AUDIO),
    ("app_cpu_percent", 0.0, 100.0, "", AUDIO),
    ("system_cpu_percent", 0.0, 100.0, "bob", VIDEO),
    ("sdk_task_time_ms", 0, 60_000, "", VIDEO),
    ("volume_db", 0, 100, "bob", AUDIO),
    ("stall_ms", 0, 2_000, "bob", VIDEO),  # at most the interval (2 s by default)
]


def _edge_sample(app_id: int, at: datetime, field: str, value: float, peer: str, media: int) -> Any:
    fields: dict[str, Any] = {"peer_id": peer, "media": media, "packet_loss_percent": None}
    fields.update(bitrate_kbps=None, capture_fps=None)
    if field in ("width", "height"):
        fields.update(width=640, height=360)
    fields[field] = value
    return sample(app_id, at, **fields)


@pytest.mark.parametrize(("field", "low", "high", "peer", "media"), EDGES, ids=[e[0] for e in EDGES])
async def test_r20_bounds_hold_at_each_edge(
    server: Server,
    tenant: Tenant,
    clock: ManualClock,
    field: str,
    low: float,
    high: float,
    peer: str,
    media: int,
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    edges = [
        _edge_sample(app.sdk_app_id, now - timedelta(seconds=i), field, v, peer, media)
        for i, v in enumerate((low, high))
    ]
    assert (await report(tenant, edges)).accepted == 2
    beyond = [high + (0.01 if isinstance(high, float) else 1)]
    if isinstance(low, float):
        beyond.append(low - 0.01)  # an unsigned field cannot go below 0 on the wire
    outside = [_edge_sample(app.sdk_app_id, now, field, v, peer, media) for v in beyond]
    failure = await fails(report(tenant, outside), CODE.INVALID_ARGUMENT)
    assert sorted(failure.field_violations) == [f"samples[{i}].{field}" for i in range(len(beyond))]
    assert await _count(server) == 2


async def test_r20_the_interval_defaults_to_2_s_and_is_bounded(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    accepted = [
        sample(app.sdk_app_id, now),  # unset: 2 s
        sample(app.sdk_app_id, now - timedelta(seconds=10), interval=Duration(seconds=1)),
        sample(app.sdk_app_id, now - timedelta(seconds=20), interval=Duration(seconds=60)),
        sample(
            app.sdk_app_id, now, peer_id="bob", capture_fps=None, interval=Duration(seconds=5), stall_ms=5000
        ),
    ]
    assert (await report(tenant, accepted)).accepted == 4
    intervals = {(row.peer_id, row.sample_time): row.interval_ms for row in await stored(server)}
    assert sorted(intervals.values()) == [1000, 2000, 5000, 60_000]
    refused = [
        sample(app.sdk_app_id, now, interval=Duration(nanos=999_000_000)),
        sample(app.sdk_app_id, now, interval=Duration(seconds=60, nanos=1_000_000)),
        sample(app.sdk_app_id, now, interval=Duration(seconds=-2)),
        sample(
            app.sdk_app_id, now, peer_id="bob", capture_fps=None, interval=Duration(seconds=1), stall_ms=1001
        ),
    ]
    failure = await fails(report(tenant, refused), CODE.INVALID_ARGUMENT)
    assert failure.field_violations == {
        "samples[0].interval": "must be 1-60 s (unset: 2 s)",
        "samples[1].interval": "must be 1-60 s (unset: 2 s)",
        "samples[2].interval": "must be 1-60 s (unset: 2 s)",
        "samples[3].stall_ms": "must be at most the interval (1,000 ms)",
    }


async def test_r20_sample_time_is_bounded_by_the_injected_clock(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app()
    now = clock.now()
    edges = [now - timedelta(days=35), now + timedelta(minutes=5)]
    assert (await report(tenant, [sample(app.sdk_app_id, t) for t in edges])).accepted == 2
    outside = [now - timedelta(days=35, seconds=1), now + timedelta(minutes=5, seconds=1)]
    failure = await fails(report(tenant, [sample(app.sdk_app_id, t) for t in outside]), CODE.INVALID_ARGUMENT)
    assert failure.field_violations == {
        "samples[0].sample_time": "is more than 35 days before the server's clock",
        "samples[1].sample_time": "is more than 5 minutes after the server's clock",
    }
    clock.advance(seconds=1)  # the server's clock moved on: a second later is fine
    assert (await report(tenant, [sample(app.sdk_app_id, outside[1])])).accepted == 1


async def test_r20_a_metric_not_measured_is_not_zero(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    measured_zero = sample(app.sdk_app_id, now, packet_loss_percent=0.0, bitrate_kbps=0, capture_fps=None)
    assert (await report(tenant, [measured_zero])).accepted == 1
    (row,) = await stored(server)
    assert (row.packet_loss_percent, row.bitrate_kbps, row.capture_fps, row.rtt_ms) == (0.0, 0, None, None)
    assert (row.width, row.height, row.app_cpu_percent, row.interval_ms) == (None, None, None, 2000)
    # a resend that now says "0 fps" where the first said nothing is another payload
    failure = await fails(
        report(tenant, [sample(app.sdk_app_id, now, packet_loss_percent=0.0, bitrate_kbps=0, capture_fps=0)]),
        CODE.ALREADY_EXISTS,
    )
    assert "capture_fps" in failure.message
    # and one that leaves out a measured 0 is too
    failure = await fails(
        report(tenant, [sample(app.sdk_app_id, now, packet_loss_percent=0.0, capture_fps=None)]),
        CODE.ALREADY_EXISTS,
    )
    assert "bitrate_kbps" in failure.message
    # floats keep what a proto float holds, so a retry of a value like 0.1 is a duplicate
    tenth = sample(app.sdk_app_id, now + timedelta(seconds=2), packet_loss_percent=0.1, app_cpu_percent=33.3)
    assert (await report(tenant, [tenth])).accepted == 1
    assert (await report(tenant, [tenth])).duplicates == 1


async def test_r20_a_stream_reports_each_rejected_sample_and_goes_on(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    later = now + timedelta(seconds=2)
    batches = [
        [
            sample(app.sdk_app_id, now, sample_id="a"),
            sample(app.sdk_app_id, now, sample_id="b", peer_id="bob", capture_fps=None),
        ],
        [
            sample(app.sdk_app_id, now, sample_id="a"),  # index 2: a retry
            sample(
                app.sdk_app_id, now, sample_id="b", peer_id="bob", capture_fps=None, rtt_ms=80
            ),  # 3: conflict
            sample(app.sdk_app_id, now + timedelta(hours=1), sample_id="c"),  # 4: too far ahead
            sample(999, now, sample_id="d"),  # 5: unknown app
            sample(app.sdk_app_id, later, sample_id="e"),
        ],
        [],
        [sample(app.sdk_app_id, later, sample_id="f", media=AUDIO, capture_fps=None)],
    ]

    async def requests() -> AsyncIterator[pb.StreamQualityRequest]:
        for batch in batches:
            yield pb.StreamQualityRequest(samples=batch)

    response = await _stub(tenant).StreamQuality(requests(), metadata=DATA_PLANE)
    assert (response.accepted, response.duplicates, response.rejected) == (4, 1, 3)
    got = [(r.index, r.id, r.code, list(r.fields)) for r in response.rejections]
    assert got == [
        (3, "b", "ALREADY_EXISTS", ["rtt_ms"]),
        (4, "c", "INVALID_ARGUMENT", ["sample_time"]),
        (5, "d", "INVALID_ARGUMENT", ["sdk_app_id"]),
    ]
    assert "the first one is kept" in response.rejections[0].reason
    assert await _count(server) == 4


async def test_r20_an_oversized_stream_batch_ends_the_stream_after_the_earlier_ones(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()

    async def requests() -> AsyncIterator[pb.StreamQualityRequest]:
        yield pb.StreamQualityRequest(samples=[sample(app.sdk_app_id, now)])
        yield pb.StreamQualityRequest(
            samples=[sample(app.sdk_app_id, now - timedelta(seconds=i)) for i in range(5001)]
        )

    failure = await fails(_stub(tenant).StreamQuality(requests(), metadata=DATA_PLANE), CODE.INVALID_ARGUMENT)
    assert failure.field_violations == {
        "samples": "must hold at most 5000 items (got 5001) (the message at stream index 1)"
    }
    assert await _count(server) == 1


async def test_r20_only_the_data_plane_token_may_report_and_the_caps_hold(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    request = pb.ReportQualityRequest(samples=[sample(app.sdk_app_id, clock.now())])
    stub = _stub(tenant)
    await fails(stub.ReportQuality(request, metadata=tenant.metadata), CODE.PERMISSION_DENIED)
    await fails(stub.ReportQuality(request), CODE.UNAUTHENTICATED)

    async def one() -> AsyncIterator[pb.StreamQualityRequest]:
        yield pb.StreamQualityRequest(samples=request.samples)

    await fails(stub.StreamQuality(one(), metadata=tenant.metadata), CODE.PERMISSION_DENIED)
    oversized = pb.ReportQualityRequest(
        samples=[sample(app.sdk_app_id, clock.now(), user_id="u" * 129, sample_id="s" * 129)]
    )
    failure = await fails(stub.ReportQuality(oversized, metadata=DATA_PLANE), CODE.INVALID_ARGUMENT)
    assert failure.field_violations == {
        "samples[0].sample_id": "must be at most 128 characters (got 129)",
        "samples[0].user_id": "must be at most 128 characters (got 129)",
    }
    assert (await stub.ReportQuality(request, metadata=DATA_PLANE)).accepted == 1


async def test_rtcctl_ingest_quality(
    tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await tenant.create_app("cli")
    now = clock.now()
    lines = [
        json.dumps(
            {
                "sdk_app_id": app.sdk_app_id,
                "room_id": 42,
                "user_id": "alice",
                "media": "video",
                "sample_time": "now-1m",
                "interval": "2s",
                "render_fps": 0,
            }
        ),
        json.dumps(
            {
                "sdk_app_id": app.sdk_app_id,
                "room_id": 42,
                "user_id": "bob",
                "peer_id": "alice",
                "media": "SCREEN_SHARE",
                "sample_time": "now-1m",
                "render_fps": 5,
                "stall_ms": 0,
            }
        ),
        json.dumps(
            {
                "sdk_app_id": app.sdk_app_id,
                "room_id": 42,
                "user_id": "alice",
                "media": "webcam",
                "sample_time": "now",
            }
        ),
        json_format.MessageToJson(sample(app.sdk_app_id, now), indent=None),
    ]
    path = tmp_path / "quality.jsonl"
    path.write_text("\n".join(lines) + "\n")
    argv = [
        "--target",
        tenant.server.target,
        "ingest",
        "quality",
        str(path),
        "--token",
        "data-plane-test-token",
    ]
    anchor = json_format.MessageToJson(sample(app.sdk_app_id, now).sample_time)
    capsys.readouterr()
    assert await amain([*argv, "--now", json.loads(anchor), "--json"]) == 3  # lines 1 and 3 were not stored
    result = json.loads(capsys.readouterr().out)
    assert (result["accepted"], result["rejected"]) == (2, 2)
    got = [(int(r["index"]), r["code"], r.get("fields")) for r in result["rejections"]]
    assert got == [(0, "INVALID_ARGUMENT", ["render_fps"]), (2, "INVALID_ARGUMENT", ["media"])]
    assert "media kind" in result["rejections"][1]["reason"]  # the reader names what may be typed
