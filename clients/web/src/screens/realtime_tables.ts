/**
 * The real-time page's tables: the rooms of the slot (ListRealtimeRooms: sortable by each
 * column, 20 a page) and the breakdown by a session attribute (GetRealtimeBreakdown: the top
 * values and the rest summed), each downloadable as CSV. Both follow the stream without polling
 * (`refresh` on each new slot's frame): the rooms table's first page in its default order (most
 * online users first) is the frame's own `top_rooms` (decision 0034: no call), another order
 * re-reads ListRealtimeRooms, and a page past the first stays on its slot (the pages of one
 * listing describe the same slot) until "First page". The breakdown re-reads GetRealtimeBreakdown.
 */

import { api, fromConnectError } from "../api.js";
import type { SubscribeRealtimeResponse } from "../../../node/src/gen/rtcconsole/v1/realtime_stream_pb.js";
import { RealtimeDimension, RealtimeRoomOrder, type RealtimeFigures, type RealtimeRoom } from "../../../node/src/gen/rtcconsole/v1/realtime_pb.js";
import { download, h, notice, replace } from "../dom.js";
import { toCsv } from "../lib/csv.js";
import { formatClock, formatCount, formatPercent, timestampMs } from "../lib/format.js";
import { stallTone } from "../lib/levels.js";
import { ariaSort, breakdownRows, nextSort, Pager, type BreakdownFigures, type Sort } from "../lib/tables.js";
import { roomOf } from "./calls.js";

/** Rooms a page, and the top_rooms asked of SubscribeRealtime (its maximum). */
export const ROOMS_PAGE = 20;
const PAGE = ROOMS_PAGE;
/** ListRealtimeRooms ranks at most this many room keys of a slot. */
const RANKED = 10_000;
const COLUMNS: [string, RealtimeRoomOrder][] = [
  ["Room", RealtimeRoomOrder.ROOM],
  ["Online users", RealtimeRoomOrder.ONLINE_USERS],
  ["Abnormal users", RealtimeRoomOrder.ABNORMAL_USERS],
  ["Video stall", RealtimeRoomOrder.VIDEO_STALL_RATE],
  ["Audio stall", RealtimeRoomOrder.AUDIO_STALL_RATE],
];
export const DIMENSIONS: [string, RealtimeDimension][] = [
  ["Country", RealtimeDimension.COUNTRY],
  ["Province", RealtimeDimension.PROVINCE],
  ["Network", RealtimeDimension.NETWORK],
  ["Device", RealtimeDimension.DEVICE],
  ["SDK version", RealtimeDimension.SDK_VERSION],
  ["Carrier", RealtimeDimension.CARRIER],
];

const stallCell = (rate: RealtimeFigures["videoStallRate"]): HTMLElement =>
  h("span", { class: `tone-${stallTone(rate?.level ?? 0)}`, title: `${rate?.stallMs ?? 0} ms of ${rate?.totalMs ?? 0} ms` }, formatPercent(rate?.percent));

const DEFAULT_SORT: Sort<RealtimeRoomOrder> = { key: RealtimeRoomOrder.ONLINE_USERS, ascending: false };

/**
 * The rooms panel; `refresh(frame)` shows the first page of a new slot (call it on each frame):
 * the frame's top_rooms in the default order, else ListRealtimeRooms; without a frame it reads.
 */
