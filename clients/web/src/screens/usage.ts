/**
 * Usage `#/usage` (R16, R6): interactive audio/video and cloud recording of one app or the
 * whole account over a range (presets or from/to) and a granularity; per category the seconds,
 * the line minutes summed beside the minutes settled from the total (R16: the difference is
 * the rounding of each line, shown), the lines themselves (CSV); the account's packages and
 * billing state. Statistics are rolled up every 5 minutes and appear 5–20 minutes late:
 * `data_through` says how far they are complete.
 */

import { api } from "../api.js";
import { Granularity, PackageState, UsageCategory, UsageKind, type GetUsageResponse } from "../../../node/src/gen/rtcconsole/v1/usage_service_pb.js";
import { download, h, notice, replace, table, timeCell } from "../dom.js";
import { toCsv } from "../lib/csv.js";
import { formatCount, timestampMs } from "../lib/format.js";
import { fromLocalInput, presetRange, roundingDifference, sumTotals, toLocalInput } from "../lib/usage.js";
import { clearErrors, errorNotice, showError } from "./common.js";

const CATEGORY: Record<number, string> = {
  [UsageCategory.USAGE_CATEGORY_AUDIO]: "Audio",
  [UsageCategory.USAGE_CATEGORY_SD]: "SD",
  [UsageCategory.USAGE_CATEGORY_HD]: "HD",
  [UsageCategory.USAGE_CATEGORY_FULL_HD]: "FullHD",
  [UsageCategory.USAGE_CATEGORY_2K]: "2K",
  [UsageCategory.USAGE_CATEGORY_4K]: "4K",
};
const GRANULARITY: [string, Granularity][] = [["default (5 min up to a day, else days)", Granularity.UNSPECIFIED], ["5 minutes", Granularity.FIVE_MINUTES], ["hour", Granularity.HOUR], ["day", Granularity.DAY]];
const GRANULARITY_NAME: Record<number, string> = { [Granularity.FIVE_MINUTES]: "5 minutes", [Granularity.HOUR]: "hour", [Granularity.DAY]: "day" };
const PRESETS: [string, number][] = [["Last 24 hours", 24], ["Last 7 days", 24 * 7], ["Last 30 days", 24 * 30]];
const PACKAGE_STATE: Record<number, string> = { [PackageState.OK]: "ok", [PackageState.USED_UP]: "used up", [PackageState.EXPIRED]: "expired" };
const LINES_SHOWN = 200;

const ts = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: 0 });

function usageSection(title: string, testid: string, u: GetUsageResponse): HTMLElement {
  const n = (v: bigint) => Number(v);
  const totals = u.totals.map((t) => ({ category: CATEGORY[t.category] ?? "?", seconds: n(t.seconds), lineMinutes: n(t.lineMinutes), settledMinutes: n(t.settledMinutes), deducted: n(t.deductedMinutes) }));
  const all = sumTotals(totals);
  const csv = () =>
    toCsv(
      ["period_start_utc", "period_end_utc", "category", "seconds", "minutes", "deducted_minutes", "revision"],
      u.lines.map((l) => [new Date(timestampMs(l.periodStart)!).toISOString(), new Date(timestampMs(l.periodEnd)!).toISOString(), CATEGORY[l.category] ?? "", n(l.seconds), n(l.minutes), n(l.deductedMinutes), l.revision]),
    );
  return h(
    "section",
    { "aria-label": title, "data-testid": testid, "data-lines": u.lines.length },
    h("h2", null, title),
    h("p", { class: "help" }, "From ", timeCell(timestampMs(u.startTime)), " to ", timeCell(timestampMs(u.endTime)), ` by ${GRANULARITY_NAME[u.granularity] ?? "?"}; complete through `, u.dataThrough ? timeCell(timestampMs(u.dataThrough)) : "– (not rolled up yet)", "."),
    totals.length === 0
      ? notice("info", "No usage in this range (statistics appear 5–20 minutes after the usage).")
      : [
          table(
            `${title}: totals`,
            ["Category", "Seconds", "Line minutes (sum of lines)", "Settled minutes (from the total)", "Difference", "Deducted (per UTC day)"],
            [
              ...totals.map((t) => [t.category, formatCount(t.seconds), formatCount(t.lineMinutes), formatCount(t.settledMinutes), `+${roundingDifference(t)}`, formatCount(t.deducted)]),
              [h("strong", null, "All"), formatCount(totals.reduce((a, t) => a + t.seconds, 0)), h("strong", null, formatCount(all.lineMinutes)), h("strong", null, formatCount(all.settledMinutes)), `+${roundingDifference(all)}`, formatCount(totals.reduce((a, t) => a + t.deducted, 0))],
            ],
            { class: "totals" },
          ),
          h("p", { class: "help" }, "R16: each line rounds its seconds up to whole minutes, so the lines add up to more than the minutes settled from the total seconds; the bill is the settled figure."),
          h(
            "details",
            null,
            h("summary", null, `Lines (${u.lines.length}${u.lines.length > LINES_SHOWN ? `, the first ${LINES_SHOWN} shown; the CSV has all` : ""})`),
            table(
              `${title}: lines`,
              ["Period start", "Category", "Seconds", "Minutes", "Deducted", "Revision"],
              u.lines.slice(0, LINES_SHOWN).map((l) => [timeCell(timestampMs(l.periodStart)), CATEGORY[l.category] ?? "", formatCount(n(l.seconds)), formatCount(n(l.minutes)), formatCount(n(l.deductedMinutes)), l.revision > 1 ? `${l.revision} (recomputed)` : String(l.revision)]),
            ),
          ),
          h("button", { type: "button", class: "secondary", id: `${testid}-csv`, onclick: () => download(`usage-${testid}-${u.sdkAppId}.csv`, csv()) }, "Download lines (CSV)"),
        ],
  );
}

