/**
 * Pure helpers of the settings screen: the update mask of a form (the paths whose value the
 * person changed), a delivery's last attempt in a line, and a setting's state in words.
 */

/** The keys of `next` whose value differs from `current` (the update_mask paths), in `next` order. */
export function changedPaths(current: Readonly<Record<string, string>>, next: Readonly<Record<string, string>>): string[] {
  return Object.keys(next).filter((k) => (current[k] ?? "") !== next[k]);
}

/** An attempt's shape (DeliveryAttempt). */
export interface AttemptLike {
  attempt: number;
  statusCode: number;
  error: string;
}

/** "attempt 3: HTTP 500" / "attempt 1: HTTP 200" / "attempt 2: timeout after 5s" / "not attempted yet". */
export function lastAttemptText(attempts: readonly AttemptLike[]): string {
  const last = attempts[attempts.length - 1];
  if (last === undefined) return "not attempted yet";
  const what = last.error !== "" ? last.error : `HTTP ${last.statusCode}`;
  return `attempt ${last.attempt}: ${what}`;
}

/**
 * The state of a delayed setting: the effective text, and when a change waits, "→ pending
 * (takes effect at …)"; `same` when the pending settings equal the effective ones.
 */
export function settingState(effective: string, pending: string | undefined): { effective: string; pending: string | undefined } {
  return { effective, pending: pending === undefined || pending === effective ? undefined : pending };
}
