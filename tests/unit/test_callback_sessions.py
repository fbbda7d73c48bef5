"""TRTC's session fields of ``EventInfo`` (decision 0018): platform mapping, UniqueId, order, parsing."""

from __future__ import annotations

import ast
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rtcconsole import callbacks
from rtcconsole.callbacks import TERMINAL_TYPES, USER_TYPES, parse_event
from rtcconsole_server.domain.callbacks import callback_body, event_info
from rtcconsole_server.domain.callbacks._sessions import PLATFORMS, client_types, fold_platform, unique_id

WHEN = datetime(2026, 5, 4, 3, 2, 1, 987_654, tzinfo=UTC)


@pytest.mark.parametrize(
    ("platform", "terminal_type", "user_type"),
    [
        ("ios", 3, 3),
        ("iPadOS", 3, 3),
        ("android", 2, 3),
        ("Android", 2, 3),
        ("windows", 1, 3),
        ("linux", 4, 3),
        ("mac", 100, 3),  # TRTC's table has no macOS: other
        ("macOS", 100, 3),
        ("web", 100, 1),
        ("WebRTC", 100, 1),
        ("flutter", 100, 3),  # cross-platform SDKs: native, but the OS is not named
        ("electron", 100, 3),
        ("unity", 100, 3),
        ("react-native", 100, 3),
        ("React_Native", 100, 3),
        ("miniprogram", 100, 2),
        ("wechat", 100, 2),
        ("WeChat Mini-Program", 100, 2),
        ("", 100, 0),
        ("symbian", 100, 0),
        ("wïndows", 100, 0),  # folding keeps ASCII letters and digits only: no look-alikes
    ],
)
def test_a_platform_maps_to_trtcs_terminal_and_user_types(
    platform: str, terminal_type: int, user_type: int
) -> None:
    assert client_types(platform) == (terminal_type, user_type)


def test_the_table_uses_only_the_published_numbers_and_folded_keys() -> None:
    assert {t for t, _ in PLATFORMS.values()} <= set(TERMINAL_TYPES)
    assert {u for _, u in PLATFORMS.values()} <= set(USER_TYPES)
    assert all(fold_platform(key) == key for key in PLATFORMS)
    assert TERMINAL_TYPES == {1: "windows", 2: "android", 3: "ios", 4: "linux", 100: "other"}
    assert USER_TYPES == {0: "unknown", 1: "webrtc", 2: "mini_program", 3: "native_sdk"}
    assert (callbacks.TERMINAL_TYPE_IOS, callbacks.USER_TYPE_NATIVE_SDK) == (3, 3)  # TRTC's example


def test_unique_id_is_52_bits_of_sha256_of_app_and_entry_id() -> None:
    digest = hashlib.sha256(b"1400000001:enter-1").digest()
    assert unique_id(1400000001, "enter-1") == int.from_bytes(digest[:8], "big") >> 12
    ids = {unique_id(app, f"e{i}") for app in (1400000001, 1400000002) for i in range(2000)}
    assert len(ids) == 4000  # distinct per entry and per app
    assert all(0 < value < 2**52 for value in ids)  # exact in a JavaScript number
    assert unique_id(1400000001, "enter-1") == unique_id(1400000001, "enter-1")


def test_event_info_keeps_trtcs_key_order_and_writes_only_what_it_is_given() -> None:
    entered = event_info(
        room=12345,
        user_id="test",
        event_type=103,
        event_time=WHEN,
        role=1,
        reason=1,
        unique_id=77,
        terminal_type=3,
        user_type=3,
    )
    order = [
        "RoomId",
        "EventTs",
        "EventMsTs",
        "UserId",
        "UniqueId",
        "Role",
        "TerminalType",
        "UserType",
        "Reason",
    ]
    assert list(entered) == order
    exited = event_info(
        room="r",
        user_id="u",
        event_type=104,
        event_time=WHEN,
        role=1,
        reason=0,
        unique_id=77,
        terminal_type=0,
    )
    assert list(exited) == ["RoomId", "EventTs", "EventMsTs", "UserId", "UniqueId", "TerminalType", "Reason"]
    plain = event_info(room=1, user_id="u", event_type=104, event_time=WHEN, role=0, reason=0)
    assert list(plain) == ["RoomId", "EventTs", "EventMsTs", "UserId", "Reason"]


def test_the_client_package_reads_the_session_fields() -> None:
    info = event_info(
        room=1,
        user_id="u",
        event_type=103,
        event_time=WHEN,
        role=2,
        reason=0,
        unique_id=9,
        terminal_type=6,
        user_type=6,
    )
    body = callback_body(
        event_group=1, event_type=103, event_id="e", room_seq=1, event_time=WHEN, send_time=WHEN, info=info
    )
    event = parse_event(body)
    assert (event.unique_id, event.terminal_type, event.user_type) == (9, 6, 6)
    plain = parse_event(
        json.dumps(
            {"EventGroupId": 1, "EventType": 104, "CallbackTs": 1, "EventInfo": {"RoomId": 1}}
        ).encode()
    )
    assert (plain.unique_id, plain.terminal_type, plain.user_type) == (None, None, None)


def test_a_non_integer_session_field_is_refused() -> None:
    body = {"EventGroupId": 1, "EventType": 103, "CallbackTs": 1, "EventInfo": {"RoomId": 1, "UniqueId": "7"}}
    with pytest.raises(callbacks.CallbackFormatError, match="UniqueId"):
        parse_event(json.dumps(body).encode())


DOCS = Path(__file__).resolve().parents[2] / "docs" / "callbacks.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)


def test_the_docs_receiver_binds_loopback_only() -> None:
    [receiver] = [block for block in _blocks("python") if "HTTPServer(" in block]
    binds = [
        node.args[0]
        for node in ast.walk(ast.parse(receiver))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "HTTPServer"
    ]
    assert [ast.literal_eval(address) for address in binds] == [("127.0.0.1", 9000)]


def test_the_docs_example_body_has_trtcs_eventinfo_keys() -> None:
    [example] = [json.loads(block) for block in _blocks("json") if '"EventType": 103' in block]
    trtc = [
        "RoomId",
        "EventTs",
        "EventMsTs",
        "UserId",
        "UniqueId",
        "Role",
        "TerminalType",
        "UserType",
        "Reason",
    ]
    assert list(example["EventInfo"]) == trtc
    assert example["EventInfo"]["UniqueId"] == unique_id(1400000001, example["EventId"])
