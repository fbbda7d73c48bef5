/**
 * The full link of one stream in call details (R19, R20): every other metric of the pair
 * (GetQualitySeries: frame rates, resolution, RTT, stall time, CPU, SDK task time, volume…),
 * each with its threshold bands (GetQualityThresholds, for the metric the series is judged by)
 * and its poor/severe points ringed; the user's client events (ListClientEvents) as grey
 * marks on every chart and listed with their parameters.
 */

import { api } from "../api.js";
import type { ClientEvent } from "../../../node/src/gen/rtcconsole/v1/quality_pb.js";
import { ClientEventType, MediaKind } from "../../../node/src/gen/rtcconsole/v1/quality_pb.js";
import { SeriesMetric } from "../../../node/src/gen/rtcconsole/v1/quality_series_pb.js";
import type { GetQualityThresholdsResponse, QualitySeries } from "../../../node/src/gen/rtcconsole/v1/monitor_service_pb.js";
import { lineChart, type Chart } from "../chart.js";
import { h, notice, replace, table, timeCell } from "../dom.js";
import { eventTypeName, seriesPair } from "../lib/callview.js";
import { timestampMs } from "../lib/format.js";
import { isMarked } from "../lib/levels.js";
import type { Columns } from "../lib/series.js";
import { metricBands, qualityStrips } from "../thresholds.js";
import { errorNotice } from "./common.js";
import { roomOf } from "./calls.js";

/** Shown from the overview already (GetUserView): not drawn twice. */
const OVERVIEW = new Set([SeriesMetric.PACKET_LOSS, SeriesMetric.BITRATE]);
const COLORS = ["#2663c4", "#6b4fbb", "#2e8540", "#c46b26", "#8a3b8f", "#0f7c86"];
const MEDIA: Record<number, string> = { [MediaKind.VIDEO]: "video", [MediaKind.AUDIO]: "audio", [MediaKind.SCREEN_SHARE]: "screen share" };

export const metricName = (m: SeriesMetric): string => (SeriesMetric[m] ?? "metric").toLowerCase().replaceAll("_", " ").replace("fps", "frame rate").replace("rtt", "RTT").replace("cpu", "CPU").replace("sdk", "SDK");

export const seriesColumns = (series: QualitySeries | undefined): Columns => {
  const pts = series?.points ?? [];
  return [pts.map((p) => timestampMs(p.time)! / 1000), pts.map((p) => p.value)];
};

export const breachPoints = (series: QualitySeries | undefined): { x: number; y: number }[] =>
  (series?.points ?? []).filter((p) => isMarked(p.level)).map((p) => ({ x: timestampMs(p.time)! / 1000, y: p.value }));

/** The user's client events in the call (up to 1,000), read once per user. */
export async function clientEvents(callId: string, userId: string): Promise<ClientEvent[]> {
  const answer = await api.monitor.listClientEvents({ callId, userId, pageSize: 1000 });
  return answer.events;
}

export function eventsTable(events: readonly ClientEvent[]): HTMLElement {
  if (events.length === 0) return notice("info", "No client event from this user in the call.");
  return h(
    "details",
    { "data-testid": "client-events", "data-count": events.length },
    h("summary", null, `Client events (${events.length}): grey marks on the charts`),
    table(
      "Client events",
      ["Time", "Event", "Peer", "Media", "Parameters"],
      events.map((e) => [timeCell(timestampMs(e.eventTime)), eventTypeName(ClientEventType[e.type]), e.peerId || "–", MEDIA[e.media] ?? "–", Object.entries(e.parameters).map(([k, v]) => `${k}=${v}`).join(", ") || "–"]),
      { id: "events-table" },
    ),
    h("p", { class: "help" }, `Room ${events[0] ? roomOf(events[0]) : ""}`),
  );
}

/**
 * Renders the stream's other metrics into `slot`; returns the charts (to destroy when the
 * view changes). `events` are instants in seconds.
 */
export async function fullLink(
  slot: HTMLElement,
  args: { callId: string; side: number; userId: string; peerId: string; media: MediaKind; all: GetQualityThresholdsResponse; events: readonly number[]; moments: readonly number[] },
): Promise<Chart[]> {
  replace(slot, notice("info", "Loading the full link…"));
  const pair = seriesPair(args.side, args.userId, args.peerId);
  let series: QualitySeries[];
  try {
    series = (await api.monitor.getQualitySeries({ callId: args.callId, ...pair, media: args.media, maxPoints: 600 })).series;
  } catch (reason) {
    replace(slot, errorNotice(reason));
    return [];
  }
  const shown = series.filter((s) => !OVERVIEW.has(s.metric) && s.points.length > 0);
  const charts = shown.map((s, i) => {
    const judged = s.judgedBy[0];
    const max = Math.max(1, ...s.points.map((p) => p.value)) * 1.1;
    const chart = lineChart(
      {
        title: `${metricName(s.metric)} (${s.unit})`,
        lines: [{ label: metricName(s.metric), color: COLORS[i % COLORS.length]!, unit: ` ${s.unit}` }],
        bands: judged === undefined ? [] : qualityStrips(metricBands(args.all, judged, args.media), max),
        breaches: breachPoints(s),
        moments: args.moments,
        events: args.events,
        height: 170,
      },
      seriesColumns(s),
    );
    chart.el.dataset.metric = SeriesMetric[s.metric] ?? "";
    return chart;
  });
  const empty = series.filter((s) => !OVERVIEW.has(s.metric) && s.points.length === 0).map((s) => metricName(s.metric));
  replace(
    slot,
    h("h3", null, `Full link: ${pair.peerId ? `${pair.peerId} → ${pair.userId}` : `${pair.userId}'s upstream`} · ${MEDIA[args.media] ?? ""}`),
    shown.length === 0 ? notice("info", "No other metric was measured on this link.") : h("div", { class: "charts", "data-testid": "full-link", "data-charts": shown.length }, charts.map((c) => c.el)),
    empty.length ? h("p", { class: "help" }, `Not measured on this link: ${empty.join(", ")}.`) : null,
  );
  return charts;
}
