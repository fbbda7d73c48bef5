"""The run of ``rtc-console simulate`` once its arguments are checked (see :mod:`.command`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import sys
import time
from datetime import UTC, datetime, timedelta

from rtcconsole.cli._framework import DEFAULT_TARGET, EXIT_OK, EXIT_REFUSED, EXIT_REJECTED
from rtcconsole.cli._main import describe_error, transport_failure
from rtcconsole.client import DEFAULT_TIMEOUT, IngestClient, RtcConsole
from rtcconsole.errors import RtcConsoleError
from rtcconsole_server.simulate._host import RoomHost
from rtcconsole_server.simulate.driver import Driver, Source, Tally
from rtcconsole_server.simulate.model import KINDS, Scenario, Shape, rooms, timeline

__all__ = ["simulate"]

_LIVE_STAGGER = timedelta(seconds=10)
"""Live without a backfill: every room's first call begins within this of the start."""
_PROGRESS_EVERY_S = 2.0


def simulate(args: argparse.Namespace, token: str) -> int:
    """Run the simulation of ``args`` with the data-plane ``token``; the exit status."""
    args.target = args.target or DEFAULT_TARGET  # rtcctl's defaults
    args.timeout = args.timeout or DEFAULT_TIMEOUT
    try:
        return asyncio.run(_simulate(args, token))
    except RtcConsoleError as error:
        unreached = transport_failure(error, target=args.target, timeout=args.timeout, secure=args.secure)
        print(f"rtc-console: {unreached}" if unreached else describe_error(error), file=sys.stderr)
        return EXIT_REFUSED


async def _newest_app(args: argparse.Namespace) -> int | None:
    """The account's most recently created app (ListApps lists newest first), if it has one."""
    async with await RtcConsole.connect(
        args.target, api_key=args.api_key.strip(), timeout=args.timeout, **args.tls
    ) as console:
        page = await console.apps.list_apps(page_size=1)
    return int(page.apps[0].sdk_app_id) if page.apps else None


class _Progress:
    """One line on stderr at most every 2 seconds."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, tally: Tally, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= _PROGRESS_EVERY_S:
            self._last = now
            print(f"simulate: {_line(tally)}", file=sys.stderr, flush=True)


def _line(tally: Tally) -> str:
    up_to = tally.up_to.isoformat(timespec="seconds") if tally.up_to else "-"
    return (
        f"sent {tally.total('sent'):,}, accepted {tally.total('accepted'):,}, duplicates "
        f"{tally.total('duplicates'):,}, rejected {tally.total('rejected'):,}; {tally.calls:,} calls begun; "
        f"records up to {up_to}"
    )


async def _simulate(args: argparse.Namespace, token: str) -> int:
    sdk_app_id = args.sdk_app_id if args.sdk_app_id is not None else await _newest_app(args)
    if sdk_app_id is None:
        print(
            "rtc-console: error: the account of --api-key has no app; create one or pass --sdk-app-id",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    shape = Shape(max_users=min(args.max_users, args.users))
    scenario = Scenario(sdk_app_id=sdk_app_id, rooms=args.rooms, users=args.users, seed=seed, shape=shape)
    backfill = args.backfill if args.backfill is not None or args.live else timedelta(hours=1)
    now: datetime = args.now or datetime.now(UTC)
    start = now - backfill if backfill else now
    source = Source(timeline(scenario, start, stagger=None if backfill else _LIVE_STAGGER))
    progress = _Progress()
    client = await IngestClient.connect(args.target, data_plane_token=token, timeout=args.timeout, **args.tls)
    async with client:
        host = RoomHost(sdk_app_id, rooms(scenario), seed=seed) if args.live else None
        driver = Driver(client, batch=args.batch_size, progress=progress, host=host)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, driver.stop)
        try:
            if backfill:
                await driver.backfill(source, now)
            if args.live:
                print(
                    f"simulate: live from {datetime.now(UTC).isoformat(timespec='seconds')}; "
                    "SIGINT (Ctrl-C) stops",
                    file=sys.stderr,
                    flush=True,
                )
                await _live(driver, source)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
    progress(driver.tally, force=True)
    _summary(args, driver.tally, scenario, now if not args.live else None)
    return EXIT_REJECTED if driver.tally.total("rejected") else EXIT_OK


def _say(text: str) -> None:
    print(f"simulate: {text}", file=sys.stderr, flush=True)


async def _live(driver: Driver, source: Source) -> None:
    """Report at real time and, as the media server of the simulated rooms, carry out the room
    commands made against them (``WatchRoomCommands``), until :meth:`Driver.stop`."""
    clock = lambda: datetime.now(UTC)  # noqa: E731
    watching = asyncio.create_task(driver.watch_commands(clock=clock, log=_say), name="room-commands")
    try:
        await driver.live(source, clock=clock)
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)


def _summary(args: argparse.Namespace, tally: Tally, scenario: Scenario, now: datetime | None) -> None:
    again = f"--seed {scenario.seed}" + (f" --now {now.isoformat()}" if now is not None else "")
    if args.json:
        document = {
            "sdk_app_id": str(scenario.sdk_app_id),
            "seed": scenario.seed,
            "now": now.isoformat() if now else None,
            **tally.as_dict(),
        }
        print(json.dumps(document, indent=2))
        return
    width = max(len(kind) for kind in KINDS)
    lines = [
        f"app {scenario.sdk_app_id}, {scenario.rooms} rooms, {scenario.users} users, seed {scenario.seed}",
        f"{'records'.ljust(width)}  {'sent':>10} {'accepted':>10} {'duplicates':>10} {'rejected':>10}",
    ]
    for kind in KINDS:
        t = tally.kinds[kind]
        lines.append(
            f"{kind.ljust(width)}  {t.sent:>10,} {t.accepted:>10,} {t.duplicates:>10,} {t.rejected:>10,}"
        )
    lines.append(
        f"{'total'.ljust(width)}  {tally.total('sent'):>10,} {tally.total('accepted'):>10,} "
        f"{tally.total('duplicates'):>10,} {tally.total('rejected'):>10,}"
    )
    commands = f"; room commands carried out: {tally.commands:,}" if tally.commands else ""
    lines.append(f"{tally.calls:,} calls begun{commands}; to send the same records again: {again}")
    lines.extend(f"rejected: {reason}" for reason in tally.rejections)
    print("\n".join(lines))
