"""The typed async clients of rtc-console: one small class per remote service behind one facade.

Example::

    from rtcconsole import NotFound, RtcConsole

    async with await RtcConsole.connect("127.0.0.1:50051", api_key=key) as console:
        app = await console.apps.create_app(name="live_demo", description="demo")
        async for each in console.apps.iter_apps(name_contains="live"):
            print(each.sdk_app_id, each.name)
        operation = await console.apps.disable_app(app.sdk_app_id, totp_code="123456")

Every call sends ``authorization: Bearer <api key>`` metadata, has a deadline
(``timeout``, 30 s by default) and raises :mod:`rtcconsole.errors` on failure.

Media servers (the data plane) report events and usage with :class:`IngestClient`
instead, which carries the server's data-plane token rather than an account's key::

    async with await IngestClient.connect("127.0.0.1:50051", data_plane_token=token) as ingest:
        tally = await ingest.stream_events([[event_1, event_2], [event_3]])
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import grpc

from rtcconsole._apps import AppClient
from rtcconsole._auth import AuthClient
from rtcconsole._config import ConfigClient
from rtcconsole._ingest import IngestClient
from rtcconsole._monitor import MonitorClient
from rtcconsole._transport import DEFAULT_TIMEOUT, TagLike, connect
from rtcconsole._usage import UsageClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "AppClient",
    "AuthClient",
    "ConfigClient",
    "IngestClient",
    "MonitorClient",
    "RtcConsole",
    "TagLike",
    "UsageClient",
]


class RtcConsole:
    """Every service client of one account over one channel.

    Build it with :meth:`connect` (which owns the channel and closes it), or
    from a channel of your own (which you close). Use it as an async context
    manager, or call :meth:`close`. The data plane is not an account: it has
    :class:`IngestClient` of its own (its docstring says why).
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        api_key: str,
        timeout: float | None = DEFAULT_TIMEOUT,
        owns_channel: bool = False,
    ) -> None:
        self.channel = channel
        """The ``grpc.aio`` channel every service client calls through."""
        self.apps = AppClient(channel, api_key=api_key, timeout=timeout)
        """Applications, operations, tags and materials (``AppService``)."""
        self.auth = AuthClient(channel, api_key=api_key, timeout=timeout)
        """API keys, TOTP, secondary authentication and signatures (``AuthService``)."""
        self.config = ConfigClient(channel, api_key=api_key, timeout=timeout)
        """Function settings and callback deliveries (``ConfigService``)."""
        self.usage = UsageClient(channel, api_key=api_key, timeout=timeout)
        """Usage lines and billing state (``UsageService``)."""
        self.monitor = MonitorClient(channel, api_key=api_key, timeout=timeout)
        """The monitoring dashboard's quality thresholds (``MonitorService``)."""
        self._owns_channel = owns_channel

    @classmethod
    async def connect(
        cls,
        target: str,
        *,
        api_key: str,
        secure: bool = False,
        root_certificates: bytes | None = None,
        certificate_chain: bytes | None = None,
        private_key: bytes | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (each call's deadline, not connect's)
        wait_ready: bool = False,
        options: Sequence[tuple[str, Any]] = (),
    ) -> RtcConsole:
        """Open a channel to ``target`` (``host:port``) and return a client that owns it.

        ``secure`` uses TLS (system roots unless ``root_certificates``, PEM; giving
        ``root_certificates`` or a client certificate implies ``secure``);
        ``certificate_chain`` and ``private_key`` (PEM, both or neither) are a client
        certificate for mutual TLS.
        ``timeout`` is the default deadline of every call, in seconds (``None``:
        none). The channel connects lazily; with ``wait_ready`` this waits for the
        connection (at most ``timeout``) and raises :class:`~rtcconsole.errors.Unavailable`.
        """

        def build(channel: grpc.aio.Channel) -> RtcConsole:
            return cls(channel, api_key=api_key, timeout=timeout, owns_channel=True)

        return await connect(
            target,
            build,
            secure=secure,
            root_certificates=root_certificates,
            certificate_chain=certificate_chain,
            private_key=private_key,
            timeout=timeout,
            wait_ready=wait_ready,
            options=options,
        )

    async def close(self) -> None:
        """Close the channel if :meth:`connect` opened it; calls in flight are cancelled."""
        if self._owns_channel:
            await self.channel.close()

    async def __aenter__(self) -> RtcConsole:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"RtcConsole(apps={self.apps!r})"
