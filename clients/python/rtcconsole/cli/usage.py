"""``rtcctl usage``: usage statistics (R16) and the account's packages and billing state (R6).

    rtcctl usage trtc|recording [--sdk-app-id ID] --from T --to T [--granularity 5m|1h|1d] [--json]
    rtcctl usage billing [--json]

``trtc`` is interactive audio/video, ``recording`` cloud recording. Times are
what :func:`rtcconsole.times.parse_instant` reads: ISO 8601 (``2026-01-01``,
``2026-01-01T08:00:00Z``, ``…+08:00``; no zone means UTC) or relative to now
(``today``, ``yesterday``, ``now-6h``, ``+30d``), so a command line works on any
date. Without ``--sdk-app-id`` the whole account is shown, deleted apps
included. The table shows each line's seconds and minutes (a started minute
counts as one), what it deducts from its settlement day, and per category the
sum of the line minutes beside the settled minutes: they differ on purpose
(R16; the bill is the reference). Statistics lag 5-20 minutes (R16): the last
line says where the newest published 5-minute window ends, and that late
records can still revise published windows (their REVISION goes up), so it is
not a promise that nothing before it changes. ``--json`` prints the response
as proto-JSON.
"""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole._transport import Transport
from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, instant, uint64
from rtcconsole.v1 import usage_service_pb2 as pb
from rtcconsole.v1 import usage_service_pb2_grpc as pb_grpc

__all__ = ["GRANULARITIES", "KINDS", "billing_text", "freshness", "parse_time", "register", "usage_text"]

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
    """A ``--from``/``--to`` value as a Timestamp: ISO 8601 (no zone means UTC) or relative
    (``today``, ``now-6h``, ``+30d``); anything else is a usage error that lists the forms."""
    stamp = Timestamp()
    stamp.FromDatetime(instant(text))
    return stamp


_TIME_HELP = (
    "e.g. today, yesterday, now-6h, 2026-01-01, 2026-01-01T08:00Z (UTC); write --from=-1h for a bare offset"
)


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
            "--from", dest="start", type=parse_time, required=True, metavar="T", help=f"start, {_TIME_HELP}"
        )
        command.add_argument(
            "--to",
            dest="end",
            type=parse_time,
            required=True,
            metavar="T",
            help="end, exclusive (same forms)",
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
    return f"{header}\n{body}\n{freshness(response)}"


_LAG = "new usage appears 5-20 minutes after it happens (R16)"


def freshness(response: pb.GetUsageResponse | pb.GetBillingStateResponse) -> str:
    """What ``data_through`` means, in words: the end of the newest published 5-minute window,
    which late records can still revise (with a higher revision); not "complete through"."""
    if not response.HasField("data_through"):
        return f"no usage window has been published yet (the aggregator has not run); {_LAG}"
    through = response.data_through
    text = (
        f"newest published window ends {render.when(through)}; "
        "late records can still revise published windows"
    )
    if isinstance(response, pb.GetUsageResponse):
        text += " (REVISION above 1)"
        if response.HasField("end_time") and response.end_time.ToNanoseconds() > through.ToNanoseconds():
            text += "; later windows may be missing or partial"
    return f"{text}; {_LAG}"


def billing_text(response: pb.GetBillingStateResponse) -> str:
    """Flags and state, then one row per package in consumption order."""
    state = render.label(pb.PackageState, response.package_state)
    pairs = [
        ("postpaid", "on" if response.postpaid else "off"),
        ("arrears", "yes" if response.arrears else "no"),
        ("package state", state + ("" if response.metered else " (set by the operator: no packages)")),
        ("uncovered minutes", str(response.uncovered_minutes)),
        ("usage counted", freshness(response)),
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
