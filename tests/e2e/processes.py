"""Running ``rtc-console`` as a real process, the way an operator does."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
_LISTENING = re.compile(r"listening on (\S+)")


def run_cli(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``rtc-console ARGS`` to completion."""
    return subprocess.run(
        [str(BIN / "rtc-console"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
        env={**os.environ, **(env or {})},
    )


def create_account(database_url: str, name: str) -> tuple[int, str]:
    out = run_cli("admin", "account", "create", name, "--json", "--database-url", database_url).stdout
    data = json.loads(out)
    return int(data["account_id"]), str(data["api_key"])


@contextmanager
def serving(database_url: str, *extra: str, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``rtc-console serve`` on a free port; yields the process and its target; SIGTERMs it at exit."""
    door = () if any(a.startswith("--http-listen") for a in extra) else ("--http-listen", "off")
    argv = ["serve", "--listen", "127.0.0.1:0", "--database-url", database_url, *door, *extra]
    with running(argv, log=log) as started:
        yield started


@contextmanager
def running(
    argv: list[str], *, log: Path, env: dict[str, str] | None = None, ready: re.Pattern[str] = _LISTENING
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``rtc-console ARGV``, output into ``log``, with ``env`` as its whole environment (default:
    this one); yields the process and what ``ready`` matched first (its group 1 if it has one:
    by default the address of ``listening on ADDRESS``) once its log shows it; SIGTERMs it at
    exit (SIGKILL after 30 s)."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(BIN / "rtc-console"), *argv], stdout=sink, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := ready.search(log.read_text(errors="replace"))):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rtc-console {argv[0]} did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield process, found.group(1 if ready.groups else 0)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
