"""What a client event is: R20's client events and R21's abnormal events, with their peers.

A client event is what a user's SDK saw happen (entered the room, turned the camera
on, switched networks) or an abnormal event it raised (R21: its CPU too high, a capture
or render frame rate abnormal). It is identified by (sdk_app_id, event_id), as a room
event is. ``peer_id`` names the remote user the event concerns: required where the
event is about another user's stream (play, the receiver's abnormal events), optional
for mute and unmute (empty: the reporter's own stream), empty for everything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rtcconsole_server.domain.common import key_violations, text_violations
from rtcconsole_server.domain.monitor._samples import MAX_ID, MEDIA_NAMES, check_peer, check_time
from rtcconsole_server.errors import FieldViolation

__all__ = [
    "ABNORMAL_EVENT_TYPES",
    "CLIENT_EVENT_TYPES",
    "MAX_PARAMETERS",
    "MAX_PARAMETER_KEY",
    "MAX_PARAMETER_VALUE",
    "ClientEventInput",
    "check_client_event",
    "client_event_form",
    "parameters_json",
]

CLIENT_EVENT_TYPES = {
    1: "ENTER_ROOM",
    2: "EXIT_ROOM",
    3: "CAMERA_ON",
    4: "CAMERA_OFF",
    5: "MICROPHONE_ON",
    6: "MICROPHONE_OFF",
    7: "DEVICE_CHANGE",
    8: "PUSH_START",
    9: "PUSH_STOP",
    10: "PLAY_START",
    11: "PLAY_STOP",
    12: "MUTE",
    13: "UNMUTE",
    14: "NETWORK_SWITCH",
    101: "SENDER_CPU_TOO_HIGH",
    102: "SENDER_CAPTURE_FPS_ABNORMAL",
    103: "RECEIVER_RENDER_FPS_ABNORMAL",
    104: "SENDER_SUBSTREAM_CAPTURE_FPS_ABNORMAL",
    105: "RECEIVER_SUBSTREAM_RENDER_FPS_ABNORMAL",
}
"""ClientEventType number → the wire's short name: R20's client events (1-14), R21's abnormal
events (101-105)."""
ABNORMAL_EVENT_TYPES = frozenset({101, 102, 103, 104, 105})
"""R21: a user who raised one in the last 10 s counts as abnormal."""
_PEER_REQUIRED = frozenset({10, 11, 103, 105})  # R20 play start / stop; R21 the receiver's abnormal events
_PEER_OPTIONAL = frozenset({12, 13})  # R20 mute / unmute: of the reporter's own stream, or of a peer's
MAX_PARAMETERS = 16
MAX_PARAMETER_KEY = 64
MAX_PARAMETER_VALUE = 256

_TYPE_RULE = (
    "must be a ClientEventType: a client event, ENTER_ROOM to NETWORK_SWITCH (1-14), or an abnormal "
    "event, SENDER_CPU_TOO_HIGH to RECEIVER_SUBSTREAM_RENDER_FPS_ABNORMAL (101-105)"
)
"""Within the 200 characters a status keeps of one description (``api/errors.py``)."""


@dataclass(frozen=True, slots=True)
class ClientEventInput:
    """One client event as the data plane sends it (``ClientEvent`` in quality.proto).

    ``room_key`` is ``n:<id>``, ``s:<id>`` or empty; ``event_time`` is None when it was not
    sent; ``event_type`` and ``media`` are the ClientEventType and MediaKind numbers.
    """

    event_id: str
    sdk_app_id: int
    room_key: str
    user_id: str
    peer_id: str
    event_type: int
    event_time: datetime | None
    media: int = 0
    parameters: Mapping[str, str] = field(default_factory=dict)


def check_client_event(event: ClientEventInput, now: datetime) -> list[FieldViolation]:
    """Every rule ``event`` breaks; empty when it is valid at ``now`` (the server's clock)."""
    problems = text_violations(event.event_id, "event_id", min_len=1, max_len=MAX_ID)
    if event.sdk_app_id == 0:
        problems.append(FieldViolation("sdk_app_id", "is required"))
    problems += key_violations(event.room_key)
    problems += text_violations(event.user_id, "user_id", min_len=1, max_len=MAX_ID)
    known_type = event.event_type in CLIENT_EVENT_TYPES
    if not known_type:
        problems.append(FieldViolation("type", _TYPE_RULE))
    peer = check_peer(event.peer_id, event.user_id)
    if not peer and known_type:
        name = CLIENT_EVENT_TYPES[event.event_type]
        if event.event_type in _PEER_REQUIRED and not event.peer_id:
            peer.append(FieldViolation("peer_id", f"is required with {name} (whose stream)"))
        elif event.peer_id and event.event_type not in _PEER_REQUIRED | _PEER_OPTIONAL:
            peer.append(FieldViolation("peer_id", f"must be empty with {name} (it concerns no peer)"))
    problems += peer
    if event.media != 0 and event.media not in MEDIA_NAMES:
        problems.append(FieldViolation("media", "must be a MediaKind (VIDEO, AUDIO, SCREEN_SHARE) or unset"))
    problems += check_time(event.event_time, "event_time", now)
    problems += _parameter_violations(event.parameters)
    return problems


def _parameter_violations(parameters: Mapping[str, str]) -> list[FieldViolation]:
    if len(parameters) > MAX_PARAMETERS:
        return [FieldViolation("parameters", f"must hold at most {MAX_PARAMETERS} entries")]
    problems: list[FieldViolation] = []
    for key in sorted(parameters):
        named = text_violations(key, "parameters", min_len=1, max_len=MAX_PARAMETER_KEY)
        if named:
            problems.append(FieldViolation("parameters", f"keys {named[0].description}"))
            continue
        path = f"parameters[{json.dumps(key, ensure_ascii=False)}]"
        problems += text_violations(parameters[key], path, max_len=MAX_PARAMETER_VALUE)
    return problems


def parameters_json(parameters: Mapping[str, str]) -> str:
    """The parameters as stored: a compact JSON object with sorted keys (``{}`` when none)."""
    if not parameters:
        return "{}"
    return json.dumps(dict(sorted(parameters.items())), ensure_ascii=False, separators=(",", ":"))


def client_event_form(
    *,
    room_key: str,
    user_id: str,
    peer_id: str,
    event_type: int,
    media: int,
    event_time: datetime,
    parameters: Mapping[str, str],
) -> dict[str, object]:
    """The payload a retry must repeat, by proto field name (time to the microsecond)."""
    return {
        "room": room_key,
        "user_id": user_id,
        "peer_id": peer_id,
        "type": event_type,
        "media": media,
        "event_time": event_time,
        "parameters": dict(sorted(parameters.items())),
    }
