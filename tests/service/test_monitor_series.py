"""MonitorService.GetQualitySeries (R20) over a real server on SQLite and PostgreSQL, with
``rtcctl monitor quality``: levels from the thresholds, downsampling in SQL, the rules over
time, the 5-hour range and tenancy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from rtcconsole.cli import amain
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import ingest_service_pb2_grpc as ingest_grpc
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_pb2 as quality
from rtcconsole.v1 import quality_series_pb2 as series_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.monitor import SERIES_METRICS
from rtcconsole_server.domain.monitor._series_query import _stream_rows
from tests.callback_support import DATA_PLANE, report, room_event
from tests.support import Tenant, fails

CODE = grpc.StatusCode
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
VIDEO, AUDIO, SCREEN = quality.MEDIA_KIND_VIDEO, quality.MEDIA_KIND_AUDIO, quality.MEDIA_KIND_SCREEN_SHARE
ENTER, EXIT = ingest_pb.EVENT_TYPE_USER_ENTERED, ingest_pb.EVENT_TYPE_USER_EXITED
M = series_pb.SeriesMetric
BEST, GOOD, FAIR = pb.QUALITY_LEVEL_BEST, pb.QUALITY_LEVEL_GOOD, pb.QUALITY_LEVEL_FAIR
POOR, SEVERE = pb.QUALITY_LEVEL_POOR, pb.QUALITY_LEVEL_SEVERE
UNJUDGED = pb.QUALITY_LEVEL_UNSPECIFIED


def sample(
    app: int, seconds: float, user: str = "alice", peer: str = "", media: int = VIDEO, **metrics: Any
) -> quality.QualitySample:
    """``user``'s sample of ``media`` (from ``peer``: downstream) at NOW + ``seconds``."""
    fields: dict[str, Any] = {
        "sdk_app_id": app,
        "room_id": 42,
        "user_id": user,
        "peer_id": peer,
        "media": media,
    }
    message = quality.QualitySample(**fields, **metrics)
    message.sample_time.FromDatetime(NOW + timedelta(seconds=seconds))
    return message


async def ingest(tenant: Tenant, samples: list[quality.QualitySample]) -> None:
    stub = ingest_grpc.IngestServiceStub(tenant.channel)
    for i in range(0, len(samples), 5000):
        response = await stub.ReportQuality(
            ingest_pb.ReportQualityRequest(samples=samples[i : i + 5000]), metadata=DATA_PLANE
        )
        assert response.accepted == len(samples[i : i + 5000])


async def open_call(
    tenant: Tenant, name: str, *, minutes: float = 40, users: tuple[str, ...] = ("alice", "bob")
) -> tuple[int, str]:
    """An app and a call of room 42 from NOW, every user in for ``minutes``; (app, call id)."""
    app = (await tenant.create_app(name)).sdk_app_id
    events = []
    for user in users:
        events.append(room_event(f"in-{user}", app, at=NOW, room=42, user=user, type=ENTER))
        events.append(
            room_event(f"out-{user}", app, at=NOW + timedelta(minutes=minutes), room=42, user=user, type=EXIT)
        )
    await report(tenant.channel, events)
    return app, f"{app}_42_{int(NOW.timestamp())}"


def window(request: Any, start_s: float, end_s: float) -> None:
    request.start_time.FromDatetime(NOW + timedelta(seconds=start_s))
    request.end_time.FromDatetime(NOW + timedelta(seconds=end_s))


async def series(tenant: Tenant, **fields: Any) -> pb.GetQualitySeriesResponse:
    span = fields.pop("span", None)
    request = pb.GetQualitySeriesRequest(**fields)
    if span is not None:
        window(request, *span)
    response: pb.GetQualitySeriesResponse = await pb_grpc.MonitorServiceStub(tenant.channel).GetQualitySeries(
        request, metadata=tenant.metadata
    )
    return response


def by_metric(response: pb.GetQualitySeriesResponse) -> dict[int, pb.QualitySeries]:
    return {s.metric: s for s in response.series}


@pytest.fixture
def later(clock: ManualClock) -> ManualClock:
    clock.set(NOW + timedelta(hours=1))
    return clock


