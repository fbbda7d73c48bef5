/**
 * Formatting of the console's figures: instants in the browser's time zone (UTC on hover),
 * durations, counts and percentages. Pure functions of their arguments (the zone is a
 * parameter so that tests pin it), no DOM.
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** `2024-05-01 14:03:20` in `timeZone` (default: the browser's). */
export function formatLocal(ms: number, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}:${part("second")}`;
}

/** `14:03:20` in `timeZone` (default: the browser's): the time of a slot on a live screen. */
export function formatClock(ms: number, timeZone?: string): string {
  return formatLocal(ms, timeZone).slice(11);
}

/** `2024-05-01 12:03:20 UTC`: the hover text of every instant. */
export function formatUtc(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`
  );
}

/** A duration in seconds as `1 h 02 min`, `3 min 05 s` or `42 s` (negative reads as 0 s). */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${pad(m)} min`;
  if (m > 0) return `${m} min ${pad(s)} s`;
  return `${s} s`;
}

/** A percentage with `digits` decimals (default 1): `4.2 %`; `–` for a missing value. */
export function formatPercent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${value.toFixed(digits)} %`;
}

/** A count with thousands separators: `12,345`. */
export function formatCount(value: number | bigint): string {
  return new Intl.NumberFormat("en-US").format(value);
}

/** Milliseconds since the epoch of a protobuf Timestamp shape (`seconds` may be a bigint). */
export function timestampMs(ts: { seconds: bigint | number; nanos: number } | undefined): number | undefined {
  if (ts === undefined) return undefined;
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

/** Seconds of a protobuf Duration shape. */
export function durationSeconds(d: { seconds: bigint | number; nanos: number } | undefined): number {
  if (d === undefined) return 0;
  return Number(d.seconds) + d.nanos / 1e9;
}
