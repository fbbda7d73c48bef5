/**
 * Pure helpers of the delayed operations (R7 lifecycle, R11 settings): how long until one
 * takes effect, when to look again, whether a secondary-auth token is still usable, and the
 * explanation of a refusal's precondition violations.
 */

import { formatDuration } from "./format.js";

/** "in 2 min 50 s", or "due now" once the instant has passed. */
export function untilText(effectiveMs: number, nowMs: number): string {
  const left = Math.ceil((effectiveMs - nowMs) / 1000);
  return left <= 0 ? "due now" : `in ${formatDuration(left)}`;
}

/**
 * Milliseconds to wait before reading a pending operation again: until its effective time
 * (plus a second), then every `afterDueMs` (the worker applies due work on its own interval).
 */
export function nextCheckMs(effectiveMs: number, nowMs: number, afterDueMs = 5000): number {
  const left = effectiveMs - nowMs;
  return left > 0 ? left + 1000 : afterDueMs;
}

/** Whether a token expiring at `expireMs` is still good for a call at `nowMs` (a minute's margin). */
export function tokenUsable(expireMs: number | undefined, nowMs: number, marginMs = 60_000): boolean {
  return expireMs !== undefined && expireMs - marginMs > nowMs;
}

/** A PreconditionFailure violation's shape. */
export interface Violation {
  type: string;
  subject: string;
  description: string;
}

/** One line per violation: "APP_STATUS (apps/123): disable it first". */
export function explainViolations(violations: readonly Violation[]): string[] {
  return violations.map((v) => `${v.type}${v.subject ? ` (${v.subject})` : ""}: ${v.description}`);
}
