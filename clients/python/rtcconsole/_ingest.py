"""IngestClient: the typed async client of ``rtcconsole.v1.IngestService`` (the data plane)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import grpc

from rtcconsole._transport import DEFAULT_TIMEOUT, ResponseStream, Transport, connect
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_pb2
from rtcconsole.v1 import room_control_pb2 as control_pb

if TYPE_CHECKING:
    from rtcconsole.v1.ingest_service_pb2_grpc import IngestServiceAsyncStub

__all__ = ["WATCH_TIMEOUT", "Batches", "IngestClient"]

WATCH_TIMEOUT = 365 * 24 * 3600.0
"""Default deadline of :meth:`IngestClient.watch_room_commands`, in seconds: a year (a watch stays open)."""

_Record = TypeVar("_Record")
_Message = TypeVar("_Message")

Batches: TypeAlias = Iterable[Iterable[_Record]] | AsyncIterable[Iterable[_Record]]
"""Batches of records, each sent as one message of a stream: ``[[e1, e2], [e3]]``, or an
async generator that yields lists (read a file, wait for more, …)."""


async def _messages(
    batches: Batches[_Record], wrap: Callable[[Iterable[_Record]], _Message]
) -> AsyncIterator[_Message]:
    if isinstance(batches, AsyncIterable):
        async for batch in batches:
            yield wrap(batch)
    else:
        for batch in batches:
            yield wrap(batch)


class IngestClient:
    """The data plane's door: media servers report room events, second-level usage, quality
    samples and client events.

    Every call carries ``authorization: Bearer <data-plane token>`` (the server's
    ``--data-plane-token``, env ``RTC_DATA_PLANE_TOKEN``), has a deadline (``timeout``,
    30 s by default, for a stream the whole stream) and raises :mod:`rtcconsole.errors`
    on failure (an account API key here is ``PermissionDenied``, an unknown token
    ``Unauthenticated``). Every record carries its own id, so a retry is counted once.

    Example::

        async with await IngestClient.connect(target, data_plane_token=token) as ingest:
            tally = await ingest.stream_events(batches_of_room_events)
            print(tally.accepted, tally.duplicates, tally.rejected)

    Why a client of its own rather than ``RtcConsole.ingest``: :class:`~rtcconsole.client.RtcConsole`
    is one *account* (every call carries its API key, and an API key is refused here),
    while the data plane is no account. Media servers hold the data-plane token, never an
    API key, and call nothing else. So IngestClient takes that token and owns its channel
    the same way (:meth:`connect`, :meth:`close`, ``async with``), or is built on a channel
    of yours (which may be the one an ``RtcConsole`` uses).
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        data_plane_token: str,
        timeout: float | None = DEFAULT_TIMEOUT,
        owns_channel: bool = False,
    ) -> None:
        """Use ``channel`` (closed by :meth:`close` only if ``owns_channel``).

        ``data_plane_token`` must not be empty (surrounding spaces are dropped; it is
        never printed); ``timeout`` is the default deadline of every call, in seconds
        (``None``: none).
        """
        self.channel = channel
        """The ``grpc.aio`` channel every call goes through."""
        self._transport = Transport(channel, data_plane_token=data_plane_token, timeout=timeout)
        self._stub: IngestServiceAsyncStub = pb_grpc.IngestServiceStub(channel)
        self._owns_channel = owns_channel

    @classmethod
    async def connect(
        cls,
        target: str,
        *,
        data_plane_token: str,
        secure: bool = False,
        root_certificates: bytes | None = None,
        certificate_chain: bytes | None = None,
        private_key: bytes | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (each call's deadline, not connect's)
        wait_ready: bool = False,
        options: Sequence[tuple[str, Any]] = (),
    ) -> IngestClient:
        """Open a channel to ``target`` (``host:port``) and return a client that owns it.

        As :meth:`RtcConsole.connect <rtcconsole.client.RtcConsole.connect>`: ``secure``
        uses TLS (system roots unless ``root_certificates``, PEM); ``certificate_chain``
        and ``private_key`` are the client certificate a server with ``--tls-client-ca``
        requires on its data-plane listener; ``timeout`` is the
        default deadline of every call, in seconds (30; ``None``: none); the channel
        connects lazily, and with ``wait_ready`` this waits for the connection (at most
        ``timeout``) and raises :class:`~rtcconsole.errors.Unavailable`. ``options`` are
        gRPC channel arguments. A malformed token raises ``ValueError``.
        """

        def build(channel: grpc.aio.Channel) -> IngestClient:
            return cls(channel, data_plane_token=data_plane_token, timeout=timeout, owns_channel=True)

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

    async def __aenter__(self) -> IngestClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"IngestClient({self._transport!r})"

    # Room and media events (R15)

    async def report_events(
        self, events: Iterable[pb.RoomEvent], *, rpc_timeout: float | None = None
    ) -> pb.ReportEventsResponse:
        """Store one batch of at most 5,000 events, all or nothing; ``accepted`` and ``duplicates``.

        An invalid event raises :class:`~rtcconsole.errors.InvalidArgument` (one field
        violation ``events[i].…`` per problem), an id reused with another payload
        :class:`~rtcconsole.errors.AlreadyExists`; then nothing of the batch is stored.
        An event already stored with the same payload (a retry) counts as a duplicate.
        ``rpc_timeout`` (seconds) overrides the client's deadline for this call.
        """
        request = pb.ReportEventsRequest(events=events)
        return await self._transport.unary(self._stub.ReportEvents, request, rpc_timeout)

    async def stream_events(
        self, batches: Batches[pb.RoomEvent], *, rpc_timeout: float | None = None
    ) -> pb.StreamEventsResponse:
        """Send ``batches`` (each at most 5,000 events) on one stream; the tally of the whole stream.

        Each batch is committed before the next is read. Problems are reported per
        event in the response rather than raised (the stream goes on): ``rejected``
        counts them and ``rejections`` lists the first 1,000, each with its ``index``
        in the stream (from 0 across batches). The deadline (``rpc_timeout``, else the
        client's) covers the whole stream.
        """
        requests = _messages(batches, lambda batch: pb.StreamEventsRequest(events=batch))
        return await self._transport.stream_unary(self._stub.StreamEvents, requests, rpc_timeout)

    # Second-level usage (R16)

    async def report_usage(
        self, records: Iterable[pb.UsageRecord], *, rpc_timeout: float | None = None
    ) -> pb.ReportUsageResponse:
        """Store one batch of at most 5,000 usage records, all or nothing, like :meth:`report_events`.

        Acknowledged only once committed. Each record counts once per
        ``(sdk_app_id, record_id)``, whole, in the UTC 5-minute window that holds its
        ``start_time`` (from 35 days ago to 5 minutes ahead of the server's clock);
        ``seconds`` is 1-86,400.
        """
        request = pb.ReportUsageRequest(records=records)
        return await self._transport.unary(self._stub.ReportUsage, request, rpc_timeout)

    async def stream_usage(
        self, batches: Batches[pb.UsageRecord], *, rpc_timeout: float | None = None
    ) -> pb.StreamUsageResponse:
        """Send ``batches`` (each at most 5,000 records) on one stream; the tally.

        As :meth:`stream_events`: each batch is committed before the next is read, problems
        are reported per record (``rejected``, ``rejections``), and the deadline covers
        the whole stream.
        """
        requests = _messages(batches, lambda batch: pb.StreamUsageRequest(records=batch))
        return await self._transport.stream_unary(self._stub.StreamUsage, requests, rpc_timeout)

    # Quality samples (R20)

    async def report_quality(
        self, samples: Iterable[quality_pb2.QualitySample], *, rpc_timeout: float | None = None
    ) -> pb.ReportQualityResponse:
        """Store one batch of at most 5,000 quality samples, all or nothing, like :meth:`report_events`.

        A sample is identified by (sdk_app_id, room, user_id, peer_id, media, sample_time): sent
        again with the same metrics it counts as a duplicate; with other metrics it is
        :class:`~rtcconsole.errors.AlreadyExists` and the first is kept. An invalid sample raises
        :class:`~rtcconsole.errors.InvalidArgument` (one violation ``samples[i].…`` per problem).
        Leave a metric unset when it was not measured: unset is not 0.
        """
        request = pb.ReportQualityRequest(samples=samples)
        return await self._transport.unary(self._stub.ReportQuality, request, rpc_timeout)

    async def stream_quality(
        self, batches: Batches[quality_pb2.QualitySample], *, rpc_timeout: float | None = None
    ) -> pb.StreamQualityResponse:
        """Send ``batches`` (each at most 5,000 samples) on one stream; the tally.

        As :meth:`stream_events`: each batch is committed before the next is read, problems
        are reported per sample (``rejected``, ``rejections``, each ``id`` the sample's
        ``sample_id``), and the deadline covers the whole stream.
        """
        requests = _messages(batches, lambda batch: pb.StreamQualityRequest(samples=batch))
        return await self._transport.stream_unary(self._stub.StreamQuality, requests, rpc_timeout)

    # Client events (R20) and abnormal events (R21)

    async def report_client_events(
        self, events: Iterable[quality_pb2.ClientEvent], *, rpc_timeout: float | None = None
    ) -> pb.ReportClientEventsResponse:
        """Store one batch of at most 5,000 client events, all or nothing, like :meth:`report_events`
        (each counted once per ``(sdk_app_id, event_id)``)."""
        request = pb.ReportClientEventsRequest(events=events)
        return await self._transport.unary(self._stub.ReportClientEvents, request, rpc_timeout)

    async def stream_client_events(
        self, batches: Batches[quality_pb2.ClientEvent], *, rpc_timeout: float | None = None
    ) -> pb.StreamClientEventsResponse:
        """Send ``batches`` (each at most 5,000 client events) on one stream; the tally, as
        :meth:`stream_events`."""
        requests = _messages(batches, lambda batch: pb.StreamClientEventsRequest(events=batch))
        return await self._transport.stream_unary(self._stub.StreamClientEvents, requests, rpc_timeout)

    # Room control (R7)

    def watch_room_commands(
        self,
        *,
        sdk_app_ids: Iterable[int] = (),
        server_name: str = "",
        rpc_timeout: float | None = WATCH_TIMEOUT,
    ) -> ResponseStream[control_pb.WatchRoomCommandsResponse]:
        """Hold ``WatchRoomCommands`` open: every open room command (DismissRoom, RemoveUsers) of
        ``sdk_app_ids`` (empty: every app), oldest first, then each new one, until the server
        shuts down (the stream then ends) or the caller leaves ``async with``.

        Every watcher gets every command; skip rooms this server does not host, act on each
        ``command_id`` once (a command still open is sent again after a reconnect), and report
        the resulting ROOM_DISMISSED / USER_EXITED events with ``command_id`` set: they
        acknowledge the command. ``server_name`` is shown as the command's ``delivered_to``.

        Example::

            async with ingest.watch_room_commands(server_name="edge-1") as stream:
                async for response in stream:
                    carry_out(response.command)
        """
        request = control_pb.WatchRoomCommandsRequest(sdk_app_ids=list(sdk_app_ids), server_name=server_name)
        return self._transport.unary_stream(self._stub.WatchRoomCommands, request, rpc_timeout)
