"""UsageService: usage lines (R16) and the billing state (R6); protos to domain and back."""

from __future__ import annotations

from rtcconsole.v1 import usage_service_pb2 as pb
from rtcconsole.v1 import usage_service_pb2_grpc as pb_grpc
from rtcconsole_server.api.base import Context, ServicerBase
from rtcconsole_server.api.convert import optional_instant, timestamp
from rtcconsole_server.api.convert_usage import CATEGORY
from rtcconsole_server.domain.usage import BillingView, Granularity, UsageReport
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["GRANULARITY", "PACKAGE_STATE", "UsageServicer"]

GRANULARITY = {
    Granularity.FIVE_MINUTES: pb.GRANULARITY_FIVE_MINUTES,
    Granularity.HOUR: pb.GRANULARITY_HOUR,
    Granularity.DAY: pb.GRANULARITY_DAY,
}
PACKAGE_STATE = {
    "ok": pb.PACKAGE_STATE_OK,
    "used_up": pb.PACKAGE_STATE_USED_UP,
    "expired": pb.PACKAGE_STATE_EXPIRED,
}
_GRANULARITY_OF: dict[int, Granularity] = {int(n): g for g, n in GRANULARITY.items()}


def _granularity(number: int) -> Granularity | None:
    if number == pb.GRANULARITY_UNSPECIFIED:
        return None
    if number not in _GRANULARITY_OF:
        raise InvalidArgument(FieldViolation("granularity", "must be FIVE_MINUTES, HOUR or DAY"))
    return _GRANULARITY_OF[number]


def usage_response(report: UsageReport) -> pb.GetUsageResponse:
    return pb.GetUsageResponse(
        kind=report.kind,  # type: ignore[arg-type]
        granularity=GRANULARITY[report.granularity],
        lines=[
            pb.UsageLine(
                period_start=timestamp(line.period_start),
                period_end=timestamp(line.period_end),
                category=CATEGORY[line.category],
                seconds=line.seconds,
                minutes=line.minutes,
                deducted_minutes=line.deducted_minutes,
                revision=line.revision,
            )
            for line in report.lines
        ],
        totals=[
            pb.CategoryTotal(
                category=CATEGORY[total.category],
                seconds=total.seconds,
                line_minutes=total.line_minutes,
                settled_minutes=total.settled_minutes,
                deducted_minutes=total.deducted_minutes,
            )
            for total in report.totals
        ],
        data_through=timestamp(report.data_through),
        start_time=timestamp(report.start),
        end_time=timestamp(report.end),
        sdk_app_id=report.sdk_app_id,
    )


def billing_response(view: BillingView) -> pb.GetBillingStateResponse:
    return pb.GetBillingStateResponse(
        postpaid=view.postpaid,
        arrears=view.arrears,
        package_state=PACKAGE_STATE.get(view.package_state, pb.PACKAGE_STATE_UNSPECIFIED),
        packages=[
            pb.Package(
                package_id=p.package_id,
                minutes=p.minutes,
                used_minutes=p.used_minutes,
                valid_from=timestamp(p.valid_from),
                valid_to=timestamp(p.valid_to),
                in_force=p.in_force,
            )
            for p in view.packages
        ],
        metered=view.metered,
        uncovered_minutes=view.uncovered_minutes,
        data_through=timestamp(view.data_through),
    )


class UsageServicer(ServicerBase, pb_grpc.UsageServiceServicer):
    async def GetUsage(self, request: pb.GetUsageRequest, context: Context) -> pb.GetUsageResponse:
        caller = await self.caller(context)
        report = await self.run(
            self.console.usage.get,
            caller,
            kind=request.kind,
            sdk_app_id=request.sdk_app_id,
            start=optional_instant(request, "start_time"),
            end=optional_instant(request, "end_time"),
            granularity=_granularity(request.granularity),
        )
        return usage_response(report)

    async def GetBillingState(
        self, request: pb.GetBillingStateRequest, context: Context
    ) -> pb.GetBillingStateResponse:
        caller = await self.caller(context)
        view = await self.run(self.console.billing.view, caller.account_id)
        return billing_response(view)
