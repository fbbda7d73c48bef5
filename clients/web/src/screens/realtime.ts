/**
 * Real time (R21): the overview of the last closed slot with its stall levels, the scale and
 * quality charts (video and audio stall rates, each over its own stall bands), the rooms
 * table and the breakdowns (realtime_tables.ts), all updated once per 10-second slot by the frames of
 * MonitorService.SubscribeRealtime (a server stream over Connect, not polling). The history
 * comes from one GetRealtimeSeries; the stream resumes after its last point, so nothing is
 * missed or drawn twice; a dropped stream reconnects with resume_after. The frame's top_rooms
 * is the rooms table's first page in its default order (other orders and pages read
 * ListRealtimeRooms). Rooms and series
 * download as CSV. A free-edition account is told why the page is closed.
 */

import { api, fromConnectError } from "../api.js";
import type { RealtimeFigures } from "../../../node/src/gen/rtcconsole/v1/realtime_pb.js";
import type { SubscribeRealtimeResponse } from "../../../node/src/gen/rtcconsole/v1/realtime_stream_pb.js";
import { MediaKind } from "../../../node/src/gen/rtcconsole/v1/quality_pb.js";
import { lineChart, type Chart } from "../chart.js";
import { download, h, notice, replace, timeCell } from "../dom.js";
import { toCsv } from "../lib/csv.js";
import { formatClock, formatCount, formatPercent, formatUtc, timestampMs } from "../lib/format.js";
import { stallLevelName, stallTone } from "../lib/levels.js";
import { mergeSlots, slotColumns, SLOT_MS, type SlotPoint } from "../lib/series.js";
import { stallStrips, thresholds } from "../thresholds.js";
import { appPicker } from "./common.js";
import { breakdownPanel, roomsPanel, ROOMS_PAGE } from "./realtime_tables.js";

export function toPoint(t: number, f: RealtimeFigures | undefined): SlotPoint {
  return {
    t,
    onlineUsers: f?.onlineUsers ?? 0,
    abnormalUsers: f?.abnormalUsers ?? 0,
    onlineRooms: f?.onlineRooms ?? 0,
    videoStall: f?.videoStallRate?.percent ?? 0,
    audioStall: f?.audioStallRate?.percent ?? 0,
  };
}

function figureCard(label: string, value: string, tone = "none", title = ""): HTMLElement {
  return h("div", { class: `figure ${tone}`, title }, h("span", { class: "figure-label" }, label), h("span", { class: "figure-value" }, value));
}

