"""SubscribeRealtime's frames (R21): one app's figures of one closed slot, built and encoded.

A frame is the overview of a slot and, the same figures, its point of the charts. It is built
from the live state's counters and sets exactly as ``GetRealtimeOverview`` reads them
(``read_figures`` of the app's totals with the edition's retention), so a frame and an
overview of the same slot, read at the same moment, are equal. ``heartbeat`` says the figures
equal the previous slot's (nothing changed). When a subscriber asked for them, the frame also
carries the slot's top rooms (``_realtime_top_rooms``), ranked once with the frame.

A live frame is built once per app per slot and broadcast on the live state's channel
:func:`channel` as :func:`encode`'s bytes: every subscriber of the app, on every replica,
receives the same bytes (``_realtime_stream``). The encoding is this module's own compact JSON
(the domain knows no protos); the API turns a decoded frame into a ``SubscribeRealtimeResponse``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rtcconsole_server.domain.monitor._realtime_figures import Figures, StallRate, Wanted, read_figures
from rtcconsole_server.domain.monitor._realtime_keys import app_keys, rooms_key
from rtcconsole_server.domain.monitor._realtime_read import RoomRow
from rtcconsole_server.domain.monitor._realtime_top_rooms import TopRooms, rank_top_rooms
from rtcconsole_server.live import LiveState

__all__ = ["Frame", "build_frames", "channel", "claim_key", "decode", "encode"]


def channel(sdk_app_id: int) -> str:
    """The live-state channel of an app's frames: ``realtime:{<sdk_app_id>}``."""
    return f"realtime:{{{sdk_app_id}}}"


def claim_key(sdk_app_id: int) -> str:
    """Per-slot counter whose first increment wins the right to build the slot's live frame."""
    return f"rt:{{{sdk_app_id}}}:frame"


@dataclass(frozen=True)
class Frame:
    """One app's figures of one closed slot, as one subscriber is sent them."""

    sdk_app_id: int
    slot: int
    """The slot described (``live.slot_start(slot)`` to ``slot_start(slot + 1)``)."""
    as_of: datetime
    """The clock when the figures were read."""
    figures: Figures
    heartbeat: bool
    """The figures equal the previous slot's."""
    skipped: int = 0
    """Slots before this one that this stream did not send (coalesced, or no longer retained)."""
    replayed: bool = False
    """Built for one stream from the retained figures rather than broadcast live."""
    top_rooms: TopRooms | None = None
    """The slot's rooms with the most online users, most first (at most ``MAX_TOP_ROOMS``; cut to
    what the stream asked for); None when not ranked (nobody asked when it was built)."""
    revision: int = 0
    """0: the slot's first frame; 1: the slot read again after late records changed it, which
    replaces the frame of revision 0 (``_realtime_stream.REVISE_AFTER``)."""


async def build_frames(
    live: LiveState,
    sdk_app_id: int,
    look_back: timedelta,
    slots: Sequence[int],
    now: datetime,
    *,
    top_rooms: bool = False,
) -> list[Frame]:
    """The frames of consecutive ``slots`` (oldest first), in one live-state round trip; with
    ``top_rooms``, each ranked with its top rooms too (three round trips more per slot, none for a
    slot older than the per-room retention, whose top rooms are empty).

    The slot before the first is read too, for the first frame's ``heartbeat``.
    """
    if not slots:
        return []
    read = [slots[0] - 1, *slots]
    keys, rooms = app_keys(sdk_app_id), rooms_key(sdk_app_id)
    figures = await read_figures(live, [Wanted(keys, s, look_back, rooms, look_back) for s in read])
    return [
        Frame(
            sdk_app_id,
            slot,
            now,
            figures[i + 1],
            figures[i + 1] == figures[i],
            top_rooms=await rank_top_rooms(live, sdk_app_id, look_back, slot) if top_rooms else None,
        )
        for i, slot in enumerate(slots)
    ]


def _rate(rate: StallRate) -> list[int]:
    return [rate.stall_ms, rate.total_ms]


def _numbers(f: Figures) -> list[int]:
    return [f.online_users, f.abnormal_users, f.online_rooms, *_rate(f.video), *_rate(f.audio)]


def _figures(numbers: Sequence[Any]) -> Figures:
    users, abnormal, rooms, vs, vt, as_, at = (int(v) for v in numbers)
    return Figures(users, abnormal, rooms, StallRate("video", vs, vt), StallRate("audio", as_, at))


def encode(frame: Frame) -> bytes:
    """The broadcast bytes of a live frame (``skipped`` and ``replayed`` are per stream: not sent;
    ``revision`` only when not 0, so a first frame's bytes are those of before revisions)."""
    body: dict[str, object] = {
        "a": frame.sdk_app_id,
        "s": frame.slot,
        "t": frame.as_of.isoformat(),
        "h": frame.heartbeat,
        "f": _numbers(frame.figures),
    }
    if frame.top_rooms is not None:
        body["r"] = [[row.room_key, *_numbers(row.figures)] for row in frame.top_rooms]
    if frame.revision:
        body["v"] = frame.revision
    return json.dumps(body, separators=(",", ":")).encode()


@functools.lru_cache(maxsize=64)
def decode(payload: bytes) -> Frame:
    """The frame of :func:`encode`'s bytes; cached, so one broadcast is decoded once per process
    however many local subscribers receive it. ``ValueError`` for bytes that are not a frame."""
    try:
        body = json.loads(payload)
        top = None
        if "r" in body:
            top = tuple(RoomRow(str(row[0]), _figures(row[1:])) for row in body["r"])
        return Frame(
            int(body["a"]),
            int(body["s"]),
            datetime.fromisoformat(body["t"]),
            _figures(body["f"]),
            bool(body["h"]),
            top_rooms=top,
            revision=int(body.get("v", 0)),
        )
    except (IndexError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a real-time frame: {error}") from None
