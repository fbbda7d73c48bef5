"""``rtcctl usage``: usage statistics (R16) and the account's packages and billing state (R6).

    rtcctl usage trtc|recording [--sdk-app-id ID] --from T --to T [--granularity 5m|1h|1d] [--json]
    rtcctl usage billing [--json]

``trtc`` is interactive audio/video, ``recording`` cloud recording. Times are
ISO 8601 (``2026-01-01``, ``2026-01-01T08:00:00Z``, ``…+08:00``; no zone means
UTC). Without ``--sdk-app-id`` the whole account is shown, deleted apps
included. The table shows each line's seconds and minutes (a started minute
counts as one), what it deducts from its settlement day, and per category the
sum of the line minutes beside the settled minutes: they differ on purpose
(R16; the bill is the reference). Statistics lag 5-20 minutes: the last line
says up to when they are complete. ``--json`` prints the response as proto-JSON.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole._transport import Transport
from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, uint64
from rtcconsole.v1 import usage_service_pb2 as pb
from rtcconsole.v1 import usage_service_pb2_grpc as pb_grpc

__all__ = ["GRANULARITIES", "KINDS", "billing_text", "parse_time", "register", "usage_text"]

KINDS = {"trtc": pb.USAGE_KIND_INTERACTIVE_AV, "recording": pb.USAGE_KIND_CLOUD_RECORDING}
"""Command word → ``UsageKind``."""
GRANULARITIES = {"5m": pb.GRANULARITY_FIVE_MINUTES, "1h": pb.GRANULARITY_HOUR, "1d": pb.GRANULARITY_DAY}
"""``--granularity`` value → ``Granularity``; absent lets the server choose (5m up to a day, else 1d)."""
_CATEGORY_NAMES: dict[int, str] = {
    pb.USAGE_CATEGORY_AUDIO: "Audio",
    pb.USAGE_CATEGORY_SD: "SD",
    pb.USAGE_CATEGORY_HD: "HD",
    pb.USAGE_CATEGORY_FULL_HD: "FullHD",
    pb.USAGE_CATEGORY_2K: "2K",
    pb.USAGE_CATEGORY_4K: "4K",
}


def parse_time(text: str) -> Timestamp:
    """An ISO 8601 date or date-time as a Timestamp; without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    stamp = Timestamp()
    stamp.FromDatetime(value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC))
    return stamp


def register(commands: Commands) -> None:
    """Add ``usage …`` to the command line."""
    usage = commands.group("usage", "usage statistics (5-20 minutes behind) and billing state")
    for word, title in (("trtc", "interactive audio/video"), ("recording", "cloud recording")):
        command = usage.command(word, f"{title} usage lines with line and settled minutes (R16)", _usage)
        command.set_defaults(kind=KINDS[word])
        command.add_argument(
            "--sdk-app-id", type=uint64, default=0, metavar="ID", help="one app (default: all)"
        )
        command.add_argument(
            "--from", dest="start", type=parse_time, required=True, metavar="T", help="start"
        )
        command.add_argument(
            "--to", dest="end", type=parse_time, required=True, metavar="T", help="end, exclusive"
        )
        command.add_argument(
            "--granularity",
            choices=sorted(GRANULARITIES),
            help="period of the lines (default: 5m for ranges up to a day, else 1d)",
        )
    usage.command("billing", "packages, their consumption and the billing state (R6)", _billing)


async def _stub(run: Invocation) -> tuple[Transport, pb_grpc.UsageServiceAsyncStub]:
    console = await run.console()
    transport = Transport(console.channel, api_key=run.args.api_key, timeout=run.args.timeout)
    stub: pb_grpc.UsageServiceAsyncStub = pb_grpc.UsageServiceStub(console.channel)
    return transport, stub


def _category(value: int) -> str:
    return _CATEGORY_NAMES.get(value, str(value))


def usage_text(response: pb.GetUsageResponse) -> str:
    """Lines, then totals per category, then how fresh the data is."""
    scope = f"app {response.sdk_app_id}" if response.sdk_app_id else "all apps of the account"
    header = (
        f"{render.label(pb.UsageKind, response.kind)} usage of {scope}, "
        f"{render.when(response.start_time)} to {render.when(response.end_time)}, "
        f"per {render.label(pb.Granularity, response.granularity).lower().replace('_', ' ')} (UTC)"
    )
    if not response.lines:
        body = "no usage"
    else:
        body = render.table(
            ("PERIOD", "END", "CATEGORY", "SECONDS", "MINUTES", "DEDUCTED", "REVISION"),
            [
                (
                    render.when(x.period_start),
                    render.when(x.period_end),
                    _category(x.category),
                    str(x.seconds),
                    str(x.minutes),
                    str(x.deducted_minutes),
                    str(x.revision),
                )
                for x in response.lines
            ],
        )
        totals = render.table(
            ("CATEGORY", "SECONDS", "LINE_MINUTES", "SETTLED_MINUTES", "DEDUCTED_MINUTES"),
            [
                (
                    _category(t.category),
                    str(t.seconds),
                    str(t.line_minutes),
                    str(t.settled_minutes),
                    str(t.deducted_minutes),
                )
                for t in response.totals
            ],
        )
        body += (
            "\n\ntotals (line minutes round each line up; settled minutes round the total once)\n" + totals
        )
    fresh = (
        f"complete through {render.when(response.data_through)}; later usage appears 5-20 minutes after it"
        if response.HasField("data_through")
        else "no usage has been aggregated yet"
    )
    return f"{header}\n{body}\n{fresh}"


def billing_text(response: pb.GetBillingStateResponse) -> str:
    """Flags and state, then one row per package in consumption order."""
    state = render.label(pb.PackageState, response.package_state)
    pairs = [
        ("postpaid", "on" if response.postpaid else "off"),
        ("arrears", "yes" if response.arrears else "no"),
        ("package state", state + ("" if response.metered else " (set by the operator: no packages)")),
        ("uncovered minutes", str(response.uncovered_minutes)),
        ("usage through", render.when(response.data_through)),
    ]
    text = render.fields(pairs)
    if response.packages:
        rows = [
            (
                str(p.package_id),
                str(p.minutes),
                str(p.used_minutes),
                str(p.minutes - p.used_minutes),
                render.when(p.valid_from),
                render.when(p.valid_to),
                "yes" if p.in_force else "no",
            )
            for p in response.packages
        ]
        headers = ("PACKAGE", "MINUTES", "USED", "LEFT", "VALID_FROM", "VALID_TO", "IN_FORCE")
        text += "\n\n" + render.table(headers, rows)
    return text


async def _usage(run: Invocation) -> Output:
    a = run.args
    transport, stub = await _stub(run)
    request = pb.GetUsageRequest(
        kind=a.kind,
        sdk_app_id=a.sdk_app_id,
        start_time=a.start,
        end_time=a.end,
        granularity=GRANULARITIES[a.granularity] if a.granularity else pb.GRANULARITY_UNSPECIFIED,
    )
    response = await transport.unary(stub.GetUsage, request)
    return Output(response, usage_text(response))


async def _billing(run: Invocation) -> Output:
    transport, stub = await _stub(run)
    response = await transport.unary(stub.GetBillingState, pb.GetBillingStateRequest())
    return Output(response, billing_text(response))
