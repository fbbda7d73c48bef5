"""The typed async client of rtc-console: one small class per remote service behind one facade.

Example::

    from rtcconsole import NotFound, RtcConsole

    async with await RtcConsole.connect("127.0.0.1:50051", api_key=key) as console:
        app = await console.apps.create_app(name="live_demo", description="demo")
        async for each in console.apps.iter_apps(name_contains="live"):
            print(each.sdk_app_id, each.name)
        operation = await console.apps.disable_app(app.sdk_app_id, totp_code="123456")

Every call sends ``authorization: Bearer <api key>`` metadata, has a deadline
(``timeout``, 30 s by default) and raises :mod:`rtcconsole.errors` on failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import grpc

from rtcconsole._apps import AppClient
from rtcconsole._auth import AuthClient
from rtcconsole._config import ConfigClient
from rtcconsole._transport import DEFAULT_TIMEOUT, TagLike
from rtcconsole._usage import UsageClient
from rtcconsole.errors import Unavailable

__all__ = [
    "DEFAULT_TIMEOUT",
    "AppClient",
    "AuthClient",
    "ConfigClient",
    "RtcConsole",
    "TagLike",
    "UsageClient",
]


class RtcConsole:
    """Every service client of one account over one channel.

    Build it with :meth:`connect` (which owns the channel and closes it), or
    from a channel of your own (which you close). Use it as an async context
    manager, or call :meth:`close`.
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
        self._owns_channel = owns_channel

    @classmethod
    async def connect(
        cls,
        target: str,
        *,
        api_key: str,
        secure: bool = False,
        root_certificates: bytes | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (each call's deadline, not connect's)
        wait_ready: bool = False,
        options: Sequence[tuple[str, Any]] = (),
    ) -> RtcConsole:
        """Open a channel to ``target`` (``host:port``) and return a client that owns it.

        ``secure`` uses TLS (system roots unless ``root_certificates``, PEM).
        ``timeout`` is the default deadline of every call, in seconds (``None``:
        none). The channel connects lazily; with ``wait_ready`` this waits for the
        connection (at most ``timeout``) and raises :class:`~rtcconsole.errors.Unavailable`.
        """
        if secure:
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            channel = grpc.aio.secure_channel(target, credentials, options=list(options))
        else:
            channel = grpc.aio.insecure_channel(target, options=list(options))
        try:
            console = cls(channel, api_key=api_key, timeout=timeout, owns_channel=True)
        except BaseException:
            await channel.close()
            raise
        if wait_ready:
            try:
                await asyncio.wait_for(channel.channel_ready(), timeout)
            except TimeoutError:
                await console.close()
                raise Unavailable(f"cannot reach {target} within {timeout} s") from None
        return console

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