async function billingSection(slot: HTMLElement): Promise<void> {
  try {
    const b = await api.usage.getBillingState({});
    replace(
      slot,
      h("h2", null, "Packages and billing (R6)"),
      h(
        "dl",
        { class: "facts", "data-testid": "billing" },
        h("dt", null, "Billing"), h("dd", null, b.postpaid ? "postpaid" : "prepaid (packages only)"),
        h("dt", null, "Arrears"), h("dd", null, b.arrears ? h("span", { class: "badge bad" }, "in arrears") : "none"),
        h("dt", null, "Package state"), h("dd", null, h("span", { class: `badge ${b.packageState === PackageState.OK ? "ok" : "bad"}` }, PACKAGE_STATE[b.packageState] ?? "–"), b.metered ? " (from the packages)" : " (set by the operator: no package)"),
        h("dt", null, "Not covered by a package"), h("dd", null, `${formatCount(Number(b.uncoveredMinutes))} equivalent minutes`),
        h("dt", null, "Counted through"), h("dd", null, b.dataThrough ? timeCell(timestampMs(b.dataThrough)) : "–"),
      ),
      b.packages.length === 0
        ? notice("info", "No package.")
        : table(
            "Packages",
            ["Package", "Minutes", "Used", "Left", "Valid from", "Valid to", "In force"],
            b.packages.map((p) => [String(p.packageId), formatCount(Number(p.minutes)), formatCount(Number(p.usedMinutes)), formatCount(Math.max(0, Number(p.minutes - p.usedMinutes))), timeCell(timestampMs(p.validFrom)), timeCell(timestampMs(p.validTo)), p.inForce ? "yes" : "no"]),
          ),
    );
  } catch (reason) {
    replace(slot, errorNotice(reason));
  }
}

export function usageScreen(main: HTMLElement, params: URLSearchParams): void {
  const now = Date.now();
  const initial = presetRange(24, now);
  const appSelect = h("select", { id: "usage-app" }, h("option", { value: "0" }, "Whole account"));
  const from = h("input", { id: "field-start_time", type: "datetime-local", value: toLocalInput(initial.start), "aria-describedby": "error-start_time" });
  const to = h("input", { id: "field-end_time", type: "datetime-local", value: toLocalInput(initial.end), "aria-describedby": "error-end_time" });
  const granularity = h("select", { id: "field-granularity" }, GRANULARITY.map(([label, g]) => h("option", { value: g }, label)));
  const status = h("div");
  const results = h("div", { "data-testid": "usage" });
  const billing = h("section", { "aria-label": "Billing" });

  const run = async (): Promise<void> => {
    replace(status, notice("info", "Loading…"));
    const start = fromLocalInput(from.value);
    const end = fromLocalInput(to.value);
    const common = { sdkAppId: BigInt(appSelect.value), granularity: Number(granularity.value), ...(Number.isNaN(start) ? {} : { startTime: ts(start) }), ...(Number.isNaN(end) ? {} : { endTime: ts(end) }) };
    try {
      const [av, rec] = await Promise.all([api.usage.getUsage({ ...common, kind: UsageKind.INTERACTIVE_AV }), api.usage.getUsage({ ...common, kind: UsageKind.CLOUD_RECORDING })]);
      replace(status);
      clearErrors(form);
      replace(results, usageSection("Interactive audio/video", "usage-av", av), usageSection("Cloud recording", "usage-recording", rec));
    } catch (reason) {
      showError(form, status, reason);
    }
  };
  const form: HTMLFormElement = h(
    "form",
    { class: "card usage-form", novalidate: true, onsubmit: (e: Event) => (e.preventDefault(), void run()) },
    h("div", { class: "field" }, h("label", { for: "usage-app" }, "Scope"), appSelect),
    h(
      "div",
      { class: "presets", role: "group", "aria-label": "Presets" },
      PRESETS.map(([label, hours]) =>
        h("button", { type: "button", onclick: () => { const r = presetRange(hours, Date.now()); from.value = toLocalInput(r.start); to.value = toLocalInput(r.end); void run(); } }, label),
      ),
    ),
    h("div", { class: "field" }, h("label", { for: "field-start_time" }, "From (your time zone)"), from, h("p", { id: "error-start_time", class: "field-error" })),
    h("div", { class: "field" }, h("label", { for: "field-end_time" }, "To (at most 31 days later)"), to, h("p", { id: "error-end_time", class: "field-error" })),
    h("div", { class: "field" }, h("label", { for: "field-granularity" }, "Granularity"), granularity, h("p", { id: "error-granularity", class: "field-error" })),
    h("button", { type: "submit" }, "Show usage"),
  );

  replace(main, h("h1", null, "Usage"), form, status, results, billing);
  void api.apps.listApps({ pageSize: 100 }).then((a) => {
    appSelect.append(...a.apps.map((x) => h("option", { value: String(x.sdkAppId), selected: String(x.sdkAppId) === params.get("app") }, `${x.name} (${x.sdkAppId})`)));
    void run();
  }, (reason) => replace(status, errorNotice(reason)));
  void billingSection(billing);
}