export function roomsPanel(app: bigint, signal: AbortSignal): { el: HTMLElement; refresh(frame?: SubscribeRealtimeResponse): void } {
  const el = h("section", { "aria-label": "Rooms", "data-testid": "rooms" });
  let sort: Sort<RealtimeRoomOrder> = DEFAULT_SORT;
  /** The page shown is a frame's top_rooms (no page token: Next reads the listing first). */
  let fromFrame = false;
  const pager = new Pager();
  let rooms: RealtimeRoom[] = [];
  let slotStart = 0;
  let total = 0;
  let truncated = false;
  let problem: HTMLElement | null = null;

  const load = async (): Promise<void> => {
    try {
      const answer = await api.monitor.listRealtimeRooms({ sdkAppId: app, orderBy: sort.key, ascending: sort.ascending, pageSize: PAGE, pageToken: pager.current }, { signal });
      rooms = answer.rooms;
      slotStart = timestampMs(answer.slotStart) ?? 0;
      total = answer.totalSize;
      truncated = answer.truncated;
      pager.answered(answer.nextPageToken);
      fromFrame = false;
      problem = null;
    } catch (reason) {
      if (signal.aborted) return;
      problem = notice("error", fromConnectError(reason).message);
    }
    render();
  };

  /** Shows a frame's top_rooms as the first page; false when the frame has none to show. */
  const showFrame = (frame: SubscribeRealtimeResponse): boolean => {
    const online = frame.figures?.onlineRooms ?? 0;
    // A replayed frame of a slot over 10 minutes old carries no rooms: read the listing.
    if (frame.topRooms.length === 0 && online > 0) return false;
    rooms = frame.topRooms;
    slotStart = timestampMs(frame.slotStart) ?? 0;
    total = online;
    truncated = online > RANKED;
    pager.answered("");
    fromFrame = true;
    problem = null;
    render();
    return true;
  };

  const next = async (): Promise<void> => {
    if (fromFrame) await load(); // the listing's first page, for its next_page_token
    if (!pager.hasNext) return;
    pager.forward();
    await load();
  };

  const header = (label: string, key: RealtimeRoomOrder): HTMLElement =>
    h(
      "th",
      { scope: "col", "aria-sort": ariaSort(sort, key) },
      h(
        "button",
        {
          type: "button",
          class: "sort",
          "data-order": key,
          onclick: () => {
            sort = nextSort(sort, key, (k) => k === RealtimeRoomOrder.ROOM);
            pager.reset();
            void load();
          },
        },
        label,
        sort.key === key ? (sort.ascending ? " ▲" : " ▼") : "",
      ),
    );

  const render = (): void => {
    const first = pager.index * PAGE + 1;
    replace(
      el,
      h("h2", null, `Rooms online (slot ${formatClock(slotStart)})`),
      problem,
      rooms.length === 0
        ? notice("info", "No room online in this slot.")
        : h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { id: "rooms-table", "data-slot": slotStart, "data-page": pager.index, "data-source": fromFrame ? "frame" : "list" },
              h("caption", { class: "sr-only" }, "Rooms online; the column buttons sort"),
              h("thead", null, h("tr", null, COLUMNS.map(([label, key]) => header(label, key)))),
              h(
                "tbody",
                null,
                rooms.map((r) =>
                  h("tr", null, h("td", null, h("code", null, roomOf(r))), h("td", null, r.figures?.onlineUsers ?? 0), h("td", null, r.figures?.abnormalUsers ?? 0), h("td", null, stallCell(r.figures?.videoStallRate)), h("td", null, stallCell(r.figures?.audioStallRate))),
                ),
              ),
            ),
          ),
      h(
        "div",
        { class: "toolbar" },
        h("span", { class: "help", "data-testid": "rooms-range" }, rooms.length ? `${first}–${first + rooms.length - 1} of ${total}${truncated ? " (over 10,000 online: the first 10,000 room keys ranked)" : ""}` : ""),
        h("button", { type: "button", id: "rooms-first", disabled: !pager.hasPrevious, onclick: () => (pager.reset(), void load()) }, "First page"),
        h("button", { type: "button", id: "rooms-prev", disabled: !pager.hasPrevious, onclick: () => (pager.back(), void load()) }, "Previous"),
        h("button", { type: "button", id: "rooms-next", disabled: !(pager.hasNext || (fromFrame && total > rooms.length)), onclick: () => void next() }, "Next"),
        h("button", { type: "button", id: "rooms-csv", onclick: () => download(`realtime-rooms-${app}-${slotStart / 1000}.csv`, roomsCsv(slotStart, rooms)) }, "Download rooms (CSV)"),
      ),
    );
  };
  render();
  const isDefault = (): boolean => sort.key === DEFAULT_SORT.key && sort.ascending === DEFAULT_SORT.ascending;
  return {
    el,
    refresh: (frame) => {
      if (pager.index !== 0) return;
      if (frame !== undefined && isDefault() && showFrame(frame)) return;
      void load();
    },
  };
}

const figuresOf = (value: string, f: RealtimeFigures | undefined): BreakdownFigures => ({
  value,
  onlineUsers: f?.onlineUsers ?? 0,
  abnormalUsers: f?.abnormalUsers ?? 0,
  videoStall: f?.videoStallRate?.percent ?? 0,
  audioStall: f?.audioStallRate?.percent ?? 0,
});

