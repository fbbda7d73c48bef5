/**
 * The call list (R17): one app's calls in a preset range (today, yesterday, the last 6 hours,
 * the last 14 days), searched by room or user, newest first; each opens its details.
 */

import { api, fromConnectError } from "../api.js";
import { CallRange, type Call } from "../../../node/src/gen/rtcconsole/v1/monitor_service_pb.js";
import { download, h, notice, replace, table, timeCell } from "../dom.js";
import { toCsv } from "../lib/csv.js";
import { durationSeconds, formatDuration, formatUtc, timestampMs } from "../lib/format.js";
import { appPicker, setParam } from "./common.js";

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
  const range = Number(params.get("range") ?? CallRange.LAST_14_DAYS) as CallRange;
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
      h("button", { type: "button", role: "radio", "aria-checked": String(value === range), onclick: () => setParam(params, "range", String(value)) }, label),
    ),
  );
  const search = h(
    "form",
    {
      class: "toolbar",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const next = new URLSearchParams(params);
        for (const [k, input] of [["room", room], ["user", user]] as const) {
          if (input.value.trim()) next.set(k, input.value.trim());
          else next.delete(k);
        }
        location.hash = `#/calls?${next}`;
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
      const answer = await api.monitor.listCalls({ sdkAppId: app, range, userId: params.get("user") ?? "", pageSize: 50, pageToken: reset ? "" : token, ...roomFilter });
      calls = reset ? answer.calls : [...calls, ...answer.calls];
      token = answer.nextPageToken;
      more.hidden = token === "";
      csv.disabled = calls.length === 0;
      const from = timestampMs(answer.startTime)!;
      const to = timestampMs(answer.endTime)!;
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
      replace(statusSlot, notice("error", fromConnectError(reason).message));
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

  replace(main, h("h1", null, "Calls"), picker, presets, search, statusSlot, listSlot, h("div", { class: "toolbar" }, more, csv));
  void appPicker(picker, params)
    .then((chosen) => {
      app = chosen;
      return load(true);
    })
    .catch((reason) => replace(statusSlot, notice("error", fromConnectError(reason).message)));
}
