/**
 * The call list (R17): one app's calls in a preset range (today by default, R17; yesterday,
 * the last 6 hours, the last 14 days) or a custom one (from/to in the browser's zone, at most
 * 14 days back: its field violations stand under From and To), searched by room or user,
 * newest first; each opens its details.
 */

import { api, fromConnectError } from "../api.js";
import { CallRange, type Call } from "../../../node/src/gen/rtcconsole/v1/monitor_service_pb.js";
import { download, h, notice, replace, table, timeCell } from "../dom.js";
import { toCsv } from "../lib/csv.js";
import { durationSeconds, formatDuration, formatUtc, timestampMs } from "../lib/format.js";
import { fromLocalInput, toLocalInput } from "../lib/usage.js";
import { appPicker, showError } from "./common.js";

const PRESETS: [string, CallRange][] = [
  ["Today", CallRange.TODAY],
  ["Yesterday", CallRange.YESTERDAY],
  ["Last 6 hours", CallRange.LAST_6_HOURS],
  ["Last 14 days", CallRange.LAST_14_DAYS],
];

export const roomOf = (c: { room: { case: "roomId"; value: number } | { case: "strRoomId"; value: string } | { case: undefined; value?: undefined } }): string =>
  c.room.case === undefined ? "" : String(c.room.value);

export function callsScreen(main: HTMLElement, params: URLSearchParams): void {
  const picker = h("div", { class: "toolbar" });
  const fromText = params.get("from") ?? "";
  const toText = params.get("to") ?? "";
  const custom = fromText !== "" || toText !== "";
  const range = custom ? CallRange.UNSPECIFIED : (Number(params.get("range") ?? CallRange.TODAY) as CallRange);
  /** Navigates to the list with `changes` applied to the hash's query (null deletes). */
  const go = (changes: Record<string, string | null>): void => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === "") next.delete(k);
      else next.set(k, v);
    }
    location.hash = `#/calls?${next}`;
  };
  const room = h("input", { id: "call-room", type: "search", value: params.get("room") ?? "", maxlength: 64, placeholder: "room id" });
  const user = h("input", { id: "call-user", type: "search", value: params.get("user") ?? "", maxlength: 128, placeholder: "user id" });
  const statusSlot = h("div");
  const listSlot = h("div", { "data-testid": "call-list" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const csv = h("button", { type: "button", disabled: true }, "Download CSV");
  let calls: Call[] = [];
  let token = "";
  let app: bigint | undefined;

  const presets = h(
    "div",
    { role: "radiogroup", "aria-label": "Range", class: "presets" },
    PRESETS.map(([label, value]) =>
      h("button", { type: "button", role: "radio", "aria-checked": String(value === range), onclick: () => go({ range: String(value), from: null, to: null }) }, label),
    ),
  );
  const fromInput = h("input", { id: "field-start_time", type: "datetime-local", value: fromText, "aria-describedby": "error-start_time" });
  const toInput = h("input", { id: "field-end_time", type: "datetime-local", value: toText, "aria-describedby": "error-end_time" });
  const rangeForm = h(
    "form",
    { class: "toolbar custom-range", novalidate: true, "aria-label": "Custom range", onsubmit: (e: Event) => (e.preventDefault(), go({ range: null, from: fromInput.value, to: toInput.value })) },
    h("div", { class: "field" }, h("label", { for: "field-start_time" }, "From (your time zone)"), fromInput, h("p", { id: "error-start_time", class: "field-error", "aria-live": "polite" })),
    h("div", { class: "field" }, h("label", { for: "field-end_time" }, "To"), toInput, h("p", { id: "error-end_time", class: "field-error", "aria-live": "polite" })),
    h("button", { type: "submit", id: "calls-custom" }, "Apply range"),
  );
  const search = h(
    "form",
    {
      class: "toolbar",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        go({ room: room.value.trim(), user: user.value.trim() });
      },
    },
    h("label", { for: "call-room" }, "Room "),
    room,
    h("label", { for: "call-user" }, "User "),
    user,
    h("button", { type: "submit" }, "Search"),
  );

  const load = async (reset: boolean): Promise<void> => {
    if (app === undefined) return;
    const roomText = params.get("room") ?? "";
    const roomFilter = roomText === "" ? {} : /^\d+$/.test(roomText) && Number(roomText) < 2 ** 32 ? { room: { case: "roomId" as const, value: Number(roomText) } } : { room: { case: "strRoomId" as const, value: roomText } };
    try {
      const at = (text: string) => {
        const ms = fromLocalInput(text);
        return Number.isNaN(ms) ? undefined : { seconds: BigInt(Math.floor(ms / 1000)), nanos: 0 };
      };
      const period = custom ? { startTime: at(fromText), endTime: at(toText) } : { range };
      const answer = await api.monitor.listCalls({ sdkAppId: app, ...period, userId: params.get("user") ?? "", pageSize: 50, pageToken: reset ? "" : token, ...roomFilter });
      calls = reset ? answer.calls : [...calls, ...answer.calls];
      token = answer.nextPageToken;
      more.hidden = token === "";
      csv.disabled = calls.length === 0;
      const from = timestampMs(answer.startTime)!;
      const to = timestampMs(answer.endTime)!;
      // A preset's range as the starting point of a custom one.
      if (!custom && reset) [fromInput.value, toInput.value] = [toLocalInput(from), toLocalInput(to)];
      // What the list shows, for people's tools and the browser tests.
      listSlot.dataset.query = new URLSearchParams({ range: String(range), room: roomText, user: params.get("user") ?? "", ...(custom ? { from: fromText, to: toText } : {}) }).toString();
      replace(statusSlot, notice("info", "Calls that start from ", timeCell(from), " to ", timeCell(to), `: ${calls.length}${token ? "+" : ""} shown.`));
      replace(
        listSlot,
        calls.length === 0
          ? notice("info", "No call in this range.")
          : table(
              "Calls",
              ["Room", "Start", "End", "Duration", "Users", ""],
              calls.map((c) => [
                h("code", null, roomOf(c)),
                timeCell(timestampMs(c.startTime)),
                c.endTime ? timeCell(timestampMs(c.endTime)) : h("span", { class: "badge ok" }, "ongoing"),
                formatDuration(durationSeconds(c.duration)),
                c.userCount,
                h("a", { href: `#/calls/${encodeURIComponent(c.callId)}?app=${app}`, class: "open-call" }, "Details"),
              ]),
              { id: "calls-table" },
            ),
      );
    } catch (reason) {
      showError(rangeForm, statusSlot, reason); // a range's violation under From or To
    }
  };
  more.addEventListener("click", () => void load(false));
  csv.addEventListener("click", () =>
    download(
      `calls-${app}.csv`,
      toCsv(
        ["call_id", "room", "start_utc", "end_utc", "duration_s", "user_count"],
        calls.map((c) => [c.callId, roomOf(c), formatUtc(timestampMs(c.startTime)!), c.endTime ? formatUtc(timestampMs(c.endTime)!) : "", Math.round(durationSeconds(c.duration)), c.userCount]),
      ),
    ),
  );

  replace(main, h("h1", null, "Calls"), picker, presets, rangeForm, search, statusSlot, listSlot, h("div", { class: "toolbar" }, more, csv));
  void appPicker(picker, params)
    .then((chosen) => {
      app = chosen;
      return load(true);
    })
    .catch((reason) => replace(statusSlot, notice("error", fromConnectError(reason).message)));
}
