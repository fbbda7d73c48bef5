"""The fast screen (api/limits_screen.py) agrees with the full walk (api/limits.py) on every
request type of the contract: a request it passes has no violation, one it holds back has one.

The requests come from the fuzzer's schema (tests/fuzz/schema.py: edge values sized by the
declared caps, over the limits and within them), and each is also tried with every one-field
variant (one bad value at a time), so both answers of the screen are reached for every type.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import quality_pb2
from rtcconsole_server.api import limits
from rtcconsole_server.api.limits_plan import plan_of
from rtcconsole_server.api.limits_screen import within_limits
from tests.fuzz.schema import Schema, Targets, discover_services, variants

METHODS: list[MethodDescriptor] = [method for service in discover_services() for method in service.methods]
SCHEMA = Schema(Targets(now=datetime(2026, 12, 1, tzinfo=UTC), sdk_app_ids=(1400000001,)))


def _walked(message: Message) -> list[object]:
    """The full walk alone, without the screen in front of it."""
    out = limits._Collector()
    limits._walk(message, "", out)
    return list(out.violations)


def _agree(message: Message) -> bool:
    screened = within_limits(message)
    assert screened == (not _walked(message)), message
    return screened


@pytest.mark.parametrize("method", METHODS, ids=lambda method: method.full_name)
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_screen_agrees_with_the_walk(method: MethodDescriptor, data: st.DataObject) -> None:
    request = data.draw(SCHEMA.message(method.input_type))
    _agree(request)
    for _path, variant in variants(request):
        _agree(variant)


def test_screen_answers_both_ways_on_a_hot_request() -> None:
    """A batch of events within the limits passes; each kind of breach holds it back."""
    good = ingest_pb.StreamEventsRequest(
        events=[
            ingest_pb.RoomEvent(event_id=f"e{n}", sdk_app_id=1400000001, room_id=7, user_id="u")
            for n in range(3)
        ]
    )
    assert _agree(good)
    breaches: dict[str, Callable[[ingest_pb.StreamEventsRequest], object]] = {
        "too long": lambda r: setattr(r.events[1], "user_id", "u" * 129),
        "NUL": lambda r: setattr(r.events[2], "user_id", "a\x00b"),
        "uint64": lambda r: setattr(r.events[0], "sdk_app_id", limits.UINT64_MAX_ACCEPTED + 1),
        "timestamp": lambda r: setattr(r.events[0].event_time, "nanos", -1),
        "items": lambda r: r.events.extend(r.events[0] for _ in range(5000)),
    }
    for name, breach in breaches.items():
        request = ingest_pb.StreamEventsRequest()
        request.CopyFrom(good)
        breach(request)
        assert not _agree(request), name


def test_screen_checks_map_keys_and_values() -> None:
    """The one map of the contract (client event parameters): key and value caps, NUL in either."""
    field = quality_pb2.ClientEvent.DESCRIPTOR.fields_by_name["parameters"]
    plan = plan_of(field)
    fine = quality_pb2.ClientEvent(parameters={"k": "v"})
    assert _agree(fine)
    for parameters in (
        {"k" * (plan.map_key_max_len + 1): "v"},
        {"k": "v" * (plan.map_value_max_len + 1)},
        {"a\x00": "v"},
        {"k": "\x00"},
    ):
        assert not _agree(quality_pb2.ClientEvent(parameters=parameters)), parameters
