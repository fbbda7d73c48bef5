"""``--metrics-listen``: the standalone worker commands' own ``/metrics`` and ``/healthz``.

The setting (flag, variable, which commands) and the listener in process: the
worker group's registry served from before the group starts until after it
stopped. The real processes are in tests/e2e/test_metrics_listener.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from rtcconsole_server import cli
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.observability import Metrics, MetricsListener
from rtcconsole_server.settings import Settings, metrics_listen_address
from rtcconsole_server.workers import Worker, WorkerGroup, run_until_signalled

WORKER_COMMANDS = ("aggregator", "dispatcher", "retention")
_BOUND = re.compile(r"metrics listening on (\S+)")


async def _bound_address(caplog: pytest.LogCaptureFixture) -> str:
    """The ``HOST:PORT`` of the ``metrics listening on`` line, once logged (at most 10 s)."""
    for _ in range(1000):
        if found := _BOUND.search(caplog.text):
            return found.group(1)
        await asyncio.sleep(0.01)
    raise AssertionError("the listener's address was not logged within 10 s")


async def _scraped(client: httpx.AsyncClient, url: str, wanted: str) -> None:
    """Scrape ``url`` every 10 ms until its body has ``wanted`` (at most 10 s)."""
    for _ in range(1000):
        if wanted in (await client.get(url)).text:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{wanted!r} not scraped within 10 s")


async def _refused(url: str) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)


def _parse(argv: list[str], environ: dict[str, str] | None = None) -> Settings:
    return cli.parse(argv, environ or {})[1]


# ------------------------------------------------------------ the setting


@pytest.mark.parametrize("command", WORKER_COMMANDS)
def test_each_worker_command_takes_it_and_it_is_off_by_default(command: str) -> None:
    assert _parse([command]).metrics_listen is None
    assert _parse([command, "--metrics-listen", "0.0.0.0:9464"]).metrics_listen == "0.0.0.0:9464"
    assert _parse([command], {"RTC_METRICS_LISTEN": "[::1]:0"}).metrics_listen == "[::1]:0"


@pytest.mark.parametrize(
    ("given", "address"),
    [("9464", "127.0.0.1:9464"), (" 0 ", "127.0.0.1:0"), ("localhost:9464", "localhost:9464"),
     ("[::1]:9464", "[::1]:9464"), ("off", None), ("OFF", None)],
)  # fmt: skip
def test_a_bare_port_means_loopback_and_off_means_none(given: str, address: str | None) -> None:
    assert metrics_listen_address(given) == address
    assert _parse(["aggregator"], {"RTC_METRICS_LISTEN": given}).metrics_listen == address


def test_the_flag_wins_over_the_variable_and_off_turns_the_variable_off() -> None:
    environ = {"RTC_METRICS_LISTEN": "9000"}
    assert _parse(["dispatcher", "--metrics-listen", "9001"], environ).metrics_listen == "127.0.0.1:9001"
    assert _parse(["dispatcher", "--metrics-listen", "off"], environ).metrics_listen is None


@pytest.mark.parametrize("bad", ["host", "host:port", "::1:9464", "127.0.0.1:70000", ":9464"])
def test_a_bad_address_is_a_usage_error_naming_the_flag_or_the_variable(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_flag:
        _parse(["retention", "--metrics-listen", bad])
    assert exit_flag.value.code == 2
    assert "--metrics-listen: HOST:PORT" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse(["retention"], {"RTC_METRICS_LISTEN": bad})
    assert "RTC_METRICS_LISTEN: HOST:PORT" in capsys.readouterr().err


def test_serve_has_no_such_flag_and_ignores_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(["serve", "--metrics-listen", "9464"])
    assert "unrecognized arguments: --metrics-listen" in capsys.readouterr().err
    assert _parse(["serve"], {"RTC_METRICS_LISTEN": "9464"}).metrics_listen is None


# ------------------------------------------------------------ the listener in process


async def test_the_listener_serves_metrics_and_healthz_and_nothing_else() -> None:
    metrics = Metrics()
    metrics.worker_ran("aggregator", failed=True)
    listener = MetricsListener(metrics, "127.0.0.1", 0)
    assert listener.port != 0
    await listener.start("test")
    try:
        async with httpx.AsyncClient(base_url=f"http://{listener.address}") as client:
            text = await client.get("/metrics")
            assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
            assert 'rtcconsole_worker_failures_total{worker="aggregator"} 1.0' in text.text
            assert "process_cpu_seconds_total" in text.text
            accept = {"accept": "application/openmetrics-text; version=1.0.0"}
            open_metrics = await client.get("/metrics", headers=accept)
            assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
            assert open_metrics.text.endswith("# EOF\n")
            assert (await client.post("/metrics")).status_code == 405
            health = await client.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            assert (await client.get("/readyz")).status_code == 404
    finally:
        await listener.stop()
    await _refused(f"http://{listener.address}/healthz")


def test_a_busy_port_is_an_error_naming_the_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = rf"cannot listen on 127.0.0.1:{port} \(--metrics-listen\): address in use"
        with pytest.raises(OSError, match=busy):
            MetricsListener(Metrics(), "127.0.0.1", port)


async def test_run_until_signalled_serves_the_groups_registry_until_it_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    stop = asyncio.Event()
    with ThreadPoolExecutor(max_workers=1) as executor:
        group = WorkerGroup(executor, [Worker("w", lambda: 0, timedelta(minutes=1))], clock=clock)
        running = asyncio.create_task(
            run_until_signalled(
                group, grace=timedelta(seconds=1), name="test", stop=stop, metrics_listen="127.0.0.1:0"
            )
        )

        url = f"http://{await _bound_address(caplog)}/metrics"
        async with httpx.AsyncClient() as client:
            await _scraped(client, url, 'rtcconsole_worker_runs_total{worker="w"} 1.0')  # the first step
            async with asyncio.timeout(10):
                await clock.wait_for_sleepers(1)  # the loop asleep until its next step
            clock.advance(timedelta(minutes=1))
            await _scraped(client, url, 'rtcconsole_worker_runs_total{worker="w"} 2.0')
        stop.set()
        async with asyncio.timeout(10):
            await running
    assert "test: metrics listening on 127.0.0.1:" in caplog.text and "test: stopped" in caplog.text
    await _refused(url)


async def test_a_service_without_metrics_cannot_be_given_a_listener() -> None:
    class Bare:
        async def start(self) -> None: ...

        async def stop(self, grace: float) -> None: ...

    with pytest.raises(TypeError, match="Bare has no metrics"):
        await run_until_signalled(
            Bare(), grace=timedelta(0), name="t", stop=asyncio.Event(), metrics_listen="127.0.0.1:0"
        )
