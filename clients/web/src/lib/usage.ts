/**
 * Pure helpers of the usage screen: a preset's range (ending at the next 5-minute boundary,
 * where GetUsage rounds anyway), datetime-local text in and out, and the R16 difference of a
 * total (line minutes summed minus the minutes settled from the total seconds).
 */

export const FIVE_MINUTES_MS = 5 * 60_000;

/** Presets: the last `hours` hours, ending at the next 5-minute boundary after `nowMs`. */
export function presetRange(hours: number, nowMs: number): { start: number; end: number } {
  const end = Math.ceil(nowMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
  return { start: end - hours * 3_600_000, end };
}

/** `2024-05-01T14:05` (an `<input type=datetime-local>` value) of `ms` in the browser's zone. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Milliseconds of a datetime-local value (the browser's zone); NaN when empty or malformed. */
export function fromLocalInput(text: string): number {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(text) ? new Date(text).getTime() : NaN;
}

/** A CategoryTotal's shape, minutes as numbers. */
export interface TotalLike {
  lineMinutes: number;
  settledMinutes: number;
}

/** R16: how many more minutes adding up the lines gives than settling the total (≥ 0). */
export function roundingDifference(t: TotalLike): number {
  return t.lineMinutes - t.settledMinutes;
}

/** The whole range's line and settled minutes over every category. */
export function sumTotals(totals: readonly TotalLike[]): TotalLike {
  return totals.reduce((a, t) => ({ lineMinutes: a.lineMinutes + t.lineMinutes, settledMinutes: a.settledMinutes + t.settledMinutes }), { lineMinutes: 0, settledMinutes: 0 });
}
