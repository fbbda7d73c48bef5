"""The client and ``rtcctl auth keys list`` follow ListApiKeys pages (issue 10 §5), against the fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from rtcconsole import RtcConsole
from rtcconsole.cli import amain
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from tests.client.fake import FakeConsole

KEY = "rtc_test_key_123"

FIRST = auth_pb.ListApiKeysResponse(
    keys=[
        auth_pb.ApiKey(key_id="k1", display_name="initial"),
        auth_pb.ApiKey(key_id="k2", display_name="ci"),
    ],
    next_page_token="p2",
)
LAST = auth_pb.ListApiKeysResponse(keys=[auth_pb.ApiKey(key_id="k3", display_name="deploy")])


@pytest.fixture
async def console(fake: FakeConsole) -> AsyncIterator[RtcConsole]:
    async with await RtcConsole.connect(fake.target, api_key=KEY, timeout=5) as console:
        yield console


async def test_list_api_keys_sends_the_page(fake: FakeConsole, console: RtcConsole) -> None:
    fake.reply("ListApiKeys", FIRST)
    page = await console.auth.list_api_keys(page_size=2, page_token="p1")
    assert page.next_page_token == "p2"
    [request] = fake.requests("ListApiKeys")
    assert (request.page_size, request.page_token) == (2, "p1")


async def test_iter_api_keys_follows_the_pages(fake: FakeConsole, console: RtcConsole) -> None:
    fake.reply("ListApiKeys", FIRST, LAST)
    ids = [key.key_id async for key in console.auth.iter_api_keys(page_size=2)]
    assert ids == ["k1", "k2", "k3"]
    assert [r.page_token for r in fake.requests("ListApiKeys")] == ["", "p2"]
    assert [r.page_size for r in fake.requests("ListApiKeys")] == [2, 2]


async def test_rtcctl_lists_every_key_of_every_page(
    fake: FakeConsole, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.reply("ListApiKeys", FIRST, LAST)
    status = await amain(["--target", fake.target, "--api-key", KEY, "auth", "keys", "list", "--json"])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    listed = json.loads(out)
    assert [k["key_id"] for k in listed["keys"]] == ["k1", "k2", "k3"]
    assert listed["next_page_token"] == ""
    assert len(fake.requests("ListApiKeys")) == 2
