"""``--metrics-listen`` on the worker commands run alone, as real processes on a SQLite store:
the process's own ``/metrics`` shows its worker counters grow, ``/healthz`` answers, and
SIGTERM stops the listener with the workers (exit 0).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import run_cli, running

_BOUND = re.compile(r"metrics listening on (\S+)")
_OPEN_METRICS = {"accept": "application/openmetrics-text; version=1.0.0"}
FAST = {  # each worker's interval flag, small: several steps within a second
    "aggregator": ("--aggregation-interval-seconds", "0.1"),
    "dispatcher": ("--callback-poll-interval-seconds", "0.05"),
    "retention": ("--retention-interval-seconds", "0.1"),
}


def _runs(body: str, worker: str) -> float:
    found = re.search(rf'^rtcconsole_worker_runs_total\{{worker="{worker}"\}} (\S+)$', body, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _until_more_runs(client: httpx.Client, worker: str, than: float, limit_s: float = 30.0) -> float:
    deadline = time.monotonic() + limit_s
    while (now := _runs(client.get("/metrics").text, worker)) <= than:
        assert time.monotonic() < deadline, f"{worker}: no run after {than:g} within {limit_s} s"
        time.sleep(0.05)
    return now


@pytest.mark.parametrize("command", ["aggregator", "dispatcher", "retention"])
def test_a_worker_command_serves_its_counters_until_sigterm(command: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    argv = [command, "--database-url", url, "--metrics-listen", "127.0.0.1:0", *FAST[command]]
    log = tmp_path / f"{command}.log"
    with running(argv, log=log, ready=_BOUND) as (process, address):
        host, port = address.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0  # the port the system picked, not 0
        with httpx.Client(base_url=f"http://{address}", timeout=10) as client:
            first = _until_more_runs(client, command, 0.0)
            assert _until_more_runs(client, command, first) > first  # grows with each run
            text = client.get("/metrics")
            assert text.status_code == 200
            assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
            assert f'rtcconsole_worker_failures_total{{worker="{command}"}}' not in text.text
            assert "process_resident_memory_bytes" in text.text
            open_metrics = client.get("/metrics", headers=_OPEN_METRICS)
            assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
            assert open_metrics.text.endswith("# EOF\n")
            assert client.get("/healthz").json() == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    output = log.read_text()
    assert "SIGTERM; stopping" in output and "stopped" in output and "Traceback" not in output
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{address}/healthz")


def test_the_variable_and_a_bare_port_listen_on_loopback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    env = {**os.environ, "RTC_METRICS_LISTEN": "0"}
    argv = ["dispatcher", "--database-url", url, *FAST["dispatcher"]]
    with running(argv, log=tmp_path / "dispatcher.log", env=env, ready=_BOUND) as (process, address):
        assert address.startswith("127.0.0.1:")
        with httpx.Client(base_url=f"http://{address}", timeout=10) as client:
            _until_more_runs(client, "dispatcher", 0.0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_a_busy_metrics_port_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"sqlite:///{tmp_path / 'rtc.db'}"
        done = run_cli("aggregator", "--database-url", url, "--metrics-listen", str(port), check=False)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"rtc-console: error: cannot listen on 127.0.0.1:{port} (--metrics-listen): "
        "address in use (pick another --metrics-listen)"
    )
    assert "Traceback" not in done.stderr