async def test_levels_at_each_threshold_boundary(tenant: Tenant, later: ManualClock) -> None:
    app, call = await open_call(tenant, "levels")
    # one sample every 10 s, a 1-s step: each point is one sample, no two points adjacent
    # (so no frame-rate swing, no sustained run, no recent bitrate mean)
    loss = [
        0.0,
        1.99,
        2.0,
        5.0,
        5.01,
        10.0,
        10.01,
    ]  # R20: 0 best, <2 good, [2,5] fair (ours), >5 poor, >10 severe
    cpu = [49.9, 50.0, 85.0, 85.1, 10.0, 10.0, 10.0]  # R20: <50 normal, >85 marked
    fps = [15, 14, 11, 10, 9, 30, 0]  # R20: >=15 normal, <=10 stutter
    task = [60, 61, 0, 0, 0, 0, 0]  # R20: >60 ms overloaded
    samples = [
        sample(
            app,
            10 * (i + 1),
            packet_loss_percent=loss[i],
            system_cpu_percent=cpu[i],
            capture_fps=fps[i],
            sdk_task_time_ms=task[i],
            rtt_ms=100,
        )
        for i in range(7)
    ]
    volume = [39, 40, 80, 81]  # R20: 40-80 normal, <40 low
    samples += [sample(app, 10 * (i + 1), media=AUDIO, volume_db=v) for i, v in enumerate(volume)]
    await ingest(tenant, samples)

    video = await series(tenant, call_id=call, user_id="alice", media=VIDEO, span=(0, 600), max_points=600)
    assert video.step.ToTimedelta() == timedelta(seconds=1)
    got = by_metric(video)
    assert [(p.value, p.level) for p in got[M.Value("SERIES_METRIC_PACKET_LOSS")].points] == [
        (0.0, BEST),
        (pytest.approx(1.99), GOOD),
        (2.0, FAIR),
        (5.0, FAIR),
        (pytest.approx(5.01), POOR),
        (10.0, POOR),
        (pytest.approx(10.01), SEVERE),
    ]
    assert [p.level for p in got[M.Value("SERIES_METRIC_SYSTEM_CPU")].points][:4] == [GOOD, FAIR, FAIR, POOR]
    assert [p.level for p in got[M.Value("SERIES_METRIC_CAPTURE_FPS")].points] == [
        GOOD,
        FAIR,
        FAIR,
        POOR,
        POOR,
        GOOD,
        POOR,
    ]
    assert [p.level for p in got[M.Value("SERIES_METRIC_SDK_TASK_TIME")].points][:2] == [GOOD, POOR]
    assert {p.level for p in got[M.Value("SERIES_METRIC_RTT")].points} == {UNJUDGED}  # shown, not judged
    assert list(got[M.Value("SERIES_METRIC_CAPTURE_FPS")].judged_by) == [
        pb.QUALITY_METRIC_FRAME_RATE,
        pb.QUALITY_METRIC_FRAME_RATE_SWING,
    ]
    first = got[M.Value("SERIES_METRIC_PACKET_LOSS")].points[0]
    assert first.time.ToDatetime(tzinfo=UTC) == NOW + timedelta(seconds=10) and first.sample_count == 1
    # every metric that applies to the upstream of video, in SeriesMetric order; empty series kept
    assert [s.metric for s in video.series] == [
        M.Value(f"SERIES_METRIC_{n}")
        for n in (
            "PACKET_LOSS",
            "BITRATE",
            "CAPTURE_FPS",
            "ENCODE_FPS",
            "WIDTH",
            "HEIGHT",
            "RTT",
            "APP_CPU",
            "SYSTEM_CPU",
            "SDK_TASK_TIME",
        )
    ]
    assert got[M.Value("SERIES_METRIC_BITRATE")].points == []

    audio = await series(
        tenant,
        call_id=call,
        user_id="alice",
        media=AUDIO,
        span=(0, 600),
        max_points=600,
        metrics=[M.Value("SERIES_METRIC_VOLUME")],
    )
    assert [p.level for p in audio.series[0].points] == [POOR, GOOD, GOOD, FAIR]

    # swings: adjacent points (a 2-s step, a sample every 2 s) of 20 → 14 (6 fps: poor) → 12 (2: fair)
    await ingest(tenant, [sample(app, 1000 + 2 * i, capture_fps=f) for i, f in enumerate((20, 14, 12))])
    swing = await series(
        tenant,
        call_id=call,
        user_id="alice",
        media=VIDEO,
        span=(1000, 1100),
        metrics=[M.Value("SERIES_METRIC_CAPTURE_FPS")],
        max_points=50,
    )
    assert swing.step.ToTimedelta() == timedelta(seconds=2)
    assert [p.level for p in swing.series[0].points] == [GOOD, POOR, FAIR]


