/**
 * Time series of the charts: real-time slots merged as frames arrive (a frame replaces the
 * point of its own slot, late or replayed frames land in order, the window is capped), and
 * the columns uPlot draws (x in seconds, a null for each slot without a point so that gaps
 * show as gaps).
 */

/** One real-time slot: its start (ms since the epoch) and its figures. */
export interface SlotPoint {
  t: number;
  onlineUsers: number;
  abnormalUsers: number;
  onlineRooms: number;
  videoStall: number;
  audioStall: number;
}

/** The slot length of real-time monitoring (R21), in ms. */
export const SLOT_MS = 10_000;

/**
 * `points` with `incoming` merged in: sorted by slot, one point per slot (the incoming one wins:
 * a re-read of a slot may count late records), at most `maxPoints` (the newest kept).
 */
export function mergeSlots(points: readonly SlotPoint[], incoming: readonly SlotPoint[], maxPoints: number): SlotPoint[] {
  const bySlot = new Map<number, SlotPoint>();
  for (const p of points) bySlot.set(p.t, p);
  for (const p of incoming) bySlot.set(p.t, p);
  const merged = [...bySlot.values()].sort((a, b) => a.t - b.t);
  return merged.length > maxPoints ? merged.slice(merged.length - maxPoints) : merged;
}

/** uPlot's aligned data: x (s) then one column per field, null where a slot has no point. */
export type Columns = [number[], ...(number | null)[][]];

/**
 * Columns of `points` on a regular grid of `stepMs` from the first point to the last: a missing
 * step is a null in every field (a gap), so a skipped frame is never drawn as a straight line.
 */
export function slotColumns<P extends { t: number }>(
  points: readonly P[],
  fields: readonly ((p: P) => number)[],
  stepMs: number,
): Columns {
  const xs: number[] = [];
  const ys: (number | null)[][] = fields.map(() => []);
  const first = points[0];
  const last = points[points.length - 1];
  if (first === undefined || last === undefined) return [xs, ...ys];
  const byT = new Map(points.map((p) => [p.t, p] as const));
  for (let t = first.t; t <= last.t; t += stepMs) {
    xs.push(t / 1000);
    const p = byT.get(t);
    fields.forEach((f, i) => ys[i]!.push(p === undefined ? null : f(p)));
  }
  return [xs, ...ys];
}
