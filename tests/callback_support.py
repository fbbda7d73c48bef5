"""A real HTTP receiver for callbacks, and helpers to report events and set callback URLs.

:class:`Receiver` is a ``ThreadingHTTPServer`` on an ephemeral port (it keeps its
port across ``stop()``/``start()``, so a test can take it down and bring it
back). It checks every signature with the client package's helper, records what
it got, and notes any request that arrives while another one for the same
``EventId`` is still being answered (overlapping deliveries).

:class:`DripReceiver` reads a request, then answers one byte at a time (in the
status line and headers, or in the body): the receiver a per-operation timeout
never cuts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

import grpc

from rtcconsole.callbacks import CallbackEvent, parse_event, verify_signature
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole_server.domain.config import CallbackSection, encode
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import AppSetting

DATA_PLANE_TOKEN = "data-plane-test-token"
DATA_PLANE = (("authorization", f"Bearer {DATA_PLANE_TOKEN}"),)


@dataclass(frozen=True)
class Received:
    """One request the receiver answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    event: CallbackEvent
    signature_ok: bool | None
    """None when the receiver has no key (the request must then carry no ``Sign``)."""
    status: int


Responder = Callable[[str, CallbackEvent], tuple[int, float]]
"""(path, event) → (HTTP status, seconds to wait before answering)."""


def always_ok(_path: str, _event: CallbackEvent) -> tuple[int, float]:
    return 200, 0.0


class Receiver:
    """A callback receiver on 127.0.0.1; ``respond`` decides each answer."""

    def __init__(self, key: str = "", respond: Responder = always_ok) -> None:
        self.key = key
        self.respond = respond
        self.answer = b"ok"
        """The body of every answer."""
        self.received: list[Received] = []
        self.overlaps: list[str] = []
        self.port = 0
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/callback", *, host: str = "127.0.0.1") -> str:
        """The URL of ``path``; ``host`` may name 127.0.0.1 another way (``2130706433``, ``localhost``)."""
        return f"http://{host}:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler, bind_and_activate=False)
        server.allow_reuse_address = True
        server.daemon_threads = True
        server.server_bind()
        server.server_activate()
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(5)
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        headers = {k: v for k, v in request.headers.items()}
        event = parse_event(body)
        signature_ok = verify_signature(self.key, body, headers.get("Sign", "")) if self.key else None
        with self._lock:
            if self._in_flight[event.event_id]:
                self.overlaps.append(event.event_id)
            self._in_flight[event.event_id] += 1
        try:
            status, delay = self.respond(request.path, event)
            with self._lock:  # recorded on arrival, so the list is in arrival order
                self.received.append(Received(request.path, headers, body, event, signature_ok, status))
            if delay:
                time.sleep(delay)
            with contextlib.suppress(OSError):
                request.send_response(status)
                request.send_header("Content-Type", "text/plain")
                request.send_header("Content-Length", str(len(self.answer)))
                request.end_headers()
                request.wfile.write(self.answer)
        finally:
            with self._lock:
                self._in_flight[event.event_id] -= 1

    def events(self, *, path: str | None = None, ok_only: bool = True) -> list[CallbackEvent]:
        """Events received (answered 200 when ``ok_only``), in arrival order."""
        with self._lock:
            return [
                r.event
                for r in self.received
                if (path is None or r.path == path) and (not ok_only or r.status == 200)
            ]