async def test_downsampling_keeps_stall_exact_and_respects_max_points(
    tenant: Tenant, later: ManualClock
) -> None:
    app, call = await open_call(tenant, "downsample")
    # bob receives alice's video: a sample every 2 s for 40 minutes, uneven stall times
    samples = [
        sample(
            app,
            2 * i + 0.5,
            user="bob",
            peer="alice",
            stall_ms=(i * 37) % 700,
            packet_loss_percent=float(i % 4),
            sdk_task_time_ms=i % 90,
            render_fps=15,
        )
        for i in range(1200)
    ]
    await ingest(tenant, samples)
    total = sum((i * 37) % 700 for i in range(1200))
    for max_points in (0, 7, 100, 1000, 5000):
        response = await series(
            tenant, call_id=call, user_id="bob", peer_id="alice", media=VIDEO, max_points=max_points
        )
        got = by_metric(response)
        stall = got[M.Value("SERIES_METRIC_STALL_TIME")]
        assert stall.aggregate == series_pb.SERIES_AGGREGATE_SUM
        assert sum(p.value for p in stall.points) == total  # exact at every step
        assert sum(p.sample_count for p in stall.points) == 1200
        assert len(stall.points) <= (max_points or 1000)
    # the default range: the call's life + 60 s (41 minutes), 1,000 points at most: 3-s steps
    assert response.start_time.ToDatetime(tzinfo=UTC) == NOW
    assert response.end_time.ToDatetime(tzinfo=UTC) == NOW + timedelta(minutes=41)
    coarse = await series(tenant, call_id=call, user_id="bob", peer_id="alice", media=VIDEO, max_points=7)
    assert coarse.step.ToTimedelta() == timedelta(seconds=352)  # ⌈2460 s / 7⌉
    got = by_metric(coarse)
    first = [i for i in range(1200) if 2 * i + 0.5 < 352]
    loss = got[M.Value("SERIES_METRIC_PACKET_LOSS")]
    assert loss.aggregate == series_pb.SERIES_AGGREGATE_MEAN
    assert loss.points[0].value == pytest.approx(sum(i % 4 for i in first) / len(first))
    task = got[M.Value("SERIES_METRIC_SDK_TASK_TIME")]
    assert task.aggregate == series_pb.SERIES_AGGREGATE_MAX and task.points[0].value == 89
    failure = await fails(
        series(tenant, call_id=call, user_id="bob", peer_id="alice", media=VIDEO, max_points=5001),
        CODE.INVALID_ARGUMENT,
    )
    assert "max_points" in failure.field_violations


async def test_sustained_loss_and_low_frame_rate_are_flagged(tenant: Tenant, later: ManualClock) -> None:
    app, call = await open_call(tenant, "rules")
    loss = [1.0] * 5 + [6.0] * 5 + [1.0] * 3 + [6.0] * 4 + [1.0] * 3  # 10 s of poor loss; then 8 s
    fps = [20] * 3 + [8] * 2 + [20] * 3 + [8, 8, 9, 10, 8] + [20] * 7  # 4 s low, recovers; then 10 s low
    await ingest(
        tenant,
        [
            sample(app, 2 * i, user="bob", peer="alice", packet_loss_percent=loss[i], render_fps=fps[i])
            for i in range(20)
        ],
    )
    response = await series(
        tenant,
        call_id=call,
        user_id="bob",
        peer_id="alice",
        media=VIDEO,
        span=(0, 200),
        max_points=100,
        metrics=[M.Value("SERIES_METRIC_PACKET_LOSS"), M.Value("SERIES_METRIC_RENDER_FPS")],
    )
    assert response.step.ToTimedelta() == timedelta(seconds=2)
    assert response.sustained_for.ToTimedelta() == timedelta(seconds=10)
    levels = [p.level for p in response.series[0].points]
    assert levels[5:10] == [SEVERE] * 5  # sustained: severe congestion
    assert levels[13:17] == [POOR] * 4  # 8 s: poor, not sustained
    flags = [
        (
            series_pb.QualityFlagKind.Name(f.kind),
            int((f.start_time.ToDatetime(tzinfo=UTC) - NOW).total_seconds()),
            int((f.end_time.ToDatetime(tzinfo=UTC) - NOW).total_seconds()),
        )
        for f in response.flags
    ]
    assert flags == [
        ("QUALITY_FLAG_KIND_SUSTAINED_LOSS", 10, 20),
        ("QUALITY_FLAG_KIND_LOW_FRAME_RATE", 16, 26),
    ]
    assert response.flags[1].metric == M.Value("SERIES_METRIC_RENDER_FPS")


