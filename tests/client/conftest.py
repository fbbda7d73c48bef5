"""Fixtures of the client tests: a scripted fake server (no database, no real server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from tests.client.fake import FakeConsole


@pytest.fixture
async def fake() -> AsyncIterator[FakeConsole]:
    """A :class:`FakeConsole` listening on an ephemeral loopback port."""
    server = grpc.aio.server()
    console = FakeConsole()
    server.add_generic_rpc_handlers(console.handlers())
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    console.target = f"127.0.0.1:{port}"
    yield console
    await server.stop(None)