class DripReceiver:
    """Answers HTTP 200 one byte every ``interval`` seconds, after reading the request.

    ``phase`` "headers" drips the whole answer from its first byte (no status line for a
    long time); "body" sends the status and headers at once, then drips a 100-byte body.
    Counts connections, answers sent in full (``finished``) and answers cut because the
    client went away (``cut``)."""

    def __init__(self, *, phase: str = "headers", interval: float = 0.1) -> None:
        assert phase in ("headers", "body")
        self.phase = phase
        self.interval = interval
        self.connections = 0
        self.finished = 0
        self.cut = 0
        self.port = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def url(self, path: str = "/drip") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Self:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.05)
        self._listener = listener
        self.port = listener.getsockname()[1]
        accepting = threading.Thread(target=self._accept, daemon=True)
        accepting.start()
        self._threads.append(accepting)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(5)
        assert self._listener is not None
        self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._answer, args=(connection,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _answer(self, connection: socket.socket) -> None:
        body = b"x" * 100
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        with connection:
            try:
                connection.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                headers, _, rest = request.partition(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":", 1)[1]) for line in headers.split(b"\r\n")
                     if line.lower().startswith(b"content-length:")),
                    0,
                )  # fmt: skip
                while len(rest) < length:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    rest += chunk
                answer = head + body
                if self.phase == "body":
                    connection.sendall(head)
                    answer = body
                for index in range(len(answer)):
                    if self._stopping.wait(self.interval):
                        return
                    connection.sendall(answer[index : index + 1])
                with self._lock:
                    self.finished += 1
            except OSError:  # the client hung up mid-answer
                with self._lock:
                    self.cut += 1


def set_callback_in_store(
    store: Store,
    sdk_app_id: int,
    *,
    key: str = "",
    room_event_url: str = "",
    media_event_url: str = "",
    now: datetime,
) -> None:
    """Put callback settings in effect straight on the store (what ConfigService.SetCallback does, R15)."""
    section = CallbackSection(key=key, room_event_url=room_event_url, media_event_url=media_event_url)
    with store.write() as session:
        session.merge(
            AppSetting(
                sdk_app_id=sdk_app_id,
                section="callback",
                effective=encode(section),
                pending=None,
                pending_effective_at=None,
                updated_at=now,
            )
        )


async def set_callback(
    store: Store,
    sdk_app_id: int,
    *,
    now: datetime,
    key: str = "",
    room_event_url: str = "",
    media_event_url: str = "",
) -> None:
    await asyncio.to_thread(
        set_callback_in_store,
        store,
        sdk_app_id,
        key=key,
        room_event_url=room_event_url,
        media_event_url=media_event_url,
        now=now,
    )


def room_event(
    event_id: str,
    sdk_app_id: int,
    *,
    at: datetime,
    room: int | str = 1234,
    user: str = "alice",
    type: pb.EventType.ValueType = pb.EVENT_TYPE_USER_ENTERED,
    role: pb.Role.ValueType = pb.ROLE_ANCHOR,
    reason: int = 0,
    session: pb.SessionAttributes | None = None,
) -> pb.RoomEvent:
    """A RoomEvent proto; ``room`` an int is a numeric room, a str a string room."""
    event = pb.RoomEvent(
        event_id=event_id,
        sdk_app_id=sdk_app_id,
        user_id=user,
        type=type,
        role=role,
        reason=reason,
    )
    if isinstance(room, int):
        event.room_id = room
    else:
        event.str_room_id = room
    event.event_time.FromDatetime(at)
    if session is not None:
        event.session.CopyFrom(session)
    return event


def ingest_stub(channel: grpc.aio.Channel) -> pb_grpc.IngestServiceAsyncStub:
    return pb_grpc.IngestServiceStub(channel)


async def report(channel: grpc.aio.Channel, events: list[pb.RoomEvent]) -> pb.ReportEventsResponse:
    """ReportEvents with the data-plane token."""
    return await ingest_stub(channel).ReportEvents(pb.ReportEventsRequest(events=events), metadata=DATA_PLANE)


async def stream(channel: grpc.aio.Channel, batches: list[list[pb.RoomEvent]]) -> pb.StreamEventsResponse:
    """StreamEvents with the data-plane token, one message per batch."""

    async def requests() -> AsyncIterator[pb.StreamEventsRequest]:
        for batch in batches:
            yield pb.StreamEventsRequest(events=batch)

    return await ingest_stub(channel).StreamEvents(requests(), metadata=DATA_PLANE)