/** The breakdown panel; `refresh()` re-reads it (call it on each new slot; the frame is not used). */
export function breakdownPanel(app: bigint, signal: AbortSignal): { el: HTMLElement; refresh(): void } {
  const el = h("section", { "aria-label": "Breakdown", "data-testid": "breakdown" });
  const slot = h("div");
  const dimension = h("select", { id: "breakdown-dimension", onchange: () => void load() }, DIMENSIONS.map(([label, d]) => h("option", { value: d }, label)));
  const top = h("input", { id: "field-top", type: "number", min: 1, max: 100, value: 10, inputmode: "numeric", "aria-describedby": "error-top", onchange: () => void load() });
  const topError = h("p", { id: "error-top", class: "field-error", "aria-live": "polite" });
  let csv = "";
  let slotStart = 0;

  const load = async (): Promise<void> => {
    const dim = Number(dimension.value) as RealtimeDimension;
    const label = DIMENSIONS.find(([, d]) => d === dim)?.[0] ?? "";
    try {
      const answer = await api.monitor.getRealtimeBreakdown({ sdkAppId: app, dimension: dim, top: Number(top.value) }, { signal });
      replace(topError);
      top.removeAttribute("aria-invalid");
      slotStart = timestampMs(answer.slotStart) ?? 0;
      const rows = breakdownRows(answer.values.map((v) => figuresOf(v.value, v.figures)), answer.rest ? figuresOf("", answer.rest.figures) : undefined, answer.valueCount);
      const restCount = answer.valueCount - answer.values.length;
      const name = (r: (typeof rows)[number]): string => (r.kind === "rest" ? `the other ${restCount} value(s)` : r.value === "" ? "(not reported)" : r.value);
      csv = toCsv(
        ["slot_start_utc", "dimension", "kind", "value", "online_users", "share_percent", "abnormal_users", "video_stall_percent", "audio_stall_percent"],
        rows.map((r) => [new Date(slotStart).toISOString(), label.toLowerCase(), r.kind, r.kind === "rest" ? "" : r.value, r.onlineUsers, r.share.toFixed(2), r.abnormalUsers, r.videoStall.toFixed(2), r.audioStall.toFixed(2)]),
      );
      replace(
        slot,
        rows.length === 0
          ? notice("info", "Nobody online in this slot.")
          : h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { id: "breakdown-table", "data-slot": slotStart, "data-values": answer.valueCount },
                h("caption", { class: "sr-only" }, `Online users by ${label}`),
                h("thead", null, h("tr", null, [label, "Online users", "Share", "Abnormal users", "Video stall", "Audio stall"].map((c) => h("th", { scope: "col" }, c)))),
                h(
                  "tbody",
                  null,
                  rows.map((r, i) => {
                    const f = r.kind === "rest" ? answer.rest?.figures : answer.values[i]?.figures;
                    return h("tr", { class: r.kind === "rest" ? "rest" : null }, h("td", null, name(r)), h("td", null, formatCount(r.onlineUsers)), h("td", null, formatPercent(r.share)), h("td", null, r.abnormalUsers), h("td", null, stallCell(f?.videoStallRate)), h("td", null, stallCell(f?.audioStallRate)));
                  }),
                ),
              ),
            ),
        h("p", { class: "help" }, `${answer.valueCount} distinct value(s) in the slot ${formatClock(slotStart)}.`),
      );
    } catch (reason) {
      if (signal.aborted) return;
      const error = fromConnectError(reason);
      const v = error.fieldViolations.find((f) => f.field === "top");
      if (v) {
        replace(topError, v.description);
        top.setAttribute("aria-invalid", "true");
      } else replace(slot, notice("error", error.message));
    }
  };

  replace(
    el,
    h("h2", null, "Breakdown"),
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "breakdown-dimension" }, "By "),
      dimension,
      h("label", { for: "field-top" }, "Top "),
      top,
      h("button", { type: "button", id: "breakdown-csv", onclick: () => download(`realtime-breakdown-${app}-${Number(dimension.value)}-${slotStart / 1000}.csv`, csv) }, "Download breakdown (CSV)"),
    ),
    topError,
    slot,
  );
  return { el, refresh: () => void load() };
}

export function roomsCsv(slotStart: number, rooms: readonly RealtimeRoom[]): string {
  return toCsv(
    ["slot_start_utc", "room", "online_users", "abnormal_users", "video_stall_percent", "audio_stall_percent"],
    rooms.map((r) => [new Date(slotStart).toISOString(), roomOf(r), r.figures?.onlineUsers ?? 0, r.figures?.abnormalUsers ?? 0, (r.figures?.videoStallRate?.percent ?? 0).toFixed(2), (r.figures?.audioStallRate?.percent ?? 0).toFixed(2)]),
  );
}
