"""One call plan as the records the data plane reports: room and media events, client and
abnormal events, quality samples on both sides of every stream, and usage records.

Rules the records keep, so that the server accepts every one (docs/monitoring.md):

- upstream samples (``peer_id`` empty) carry capture/encode frame rates, never stall time or
  decode/render rates; downstream samples (``peer_id`` the sender) the other way round;
- frame rates and resolution only on video and screen share, volume only on audio;
  ``stall_ms`` at most the interval;
- PLAY_START/PLAY_STOP and the RECEIVER_ abnormal events name the sender as ``peer_id``; the
  SENDER_ ones and every other type have none;
- usage: one record per user and stay, per 5 minutes at most (R16), in the resolution tier of
  the video it receives (``rtcconsole.usage``); cloud recording per recorded video stream.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole.usage import category_for_pixels
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import quality_pb2 as qpb
from rtcconsole_server.clock import epoch_us
from rtcconsole_server.simulate._plan import ANCHOR, AUDIO, SCREEN, VIDEO, CallPlan, Episode, Publish, Stay

__all__ = ["CLIENT_EVENT", "EVENT", "SAMPLE", "USAGE", "Item", "call_items", "micros"]

EVENT, SAMPLE, CLIENT_EVENT, USAGE = "event", "sample", "client_event", "usage"
"""The kinds of :class:`Item`, one per IngestService stream."""

_SECOND = 1_000_000
_USAGE_CHUNK = 300 * _SECOND
_STARTED = {VIDEO: 201, AUDIO: 203, SCREEN: 205}  # EventType; stopped is started + 1
_CATEGORY = {"Audio": 1, "SD": 2, "HD": 3, "FullHD": 4, "2K": 5, "4K": 6}  # UsageCategory
_WIDTH = {360: 640, 540: 960, 720: 1280, 1080: 1920}
_VIDEO_KBPS = {360: 550, 540: 900, 720: 1300, 1080: 2000}
_FPS = {"web": 15, "android": 24}
_SCREEN_FPS, _SCREEN_KBPS, _GOP_TICKS = 8, 500, 4
_RTT = {"CN": 32, "SG": 48, "JP": 40, "US": 70, "DE": 62}
_UP_KINDS = ("loss_up", "bitrate", "capture", "cpu")
_SENDER_KINDS = ("loss_up", "bitrate", "capture")
_RECEIVER_KINDS = ("loss_down", "stall", "cpu")


@dataclass(frozen=True, slots=True)
class Item:
    """One record and when it is due: the instant the reporter would send it."""

    due: int
    """Microseconds since the Unix epoch."""
    kind: str
    """EVENT, SAMPLE, CLIENT_EVENT or USAGE."""
    message: Message


def micros(instant: datetime) -> int:
    """``instant`` in microseconds since the Unix epoch (``clock.epoch_us``)."""
    return epoch_us(instant)


def _stamp(us: int) -> Timestamp:
    return Timestamp(seconds=us // _SECOND, nanos=(us % _SECOND) * 1000)


def _active(episodes: list[tuple[int, int, str, float]], t: int) -> list[tuple[str, float]]:
    return [(kind, sev) for start, end, kind, sev in episodes if start <= t < end]


class _Builder:
    def __init__(self, plan: CallPlan, sdk_app_id: int, tick_us: int) -> None:
        self.plan, self.app, self.tick = plan, sdk_app_id, tick_us
        self.rng = random.Random(f"records:{plan.seed}:{plan.room_index}:{plan.number}")  # noqa: S311  (a simulation, not a secret)
        self.room: dict[str, Any] = (
            {"room_id": plan.room} if isinstance(plan.room, int) else {"str_room_id": plan.room}
        )
        self.items: list[Item] = []
        self.client_seq = 0
        self.people = {stay.person.user_id: stay.person for stay in plan.stays}
        self.episodes: dict[str, list[tuple[int, int, str, float]]] = {}
        for e in plan.episodes:
            self.episodes.setdefault(e.user_id, []).append(
                (micros(e.start), micros(e.end), e.kind, e.severity)
            )

    # -- room and media events ------------------------------------------------------------

    def event(self, suffix: str, at: int, type_: int, user: str = "", **extra: Any) -> None:
        message = pb.RoomEvent(
            event_id=f"{self.plan.key}-{suffix}",
            sdk_app_id=self.app,
            user_id=user,
            type=type_,  # type: ignore[arg-type]
            event_time=_stamp(at),
            **self.room,
            **extra,
        )
        self.items.append(Item(at, EVENT, message))

    def room_events(self) -> None:
        plan = self.plan
        self.event("created", micros(plan.start), 101)
        for i, stay in enumerate(plan.stays):
            p = stay.person
            session = pb.SessionAttributes(
                region=p.region,
                country=p.country,
                province=p.province,
                carrier=p.carrier,
                sdk_version=p.sdk_version,
                platform=p.platform,
                device_model=p.device_model,
                network_type=p.network_type,
            )
            self.event(f"s{i}-in", micros(stay.enter), 103, p.user_id, role=stay.role, session=session)
            if stay.switch_at is not None:
                self.event(f"s{i}-sw", micros(stay.switch_at), 105, p.user_id, role=ANCHOR)
            self.event(f"s{i}-out", micros(stay.leave), 104, p.user_id, reason=stay.exit_reason)
        for j, pub in enumerate(plan.publishes):
            self.event(f"p{j}-on", micros(pub.start), _STARTED[pub.media], pub.user_id)
            self.event(f"p{j}-off", micros(pub.end), _STARTED[pub.media] + 1, pub.user_id)
        if plan.dismissed:
            self.event("dismissed", micros(plan.end), 102)

    # -- client and abnormal events (R20, R21) -------------------------------------------

    def client(
        self,
        at: int,
        user: str,
        type_: int,
        media: int = 0,
        peer: str = "",
        params: dict[str, str] | None = None,
    ) -> None:
        self.client_seq += 1
        message = qpb.ClientEvent(
            event_id=f"{self.plan.key}-c{self.client_seq}",
            sdk_app_id=self.app,
            user_id=user,
            peer_id=peer,
            type=type_,  # type: ignore[arg-type]
            media=media,  # type: ignore[arg-type]
            event_time=_stamp(at),
            parameters=params or {},
            **self.room,
        )
        self.items.append(Item(at, CLIENT_EVENT, message))

    def client_events(self, downstreams: list[tuple[Stay, Publish, int, int]]) -> None:
        rng = self.rng
        for stay in self.plan.stays:
            uid, enter, leave = stay.person.user_id, micros(stay.enter), micros(stay.leave)
            self.client(enter, uid, 1)
            if stay.person.platform in ("android", "ios") and rng.random() < 0.05:
                to = "4g" if stay.person.network_type == "wifi" else "wifi"
                self.client(
                    (enter + leave) // 2, uid, 14, params={"from": stay.person.network_type, "to": to}
                )
            if rng.random() < 0.05:
                self.client(
                    enter + (leave - enter) // 3,
                    uid,
                    7,
                    params={"device": "speaker", "name": "Bluetooth headset"},
                )
            self.client(leave, uid, 2)
        for pub in self.plan.publishes:
            start, end = micros(pub.start), micros(pub.end)
            if pub.media == AUDIO:
                self.client(start, pub.user_id, 5, AUDIO)
            elif pub.media == VIDEO:
                self.client(start, pub.user_id, 3, VIDEO, params={"device": "front camera"})
            self.client(start + 1000, pub.user_id, 8, pub.media)
            if pub.media == AUDIO and rng.random() < 0.1 and end - start > 20 * _SECOND:
                muted = rng.randrange(start, end - 10 * _SECOND)
                self.client(muted, pub.user_id, 12, AUDIO)
                self.client(muted + rng.randrange(2, 9) * _SECOND, pub.user_id, 13, AUDIO)
            self.client(end - 1000, pub.user_id, 9, pub.media)
            if pub.media == AUDIO:
                self.client(end, pub.user_id, 6, AUDIO)
            elif pub.media == VIDEO:
                self.client(end, pub.user_id, 4, VIDEO)
        for stay, pub, start, end in downstreams:
            self.client(start, stay.person.user_id, 10, pub.media, pub.user_id)
            self.client(end, stay.person.user_id, 11, pub.media, pub.user_id)
        for e in self.plan.episodes:
            self.abnormal(e, downstreams)

    def abnormal(self, e: Episode, downstreams: list[tuple[Stay, Publish, int, int]]) -> None:
        at = micros(e.start) + 2 * _SECOND
        sending = [
            p for p in self.plan.publishes if p.user_id == e.user_id and micros(p.start) <= at < micros(p.end)
        ]
        if e.kind == "cpu" and sending:
            self.client(at, e.user_id, 101)
        elif e.kind == "capture":
            for pub in sending:
                if pub.media in (VIDEO, SCREEN):
                    self.client(at, e.user_id, 102 if pub.media == VIDEO else 104, pub.media)
        elif e.kind == "stall":
            for stay, pub, start, end in downstreams:
                if stay.person.user_id == e.user_id and pub.media != AUDIO and start <= at < end:
                    self.client(at, e.user_id, 103 if pub.media == VIDEO else 105, pub.media, pub.user_id)

    # -- usage (R16) -------------------------------------------------------------------------

    def usage(self) -> None:
        plan = self.plan
        for i, stay in enumerate(plan.stays):
            uid = stay.person.user_id
            for k, (start, seconds) in enumerate(_chunks(micros(stay.enter), micros(stay.leave))):
                middle = start + seconds * _SECOND // 2
                pixels = sum(
                    _WIDTH[p.height] * p.height
                    for p in plan.publishes
                    if p.media != AUDIO and p.user_id != uid and micros(p.start) <= middle < micros(p.end)
                )
                self.usage_record(f"s{i}-u{k}", uid, 1, category_for_pixels(pixels), start, seconds)
        if plan.recorded:
            for j, pub in enumerate(plan.publishes):
                if pub.media == VIDEO:
                    for k, (start, seconds) in enumerate(_chunks(micros(pub.start), micros(pub.end))):
                        category = category_for_pixels(_WIDTH[pub.height] * pub.height)
                        self.usage_record(f"p{j}-rec{k}", pub.user_id, 2, category, start, seconds)

    def usage_record(
        self, suffix: str, user: str, kind: int, category: str, start: int, seconds: int
    ) -> None:
        message = pb.UsageRecord(
            record_id=f"{self.plan.key}-{suffix}",
            sdk_app_id=self.app,
            user_id=user,
            kind=kind,  # type: ignore[arg-type]
            category=_CATEGORY[category],  # type: ignore[arg-type]
            start_time=_stamp(start),
            seconds=seconds,
            **self.room,
        )
        self.items.append(Item(start + seconds * _SECOND, USAGE, message))

    # -- quality samples (R20) ---------------------------------------------------------------

    def samples(self, downstreams: list[tuple[Stay, Publish, int, int]]) -> None:
        for pub in self.plan.publishes:
            eps = [e for e in self.episodes.get(pub.user_id, []) if e[2] in _UP_KINDS]
            self.stream(pub, "", micros(pub.start), micros(pub.end), eps, pub.user_id)
        for stay, pub, start, end in downstreams:
            receiver = stay.person.user_id
            eps = [e for e in self.episodes.get(pub.user_id, []) if e[2] in _SENDER_KINDS]
            eps += [e for e in self.episodes.get(receiver, []) if e[2] in _RECEIVER_KINDS]
            self.stream(pub, pub.user_id, start, end, eps, receiver)

    def stream(
        self,
        pub: Publish,
        peer: str,
        start: int,
        end: int,
        eps: list[tuple[int, int, str, float]],
        reporter: str,
    ) -> None:
        rng, person, sender = self.rng, self.people[reporter], self.people[pub.user_id]
        up = not peer
        base: dict[str, Any] = {
            "sdk_app_id": self.app,
            "user_id": reporter,
            "peer_id": peer,
            "media": pub.media,
            **self.room,
        }
        if self.tick != 2 * _SECOND:
            base["interval"] = Duration(seconds=self.tick // _SECOND, nanos=self.tick % _SECOND * 1000)
        rtt0 = _RTT.get(person.country, 50) + rng.uniform(-8, 20)
        volume0 = rng.uniform(45, 75)
        fps0 = _SCREEN_FPS if pub.media == SCREEN else _FPS.get(sender.platform, 30)
        kbps0 = (_SCREEN_KBPS if pub.media == SCREEN else _VIDEO_KBPS[pub.height]) if pub.height else 48
        make: Callable[..., qpb.QualitySample] = qpb.QualitySample
        items, tick = self.items, self.tick
        t, k = start + tick, 0
        while t <= end:
            k += 1
            loss, kbps, fps, rtt = rng.expovariate(3.0), kbps0 * rng.uniform(0.92, 1.08), fps0, rtt0
            cpu, app_cpu, task, stall = (
                person.cpu_base + rng.uniform(-4, 4),
                rng.uniform(6, 14),
                rng.uniform(4, 25),
                0,
            )
            if pub.media == SCREEN and k % _GOP_TICKS == 0:
                kbps *= 2.5  # a key frame every GOP (R20: periodic peaks on screen share)
            for kind, sev in _active(eps, t) if eps else ():
                if kind in ("loss_up", "loss_down"):
                    burst = 5 + 20 * sev
                    loss += burst if up or kind == "loss_down" else 0.6 * burst
                    rtt *= 1 + 2 * sev
                    kbps *= 1 - 0.3 * sev
                elif kind == "bitrate":
                    kbps *= 1 - 0.7 * sev
                elif kind == "capture":
                    fps = max(1, round(fps * (1 - 0.8 * sev)))
                elif kind == "cpu":
                    cpu, app_cpu, task = 86 + 12 * sev, 40 + 25 * sev, 60 + 120 * sev
                elif kind == "stall" and not up:
                    fps = max(0, round(fps * (1 - 0.9 * sev)))
                    stall = round((600 + 1400 * sev) if pub.media != AUDIO else (200 + 600 * sev))
            loss = min(loss, 100.0)
            values: dict[str, Any] = {
                "packet_loss_percent": round(loss, 2),
                "bitrate_kbps": round(kbps),
                "rtt_ms": round(rtt),
                "system_cpu_percent": round(min(cpu, 100.0), 1),
                "app_cpu_percent": round(min(app_cpu, cpu, 100.0), 1),
                "sdk_task_time_ms": round(task),
            }
            if not up:
                if loss > 10 and not stall:
                    stall = round(200 + 40 * loss)
                values["stall_ms"] = min(stall, tick // 1000)
            if pub.media == AUDIO:
                values["volume_db"] = round(volume0 + rng.uniform(-3, 3))
            else:
                values["width"], values["height"] = (_WIDTH[pub.height], pub.height)
                if up:
                    values["capture_fps"], values["encode_fps"] = fps, max(0, fps - rng.randint(0, 1))
                else:
                    shown = max(0, fps - rng.randint(0, 2)) if stall < 600 else min(fps, 6)
                    values["decode_fps"], values["render_fps"] = fps, shown
            items.append(Item(t, SAMPLE, make(sample_time=_stamp(t), **base, **values)))
            t += tick


def _chunks(start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` in pieces of at most 5 minutes: (start, whole seconds >= 1)."""
    out = []
    while end - start >= _SECOND:
        length = min(_USAGE_CHUNK, end - start)
        out.append((start, length // _SECOND))
        start += length
    return out


def _downstreams(plan: CallPlan) -> list[tuple[Stay, Publish, int, int]]:
    """Every (receiving stay, sender's stream, start, end): a user receives every stream of the
    others while both are there, from half a second after both began."""
    found = []
    for stay in plan.stays:
        for pub in plan.publishes:
            if pub.user_id == stay.person.user_id:
                continue
            start = max(micros(stay.enter), micros(pub.start)) + _SECOND // 2
            end = min(micros(stay.leave), micros(pub.end))
            if end - start >= 2 * _SECOND:
                found.append((stay, pub, start, end))
    return found


def call_items(plan: CallPlan, sdk_app_id: int, tick_us: int = 2 * _SECOND) -> list[Item]:
    """Every record of ``plan``, in the order they are due (ties in a fixed order)."""
    builder = _Builder(plan, sdk_app_id, tick_us)
    downstreams = _downstreams(plan)
    builder.room_events()
    builder.client_events(downstreams)
    builder.usage()
    builder.samples(downstreams)
    builder.items.sort(key=lambda item: item.due)  # stable: equal instants keep their order
    return builder.items
