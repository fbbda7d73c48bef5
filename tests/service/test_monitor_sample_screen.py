"""The quality ingest's screen (``_samples._surely_valid``) never accepts a sample the full check
rejects: ``check_sample`` answers exactly what the full check answers, for valid samples and for
samples that break each rule, at and beside each limit. No server, no store: the rule itself."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pytest

from rtcconsole_server.domain.monitor._samples import (
    AUDIO,
    MAX_AGE,
    MAX_AHEAD,
    MAX_ID,
    MAX_INTERVAL_MS,
    METRICS,
    MIN_INTERVAL_MS,
    SCREEN_SHARE,
    VIDEO,
    SampleInput,
    _surely_valid,
    _violations,
    check_sample,
)

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
_DOWN = SampleInput(
    sample_id="s1",
    sdk_app_id=1400000001,
    room_key="n:42",
    user_id="alice",
    peer_id="bob",
    media=VIDEO,
    sample_time=NOW,
    packet_loss_percent=0.5,
    bitrate_kbps=900,
    decode_fps=30,
    render_fps=29,
    width=1280,
    height=720,
    rtt_ms=40,
    stall_ms=0,
    app_cpu_percent=10.5,
    system_cpu_percent=30.0,
    sdk_task_time_ms=3,
)
_UP_AUDIO = SampleInput("s2", 1400000001, "s:room-a", "alice", "", AUDIO, NOW, 2000, volume_db=60, rtt_ms=1)


def _variants() -> list[SampleInput]:
    """Valid samples and samples breaking each rule, at and beside each limit."""
    out = [_DOWN, _UP_AUDIO]
    edit = dataclasses.replace
    for base in (_DOWN, _UP_AUDIO):
        for at in (NOW - MAX_AGE, NOW - MAX_AGE - timedelta(microseconds=1), NOW + MAX_AHEAD,
                   NOW + MAX_AHEAD + timedelta(microseconds=1), None):  # fmt: skip
            out.append(edit(base, sample_time=at))
        for text in ("", "x" * MAX_ID, "x" * (MAX_ID + 1), "a\x00b"):
            out += [edit(base, sample_id=text), edit(base, user_id=text), edit(base, peer_id=text)]
        out += [edit(base, peer_id=base.user_id), edit(base, sdk_app_id=0)]
        for key in ("", "n:", "n:0", "n:1", "n:4294967294", "n:4294967295", "n:-1", "n:١", "s:",
                    "s:" + "r" * 64, "s:" + "r" * 65, "s:a\x00", "x:1", "n1", "s"):  # fmt: skip
            out.append(edit(base, room_key=key))
        for media in (0, VIDEO, AUDIO, SCREEN_SHARE, 4):
            out.append(edit(base, media=media))
        for interval in (None, MIN_INTERVAL_MS - 1, MIN_INTERVAL_MS, MAX_INTERVAL_MS, MAX_INTERVAL_MS + 1):
            out.append(edit(base, interval_ms=interval))
        for metric in METRICS:
            for value in (metric.low, metric.high, metric.low - 1, metric.high + 1, math.nan, None):
                if not metric.real and isinstance(value, float):
                    continue
                out.append(edit(base, **{metric.name: value}))
        out += [edit(base, width=None), edit(base, height=None), edit(base, width=640, height=None)]
        out += [edit(base, stall_ms=2000), edit(base, stall_ms=2001)]
        out.append(edit(base, interval_ms=1000, stall_ms=1500))
    return out


@pytest.mark.parametrize("sample", _variants(), ids=lambda s: repr(s)[:120])
def test_the_screen_accepts_only_what_the_full_check_accepts(sample: SampleInput) -> None:
    full = _violations(sample, NOW)
    if _surely_valid(sample, NOW):
        assert full == []
    assert check_sample(sample, NOW) == full


def test_the_screen_passes_the_usual_samples() -> None:
    """The valid samples of the hot path take the screen (no full check runs)."""
    assert _surely_valid(_DOWN, NOW)
    assert _surely_valid(_UP_AUDIO, NOW)
    assert _surely_valid(dataclasses.replace(_DOWN, media=SCREEN_SHARE), NOW)
