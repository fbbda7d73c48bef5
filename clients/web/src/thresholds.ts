/** GetQualityThresholds, read once per page: the bands every chart draws (no figure hard-coded). */

import { api } from "./api.js";
import type { GetQualityThresholdsResponse, MetricThresholds } from "../../node/src/gen/rtcconsole/v1/monitor_service_pb.js";
import type { QualityMetric } from "../../node/src/gen/rtcconsole/v1/monitor_service_pb.js";
import type { MediaKind } from "../../node/src/gen/rtcconsole/v1/quality_pb.js";
import type { BandStrip } from "./chart.js";
import { strips } from "./lib/levels.js";

let cached: Promise<GetQualityThresholdsResponse> | undefined;

export function thresholds(): Promise<GetQualityThresholdsResponse> {
  cached ??= api.monitor.getQualityThresholds({});
  cached.catch(() => (cached = undefined));
  return cached;
}

/** The bands of `metric` that judge `media` (a device metric's bands judge every kind). */
export function metricBands(all: GetQualityThresholdsResponse, metric: QualityMetric, media: MediaKind): MetricThresholds | undefined {
  return all.metrics.find((m) => m.metric === metric && (m.media.length === 0 || m.media.includes(media)));
}

/** Quality levels 1–5 as translucent fills (best/good green, fair yellow, poor/severe red). */
const QUALITY_FILL = ["transparent", "rgba(46,160,67,.10)", "rgba(46,160,67,.10)", "rgba(210,153,34,.16)", "rgba(208,49,45,.14)", "rgba(208,49,45,.24)"];
/** Stall levels by the seed's colours (green, yellow, red). */
const STALL_FILL: Record<string, string> = { green: "rgba(46,160,67,.10)", yellow: "rgba(210,153,34,.16)", red: "rgba(208,49,45,.16)" };

export function qualityStrips(m: MetricThresholds | undefined, max: number): BandStrip[] {
  if (m === undefined) return [];
  return strips(m.bands, 0, max).map((s) => ({ from: s.from, to: s.to, color: QUALITY_FILL[s.level] ?? "transparent" }));
}

export function stallStrips(all: GetQualityThresholdsResponse, media: MediaKind, max: number): BandStrip[] {
  const t = all.stallRates.find((s) => s.media === media);
  if (t === undefined) return [];
  const colors = new Map(t.bands.map((b) => [b.level, b.color]));
  return strips(t.bands, 0, max).map((s) => ({ from: s.from, to: s.to, color: STALL_FILL[colors.get(s.level) ?? ""] ?? "transparent" }));
}
