/**
 * Threshold bands and levels (R20, R21) as GetQualityThresholds serves them: which band a value
 * falls in, which levels are marked on a chart (POOR and SEVERE: the seed's red), and the bands
 * clipped to a chart's visible range. No figure is hard-coded here: the bands come from the API.
 */

/** ThresholdRange: an unset edge is unbounded. */
export interface Range {
  lower?: number | undefined;
  lowerInclusive: boolean;
  upper?: number | undefined;
  upperInclusive: boolean;
}

export interface Band<L = number> {
  level: L;
  range?: Range | undefined;
}

/** Whether `value` is inside `range` (the proto's rule: each edge open unless inclusive). */
export function inRange(value: number, range: Range): boolean {
  if (range.lower !== undefined) {
    if (range.lowerInclusive ? value < range.lower : value <= range.lower) return false;
  }
  if (range.upper !== undefined) {
    if (range.upperInclusive ? value > range.upper : value >= range.upper) return false;
  }
  return true;
}

/** The band `value` falls in, or undefined when none holds it. */
export function bandOf<B extends Band<unknown>>(value: number, bands: readonly B[]): B | undefined {
  return bands.find((b) => b.range !== undefined && inRange(value, b.range));
}

/** QualityLevel numbers (monitor_service.proto). */
export const QUALITY_LEVEL = { UNSPECIFIED: 0, BEST: 1, GOOD: 2, FAIR: 3, POOR: 4, SEVERE: 5 } as const;

/** The seed marks POOR and SEVERE values on its charts (a red line). */
export function isMarked(level: number): boolean {
  return level === QUALITY_LEVEL.POOR || level === QUALITY_LEVEL.SEVERE;
}

const QUALITY_NAMES = ["", "best", "good", "fair", "poor", "severe"];
/** `best` … `severe`; "" when not judged. */
export function qualityLevelName(level: number): string {
  return QUALITY_NAMES[level] ?? "";
}

/** The CSS tone of a quality level: ok (best, good), fair, bad (poor, severe), none. */
export function qualityTone(level: number): "ok" | "fair" | "bad" | "none" {
  if (level === QUALITY_LEVEL.BEST || level === QUALITY_LEVEL.GOOD) return "ok";
  if (level === QUALITY_LEVEL.FAIR) return "fair";
  if (isMarked(level)) return "bad";
  return "none";
}

/** RealtimeStallLevel / StallLevel numbers share 1 low (green), 2 high (yellow), 3 very high (red). */
const STALL = [
  { name: "", tone: "none" },
  { name: "low", tone: "ok" },
  { name: "high", tone: "fair" },
  { name: "very high", tone: "bad" },
] as const;

export function stallLevelName(level: number): string {
  return STALL[level]?.name ?? "";
}

export function stallTone(level: number): "ok" | "fair" | "bad" | "none" {
  return STALL[level]?.tone ?? "none";
}

/** A band as a horizontal strip of a chart: [from, to] in the metric's unit, clipped. */
export interface Strip<L> {
  from: number;
  to: number;
  level: L;
}

/**
 * The bands' strips inside [min, max] (a chart's y range), in band order; bands entirely
 * outside are dropped, unbounded edges become the range's edges.
 */
export function strips<L>(bands: readonly Band<L>[], min: number, max: number): Strip<L>[] {
  const out: Strip<L>[] = [];
  for (const b of bands) {
    if (b.range === undefined) continue;
    const from = Math.max(min, b.range.lower ?? -Infinity);
    const to = Math.min(max, b.range.upper ?? Infinity);
    if (to > from) out.push({ from, to, level: b.level });
  }
  return out;
}