export function realtimeScreen(main: HTMLElement, params: URLSearchParams): () => void {
  const abort = new AbortController();
  const picker = h("div", { class: "toolbar" });
  const statusSlot = h("div", { "data-testid": "stream-status" });
  const overview = h("section", { "aria-label": "Overview", class: "figures", "data-testid": "overview" });
  const chartsSlot = h("div", { class: "charts" });
  const tools = h("div", { class: "toolbar" });
  const tablesSlot = h("div", { class: "tables" });
  replace(main, h("h1", null, "Real time"), picker, statusSlot, overview, chartsSlot, tools, tablesSlot);

  let points: SlotPoint[] = [];
  let tables: { refresh(frame?: SubscribeRealtimeResponse): void }[] = [];
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Refreshes the tables once after a burst of frames (a resume replays several slots), from the last. */
  const refreshTables = (frame: SubscribeRealtimeResponse): void => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => tables.forEach((t) => t.refresh(frame)), 250);
  };
  let frames = 0;
  let charts: Chart[] = [];
  let maxPoints = 360;

  const showOverview = (slotStart: number, figures: RealtimeFigures | undefined): void => {
    const v = figures?.videoStallRate;
    const a = figures?.audioStallRate;
    replace(
      overview,
      h("p", { class: "slot", "data-testid": "slot", "data-slot": slotStart, title: formatUtc(slotStart) }, `Slot ${formatClock(slotStart)}–${formatClock(slotStart + SLOT_MS)}`),
      figureCard("Online users", formatCount(figures?.onlineUsers ?? 0)),
      figureCard("Abnormal users", formatCount(figures?.abnormalUsers ?? 0), (figures?.abnormalUsers ?? 0) > 0 ? "fair" : "none"),
      figureCard("Online rooms", formatCount(figures?.onlineRooms ?? 0)),
      figureCard("Video stall rate", `${formatPercent(v?.percent)} ${stallLevelName(v?.level ?? 0)}`, stallTone(v?.level ?? 0), `${v?.stallMs ?? 0} ms of ${v?.totalMs ?? 0} ms`),
      figureCard("Audio stall rate", `${formatPercent(a?.percent)} ${stallLevelName(a?.level ?? 0)}`, stallTone(a?.level ?? 0), `${a?.stallMs ?? 0} ms of ${a?.totalMs ?? 0} ms`),
    );
  };

  const scaleColumns = () => slotColumns(points, [(p) => p.onlineUsers, (p) => p.abnormalUsers, (p) => p.onlineRooms], SLOT_MS);
  const videoColumns = () => slotColumns(points, [(p) => p.videoStall], SLOT_MS);
  const audioColumns = () => slotColumns(points, [(p) => p.audioStall], SLOT_MS);
  const redraw = (): void => {
    const [scale, video, audio] = charts;
    scale?.update(scaleColumns());
    video?.update(videoColumns());
    audio?.update(audioColumns());
  };

  const onFrame = (frame: SubscribeRealtimeResponse): void => {
    const slotStart = timestampMs(frame.slotStart)!;
    frames += 1;
    points = mergeSlots(points, [toPoint(slotStart, frame.point?.figures ?? frame.figures)], maxPoints);
    showOverview(slotStart, frame.figures);
    refreshTables(frame);
    redraw();
    replace(
      statusSlot,
      notice("ok", "Live: ", h("span", { "data-testid": "frames", "data-frames": frames }, `${frames} frame(s)`), " received, the last at ", timeCell(timestampMs(frame.asOf)), frame.skipped > 0 ? ` (${frame.skipped} slot(s) skipped)` : "", frame.revision > 0 ? " (a revision: its slot's late records counted)" : ""),
    );
  };

  const subscribe = async (app: bigint): Promise<void> => {
    let delay = 1000;
    while (!abort.signal.aborted) {
      const last = points[points.length - 1];
      try {
        // The frame's top_rooms (20) is the rooms table's first page in its default order (decision 0034).
        const request = { sdkAppId: app, topRooms: ROOMS_PAGE, ...(last ? { resumeAfter: { seconds: BigInt(last.t / 1000), nanos: 0 } } : {}) };
        for await (const frame of api.monitor.subscribeRealtime(request, { signal: abort.signal })) {
          delay = 1000;
          onFrame(frame);
        }
      } catch (reason) {
        if (abort.signal.aborted) return;
        const error = fromConnectError(reason);
        if (error.codeName === "FAILED_PRECONDITION" || error.codeName === "NOT_FOUND" || error.codeName === "UNAUTHENTICATED") {
          replace(statusSlot, notice("error", error.message));
          return;
        }
        replace(statusSlot, notice("error", `The stream dropped (${error.message}); reconnecting in ${delay / 1000} s.`));
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  };

  const start = async (): Promise<void> => {
    const app = await appPicker(picker, params);
    if (app === undefined) return;
    let history;
    try {
      history = await api.monitor.getRealtimeSeries({ sdkAppId: app }, { signal: abort.signal });
    } catch (reason) {
      const error = fromConnectError(reason);
      if (error.errorInfo?.reason === "EDITION_REQUIRED") {
        replace(
          statusSlot,
          h(
            "div",
            { class: "card closed", "data-testid": "edition-closed" },
            h("h2", null, "Real-time monitoring is closed for this account"),
            h("p", null, `This account has the ${error.errorInfo.metadata.edition ?? "free"} dashboard edition; real time needs the basic (3 hours of look-back) or the advanced one (12 hours).`),
            h("p", null, "An operator sets it: ", h("code", null, "rtc-console admin account edition NAME basic"), "."),
            h("p", { class: "help" }, `The server said: ${error.rawMessage}`),
          ),
        );
        return;
      }
      throw error;
    }
    maxPoints = Math.max(360, Math.ceil(Number(history.lookBack?.seconds ?? 3600) / 10));
    points = history.points.map((p) => toPoint(timestampMs(p.slotStart)!, p.figures));
    const all = await thresholds();
    // Each stall rate over its own bands (audio's are lower than video's); the y range shows
    // the band above the green one, so that a climb towards yellow is visible.
    const stallChart = (title: string, label: string, color: string, media: MediaKind, data: ReturnType<typeof videoColumns>): Chart => {
      const bands = stallStrips(all, media, 100);
      const yellow = bands[1]?.to ?? 12;
      return lineChart({ title, lines: [{ label, color, unit: " %" }], bands, minMax: Math.min(100, yellow) }, data);
    };
    charts = [
      lineChart({ title: "Scale", lines: [{ label: "online users", color: "#2663c4" }, { label: "abnormal users", color: "#d0312d" }, { label: "online rooms", color: "#2e8540" }] }, scaleColumns()),
      stallChart("Quality: video stall rate (%)", "video stall", "#6b4fbb", MediaKind.VIDEO, videoColumns()),
      stallChart("Quality: audio stall rate (%)", "audio stall", "#c46b26", MediaKind.AUDIO, audioColumns()),
    ];
    charts[0]!.el.dataset.testid = "scale-chart";
    charts[1]!.el.dataset.testid = "quality-chart";
    charts[2]!.el.dataset.testid = "audio-quality-chart";
    replace(chartsSlot, ...charts.map((c) => c.el));
    const rooms = roomsPanel(app, abort.signal);
    const breakdown = breakdownPanel(app, abort.signal);
    tables = [rooms, breakdown];
    replace(tablesSlot, rooms.el, breakdown.el);
    tables.forEach((t) => t.refresh());
    redraw();
    const last = history.points[history.points.length - 1];
    if (last) showOverview(timestampMs(last.slotStart)!, last.figures);
    replace(statusSlot, notice("info", "Waiting for the next slot's frame…"));
    replace(
      tools,
      h("button", { type: "button", id: "series-csv", onclick: () => download(`realtime-series-${app}.csv`, seriesCsv(points)) }, "Download series (CSV)"),
    );
    await subscribe(app);
  };
  void start().catch((reason) => {
    if (!abort.signal.aborted) replace(statusSlot, notice("error", fromConnectError(reason).message));
  });

  return () => {
    abort.abort();
    clearTimeout(refreshTimer);
    charts.forEach((c) => c.destroy());
  };
}

export function seriesCsv(points: readonly SlotPoint[]): string {
  return toCsv(
    ["slot_start_utc", "online_users", "abnormal_users", "online_rooms", "video_stall_percent", "audio_stall_percent"],
    points.map((p) => [new Date(p.t).toISOString(), p.onlineUsers, p.abnormalUsers, p.onlineRooms, p.videoStall.toFixed(2), p.audioStall.toFixed(2)]),
  );
}
