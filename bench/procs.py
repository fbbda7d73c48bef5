"""Run a gRPC server command as a subprocess for the length of a benchmark.

``subprocess_server(argv, ready_port_from=...)`` starts the command in its own
session (process group), learns its port, waits until a gRPC channel to it is
READY, yields a ``ServerProcess``, and on exit sends SIGTERM to the group and
waits (SIGKILL after ``stop_timeout_s``). The subject server and the baselines
all run this way, so every figure is "load generator in the bench process,
server in another process".

The port comes from ``ready_port_from``:

* an ``int``: the caller chose the port (see ``free_port()``) and put it in ``argv``;
* a ``str`` or compiled regex: matched against each line the server writes to
  stdout *or* stderr; group ``port`` (or else group 1) is the port. Use this
  with servers that bind port 0 and print the port they got (race-free). A
  Python server printing to stdout must flush (``print(..., flush=True)``),
  because a piped stdout is block-buffered.

Both output streams are drained for the whole life of the process (a full pipe
would block the server); their last lines are kept for error messages.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import signal
import socket
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

__all__ = ["PortSource", "ServerProcess", "free_port", "subprocess_server"]

_log = logging.getLogger(__name__)

PortSource = int | str | re.Pattern[str]
"""A fixed port, or a regex whose group ``port`` (or group 1) captures it from the output."""

_TAIL_LINES = 40
_STREAM_LIMIT = 1 << 20  # longest line kept whole (bytes)
_READY_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 250),
]


@dataclass(frozen=True)
class ServerProcess:
    """A running server subprocess."""

    target: str
    """gRPC target to dial, ``"HOST:PORT"``."""
    port: int
    """TCP port the server listens on."""
    pid: int
    """Process id (also the process-group id: the server runs in its own session)."""
    argv: tuple[str, ...]
    """The command that was started."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago on ``host``.

    Another process may take it before the server binds it; prefer a server
    that binds port 0 and prints its port (``ready_port_from=<regex>``).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _Output:
    """Drains one subprocess pipe, keeps its tail, and looks for the port line."""

    def __init__(self, tail: collections.deque[str], pattern: re.Pattern[str] | None) -> None:
        self._tail = tail
        self._pattern = pattern
        self.port: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def pump(self, stream: asyncio.StreamReader, name: str) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than _STREAM_LIMIT: take a chunk
                raw = await stream.read(_STREAM_LIMIT)
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\r\n")
            self._tail.append(f"[{name}] {line}")
            _log.debug("server %s: %s", name, line)
            if self._pattern is not None and not self.port.done():
                match = self._pattern.search(line)
                if match:
                    group = "port" if "port" in self._pattern.groupindex else 1
                    self.port.set_result(int(match.group(group)))


def _failure(message: str, argv: Sequence[str], tail: collections.deque[str]) -> str:
    output = "\n".join(tail) or "(no output)"
    return f"{message}: {' '.join(argv)}\n--- last output ---\n{output}"


async def _race(aw: asyncio.Future[Any], exited: asyncio.Task[int], timeout_s: float) -> bool:
    """Wait for ``aw``; False if the process exited first; TimeoutError after ``timeout_s``."""
    done, _ = await asyncio.wait(
        {aw, exited}, timeout=max(timeout_s, 0.0), return_when=asyncio.FIRST_COMPLETED
    )
    if aw in done:
        aw.result()
        return True
    if exited in done:
        return False
    raise TimeoutError


@contextlib.asynccontextmanager
async def subprocess_server(
    argv: Sequence[str],
    *,
    ready_port_from: PortSource,
    host: str = "127.0.0.1",
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    ready_timeout_s: float = 30.0,
    stop_timeout_s: float = 10.0,
) -> AsyncIterator[ServerProcess]:
    """Start ``argv``, wait until its gRPC port is READY, yield it, then stop it.

    ``env`` is added to (not substituted for) the current environment, where ``RTC_HTTP_LISTEN``
    is ``off`` unless ``env`` says otherwise.
    ``ready_timeout_s`` bounds the whole start (port discovery and channel
    readiness, seconds); on timeout or early exit a ``RuntimeError`` with the
    server's last output lines is raised. At exit the process group gets
    SIGTERM, then SIGKILL if it is still alive after ``stop_timeout_s`` seconds.
    """
    pattern: re.Pattern[str] | None = None
    if isinstance(ready_port_from, str):
        pattern = re.compile(ready_port_from)
    elif isinstance(ready_port_from, re.Pattern):
        pattern = ready_port_from
    if pattern is not None and "port" not in pattern.groupindex and pattern.groups < 1:
        raise ValueError(f"pattern {pattern.pattern!r} needs a group capturing the port")

    deadline = time.monotonic() + ready_timeout_s
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    output = _Output(tail, pattern)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # an rtc-console server opens no HTTP door unless its argv asks (flags beat the variable):
        # the embedded default, 127.0.0.1:8080, would collide with a `make serve` or another bench
        env={**os.environ, "RTC_HTTP_LISTEN": "off", **(env or {})},
        cwd=cwd,
        start_new_session=True,
        limit=_STREAM_LIMIT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        asyncio.create_task(output.pump(proc.stdout, "stdout")),
        asyncio.create_task(output.pump(proc.stderr, "stderr")),
    ]
    exited = asyncio.create_task(proc.wait())
    try:
        try:
            if pattern is None:
                assert isinstance(ready_port_from, int)
                port = ready_port_from
            elif await _race(output.port, exited, deadline - time.monotonic()):
                port = output.port.result()
            else:
                raise RuntimeError(
                    _failure(f"server exited ({proc.returncode}) before printing its port", argv, tail)
                )
            target = f"{host}:{port}"
            async with grpc.aio.insecure_channel(target, options=_READY_CHANNEL_OPTIONS) as channel:
                ready = asyncio.ensure_future(channel.channel_ready())
                try:
                    if not await _race(ready, exited, deadline - time.monotonic()):
                        raise RuntimeError(
                            _failure(
                                f"server exited ({proc.returncode}) before {target} was ready", argv, tail
                            )
                        )
                finally:
                    ready.cancel()
                    await asyncio.gather(ready, return_exceptions=True)
        except TimeoutError:
            raise RuntimeError(_failure(f"server not ready within {ready_timeout_s} s", argv, tail)) from None
        yield ServerProcess(target=target, port=port, pid=proc.pid, argv=tuple(argv))
    finally:
        await _stop(proc, exited, stop_timeout_s=stop_timeout_s)
        await asyncio.gather(*pumps, return_exceptions=True)
        if not output.port.done():
            output.port.cancel()
        if proc.returncode not in (0, -signal.SIGTERM):
            _log.warning("server %s exited with %s\n%s", argv[0], proc.returncode, "\n".join(tail))


async def _stop(
    proc: asyncio.subprocess.Process, exited: asyncio.Task[int], *, stop_timeout_s: float
) -> None:
    """SIGTERM the process group, wait ``stop_timeout_s`` seconds, then SIGKILL it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(exited), stop_timeout_s)
        except TimeoutError:
            _log.warning("server pid %d ignored SIGTERM for %s s; killing it", proc.pid, stop_timeout_s)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    await exited
