"""MonitorService.GetQualityThresholds over a real server, the typed client and ``rtcctl``.

The response is read back field by field against ``domain.monitor``'s data (by enum names,
not through the server's converter), so what the server serves is exactly what it judges
with; a client that classifies from the response alone agrees with ``level_of`` at every edge.
"""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from rtcconsole import RtcConsole
from rtcconsole.cli import amain
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole_server.api.convert_monitor import MEDIA_KIND
from rtcconsole_server.domain.monitor import (
    QUALITY_THRESHOLDS,
    STALL_RATE_THRESHOLDS,
    Band,
    QualityMetric,
    level_of,
    stall_level,
)
from tests.support import Tenant, fails

_MEDIA_NAME = {number: name for name, number in MEDIA_KIND.items()}
"""``MediaKind`` → the thresholds' media kind, as a client maps it."""

CODE = grpc.StatusCode


async def _thresholds(tenant: Tenant) -> pb.GetQualityThresholdsResponse:
    stub = pb_grpc.MonitorServiceStub(tenant.channel)
    return await stub.GetQualityThresholds(pb.GetQualityThresholdsRequest(), metadata=tenant.metadata)


def _edges(value_range: pb.ThresholdRange) -> tuple[float | None, bool, float | None, bool]:
    return (
        value_range.lower if value_range.HasField("lower") else None,
        value_range.lower_inclusive,
        value_range.upper if value_range.HasField("upper") else None,
        value_range.upper_inclusive,
    )


def _band_edges(band: Band[Any]) -> tuple[float | None, bool, float | None, bool]:
    return (band.lower, band.lower_inclusive, band.upper, band.upper_inclusive)


def _inside(value_range: pb.ThresholdRange, value: float) -> bool:
    """How a client reads a range: the proto's comment, nothing else."""
    low, low_in, high, high_in = _edges(value_range)
    return (low is None or value > low or (value == low and low_in)) and (
        high is None or value < high or (value == high and high_in)
    )


async def test_the_rpc_serves_exactly_the_domain_data(tenant: Tenant) -> None:
    response = await _thresholds(tenant)
    assert len(response.metrics) == len(QUALITY_THRESHOLDS)
    for served, data in zip(response.metrics, QUALITY_THRESHOLDS, strict=True):
        assert pb.QualityMetric.Name(served.metric) == f"QUALITY_METRIC_{data.metric.name}"
        assert (served.unit, tuple(served.media), served.description) == (
            data.unit,
            tuple(MEDIA_KIND[kind] for kind in data.media),
            data.description,
        )
        window = served.window.ToTimedelta() if served.HasField("window") else None
        assert window == data.window
        assert [(pb.QualityLevel.Name(b.level), _edges(b.range), b.chosen) for b in served.bands] == [
            (f"QUALITY_LEVEL_{b.level.name}", _band_edges(b), b.chosen) for b in data.bands
        ]
    assert len(response.stall_rates) == len(STALL_RATE_THRESHOLDS)
    for stall, want in zip(response.stall_rates, STALL_RATE_THRESHOLDS, strict=True):
        assert (stall.media, stall.minimum_stall.ToTimedelta()) == (
            MEDIA_KIND[want.media],
            want.minimum_stall,
        )
        assert [(pb.StallLevel.Name(b.level), _edges(b.range), b.color) for b in stall.bands] == [
            (f"STALL_LEVEL_{b.level.name}", _band_edges(b), b.level.colour) for b in want.bands
        ]
    assert [s.minimum_stall.ToTimedelta() for s in response.stall_rates] == [
        timedelta(milliseconds=600),
        timedelta(milliseconds=200),
    ]


async def test_a_client_classifying_from_the_response_agrees_with_the_server(tenant: Tenant) -> None:
    response = await _thresholds(tenant)
    for served in response.metrics:
        metric = QualityMetric[pb.QualityMetric.Name(served.metric).removeprefix("QUALITY_METRIC_")]
        media = _MEDIA_NAME[served.media[0]] if served.media else None
        for band in served.bands:
            for edge in (e for e in (_edges(band.range)[0], _edges(band.range)[2]) if e is not None):
                for value in (math.nextafter(edge, -math.inf), edge, math.nextafter(edge, math.inf)):
                    holding = [b.level for b in served.bands if _inside(b.range, value)]
                    assert len(holding) <= 1
                    try:
                        expected = level_of(metric, value, media_kind=media)
                    except ValueError:  # outside the domain: no band holds it
                        assert holding == []
                        continue
                    assert [pb.QualityLevel.Name(level) for level in holding] == [
                        f"QUALITY_LEVEL_{expected.name}"
                    ]
    for stall in response.stall_rates:
        for stall_band in stall.bands:
            low = _edges(stall_band.range)[0]
            assert low is not None
            expected_stall = stall_level(low, media_kind=_MEDIA_NAME[stall.media])
            assert pb.StallLevel.Name(stall_band.level) == f"STALL_LEVEL_{expected_stall.name}"


async def test_the_typed_client_reads_them(tenant: Tenant) -> None:
    async with await RtcConsole.connect(tenant.server.target, api_key=tenant.api_key) as console:
        response = await console.monitor.get_quality_thresholds()
    assert response == await _thresholds(tenant)


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer not-a-key"),)])
async def test_an_unauthenticated_call_is_refused(
    tenant: Tenant, metadata: tuple[tuple[str, str], ...]
) -> None:
    stub = pb_grpc.MonitorServiceStub(tenant.channel)
    await fails(
        stub.GetQualityThresholds(pb.GetQualityThresholdsRequest(), metadata=metadata), CODE.UNAUTHENTICATED
    )


async def _rtcctl(tenant: Tenant, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = await amain(["--target", tenant.server.target, "--api-key", tenant.api_key, *argv])
    out, err = capsys.readouterr()
    return status, out, err


async def test_rtcctl_monitor_thresholds_json_round_trips(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = await _rtcctl(tenant, capsys, "monitor", "thresholds", "--json")
    assert (status, err) == (0, "")
    parsed = json_format.ParseDict(json.loads(out), pb.GetQualityThresholdsResponse())
    assert parsed == await _thresholds(tenant)


async def test_rtcctl_monitor_thresholds_prints_a_table(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = await _rtcctl(tenant, capsys, "monitor", "thresholds")
    assert (status, err) == (0, "")
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]
    assert ["packet loss", "video, audio, screen share", "BEST", "x = 0 %"] in rows
    assert ["packet loss", "video, audio, screen share", "FAIR", "2 ≤ x ≤ 5 %", "our choice"] in rows
    assert ["packet loss", "video, audio, screen share", "SEVERE", "10 < x ≤ 100 %"] in rows
    assert ["frame rate", "video", "POOR", "0 ≤ x ≤ 10 fps"] in rows
    assert ["frame rate", "screen share", "GOOD", "x ≥ 5 fps"] in rows
    assert ["bitrate change", "screen share", "FAIR", "10 < x ≤ 30 %", "our choice, over 10 s"] in rows
    assert ["system cpu", "any (device)", "POOR", "85 < x ≤ 100 %"] in rows
    assert ["volume", "audio", "POOR", "x < 40 dB"] in rows
    assert ["video", "600 ms", "HIGH", "5 ≤ x < 10 %", "yellow"] in rows
    assert ["audio", "200 ms", "VERY_HIGH", "5 ≤ x ≤ 100 %", "red"] in rows