async def test_bitrate_change_against_the_recent_mean(tenant: Tenant, later: ManualClock) -> None:
    app, call = await open_call(tenant, "bitrate")
    rates = [1000] * 16 + [1100, 650, 1000]  # +10 % good, −35 % poor (R20: > 30 % is congestion or jitter)
    await ingest(tenant, [sample(app, 2 * i, bitrate_kbps=r) for i, r in enumerate(rates)])
    response = await series(
        tenant,
        call_id=call,
        user_id="alice",
        media=VIDEO,
        span=(0, 100),
        max_points=50,
        metrics=[M.Value("SERIES_METRIC_BITRATE")],
    )
    levels = [p.level for p in response.series[0].points]
    assert levels[0] == UNJUDGED and set(levels[1:16]) == {GOOD}
    assert levels[16:18] == [GOOD, POOR]


async def test_range_limits_errors_and_tenancy(
    tenant: Tenant, other_tenant: Tenant, clock: ManualClock
) -> None:
    clock.set(NOW + timedelta(hours=7))
    app, call = await open_call(tenant, "long", minutes=6 * 60)  # a 6-hour call
    await ingest(
        tenant, [sample(app, 60, packet_loss_percent=1.0), sample(app, 5.5 * 3600, packet_loss_percent=2.0)]
    )
    response = await series(tenant, call_id=call, user_id="alice", media=VIDEO)
    end = NOW + timedelta(hours=6, seconds=60)
    assert (response.start_time.ToDatetime(tzinfo=UTC), response.end_time.ToDatetime(tzinfo=UTC)) == (
        end - timedelta(hours=5),
        end,
    )
    assert [p.value for p in by_metric(response)[M.Value("SERIES_METRIC_PACKET_LOSS")].points] == [2.0]
    assert (await series(tenant, call_id=call, user_id="alice", media=VIDEO, span=(0, 5 * 3600))).series[
        0
    ].points[0].value == 1.0

    stub = pb_grpc.MonitorServiceStub(tenant.channel)
    request = pb.GetQualitySeriesRequest(call_id=call, user_id="alice", media=VIDEO)
    window(request, 0, 5 * 3600 + 1)
    failure = await fails(stub.GetQualitySeries(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
    info = failure.details["google.rpc.ErrorInfo"]
    assert info.reason == "DETAILS_RANGE_TOO_LONG" and info.metadata["max_seconds"] == "18000"
    window(request, -1, 100)
    failure = await fails(stub.GetQualitySeries(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
    assert "start_time" in failure.field_violations

    async def refused(**fields: Any) -> dict[str, str]:
        request = pb.GetQualitySeriesRequest(**({"call_id": call, "user_id": "alice"} | fields))
        return (
            await fails(stub.GetQualitySeries(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
        ).field_violations

    assert "metrics[0]" in await refused(
        media=VIDEO, metrics=[M.Value("SERIES_METRIC_STALL_TIME")]
    )  # downstream only
    assert "metrics[0]" in await refused(media=VIDEO, metrics=[M.Value("SERIES_METRIC_VOLUME")])  # audio only
    assert "metrics[1]" in await refused(
        media=AUDIO, metrics=[M.Value("SERIES_METRIC_RTT"), M.Value("SERIES_METRIC_RENDER_FPS")]
    )
    assert "metrics[0]" in await refused(media=VIDEO, metrics=[99])
    assert "metrics" in await refused(media=VIDEO, metrics=[1, 1])
    assert "media" in await refused()
    assert "peer_id" in await refused(media=VIDEO, peer_id="alice")
    assert (
        "user_id"
        in (
            await fails(
                stub.GetQualitySeries(
                    pb.GetQualitySeriesRequest(call_id=call, media=VIDEO), metadata=tenant.metadata
                ),
                CODE.INVALID_ARGUMENT,
            )
        ).field_violations
    )
    assert "call_id" in await refused(media=VIDEO, call_id="nonsense")

    # another account's call, and a call that does not exist, are NOT_FOUND
    other = pb.GetQualitySeriesRequest(call_id=call, user_id="alice", media=VIDEO)
    await fails(
        pb_grpc.MonitorServiceStub(other_tenant.channel).GetQualitySeries(
            other, metadata=other_tenant.metadata
        ),
        CODE.NOT_FOUND,
    )
    missing = pb.GetQualitySeriesRequest(
        call_id=f"{app}_42_{int(NOW.timestamp()) + 5}", user_id="alice", media=VIDEO
    )
    await fails(stub.GetQualitySeries(missing, metadata=tenant.metadata), CODE.NOT_FOUND)


async def test_rtcctl_monitor_quality(
    tenant: Tenant, later: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app, call = await open_call(tenant, "cli")
    await ingest(
        tenant,
        [
            sample(
                app, 10, user="bob", peer="alice", packet_loss_percent=6.0, bitrate_kbps=800, stall_ms=300
            ),
            sample(app, 20, user="bob", peer="alice", packet_loss_percent=0.0, bitrate_kbps=800),
        ],
    )

    async def rtcctl(*argv: str) -> tuple[int, str, str]:
        status = await amain(["--target", tenant.server.target, "--api-key", tenant.api_key, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    base = ("monitor", "quality", call, "--user", "bob", "--peer", "alice", "--media", "video")
    status, out, err = await rtcctl(
        *base, "--metrics", "loss,bitrate,stall", "--from", "2026-03-10T12:00Z", "--to", "2026-03-10T12:10Z"
    )
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"video of alice → bob in call {call}")
    assert lines[1].split() == ["TIME", "PACKET_LOSS_MEAN(%)", "BITRATE_MEAN(kbps)", "STALL_TIME_SUM(ms)"]
    assert lines[2].split() == ["2026-03-10T12:00:10Z", "6", "poor", "800", "300"]
    assert lines[3].split() == ["2026-03-10T12:00:20Z", "0", "best", "800", "good"]  # stall not measured
    status, out, _ = await rtcctl(*base, "--metrics", "loss", "--csv")  # the call's life: 3-s steps
    assert status == 0 and out.splitlines()[1].startswith("2026-03-10T12:00:09Z,packet_loss")
    status, out, _ = await rtcctl(
        *base, "--metrics", "loss", "--csv", "--from", "2026-03-10T12:00Z", "--to", "2026-03-10T12:10Z"
    )
    assert status == 0 and out.splitlines() == [
        "time,metric,unit,aggregate,value,level,samples",
        "2026-03-10T12:00:10Z,packet_loss,%,mean,6,poor,1",
        "2026-03-10T12:00:20Z,packet_loss,%,mean,0,best,1",
    ]
    status, out, _ = await rtcctl(*base, "--json")
    data = json.loads(out)
    assert (
        status == 0 and data["call_id"] == call and data["series"][0]["metric"] == "SERIES_METRIC_PACKET_LOSS"
    )
    assert data["series"][0]["points"][0]["level"] == "QUALITY_LEVEL_POOR"
    status, _, err = await rtcctl(*base, "--metrics", "volume")
    assert status == 1 and "volume" in err
    status, _, err = await rtcctl(*base, "--metrics", "nonsense")
    assert status == 2 and "nonsense" in err


async def test_the_series_rows_are_the_same_through_sqlalchemy(tenant: Tenant, later: ManualClock) -> None:
    """The driver SQL of a stream's steps (the two drivers we ship with) and the SQLAlchemy path
    kept for any other driver give the same rows."""
    app, _ = await open_call(tenant, "two_paths")
    await ingest(
        tenant,
        [
            sample(app, 2 * i + 0.5, user="bob", peer="alice", stall_ms=(i * 37) % 700, render_fps=i % 30)
            for i in range(300)
        ],
    )
    stream: dict[str, Any] = {
        "sdk_app_id": app,
        "room_key": "n:42",
        "user_id": "bob",
        "peer_id": "alice",
        "media": VIDEO,
        "start": NOW,
        "end": NOW + timedelta(minutes=9),  # inside the samples: the end bound matters
        "step": timedelta(seconds=7),
        "columns": {spec.column: spec.aggregate for spec in SERIES_METRICS},
    }
    with tenant.server.console.store.read() as session:
        by_driver = [tuple(row) for row in _stream_rows(session, **stream)]
        by_core = [tuple(row) for row in _stream_rows(session, **stream, through_core=True)]
    assert len(by_driver) > 70
    assert by_driver == by_core
