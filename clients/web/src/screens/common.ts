/** Pieces the screens share: the app picker of the monitoring screens and field errors. */

import { api, fromConnectError } from "../api.js";
import type { RtcConsoleError } from "../../../node/src/errors.js";
import { h, notice, replace } from "../dom.js";
import { formatDuration } from "../lib/format.js";
import { explainViolations } from "../lib/ops.js";

/** Sets `key=value` in the hash's query (navigation: the router re-renders). */
export function setParam(params: URLSearchParams, key: string, value: string | null): void {
  const next = new URLSearchParams(params);
  if (value === null || value === "") next.delete(key);
  else next.set(key, value);
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/apps";
  location.hash = `${path}${next.size ? `?${next}` : ""}`;
}

/**
 * A select of the account's apps (first 100, newest first) bound to `?app=`; resolves to the
 * chosen SDKAppID (the newest app when none is chosen) or undefined when there is no app.
 */
export async function appPicker(slot: HTMLElement, params: URLSearchParams): Promise<bigint | undefined> {
  const answer = await api.apps.listApps({ pageSize: 100 });
  const chosen = params.get("app");
  const select = h(
    "select",
    { id: "app-picker", onchange: () => setParam(params, "app", select.value) },
    answer.apps.map((a) => h("option", { value: String(a.sdkAppId), selected: String(a.sdkAppId) === chosen }, `${a.name} (${a.sdkAppId})`)),
  );
  replace(slot, h("label", { for: "app-picker" }, "Application "), select);
  if (answer.apps.length === 0) {
    replace(slot, notice("info", "No application yet: create one on the Applications screen."));
    return undefined;
  }
  return BigInt(select.value);
}

/** Clears the field errors shown in `form` (after a success). */
export function clearErrors(form: HTMLElement): void {
  form.querySelectorAll(".field-error").forEach((el) => replace(el));
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
}

/** Shows an error: its field violations next to the inputs named `field-<prefix><name>` (the last part of the violation's path), the rest in `slot`. */
export function showError(form: HTMLElement, slot: HTMLElement, reason: unknown, prefix = ""): RtcConsoleError {
  const error = fromConnectError(reason);
  clearErrors(form);
  const unplaced: string[] = [];
  for (const v of error.fieldViolations) {
    const name = prefix + (v.field.split(".").pop() ?? v.field);
    const errorEl = form.querySelector(`#error-${CSS.escape(name)}`);
    if (errorEl) {
      replace(errorEl, v.description);
      form.querySelector(`#field-${CSS.escape(name)}`)?.setAttribute("aria-invalid", "true");
    } else unplaced.push(`${v.field}: ${v.description}`);
  }
  // A precondition about one field (e.g. CALLBACK_DESTINATION_FORBIDDEN on room_event_url) is
  // shown next to it too; the notice still lists every precondition.
  for (const p of error.preconditionViolations) {
    const errorEl = p.subject === "" ? null : form.querySelector(`#error-${CSS.escape(prefix + p.subject)}`);
    if (errorEl) {
      replace(errorEl, p.description);
      form.querySelector(`#field-${CSS.escape(prefix + p.subject)}`)?.setAttribute("aria-invalid", "true");
    }
  }
  const placed = error.fieldViolations.length - unplaced.length;
  if (placed === 0) replace(slot, errorNotice(reason));
  else replace(slot, notice("error", `${error.codeName}: see the fields.`, unplaced.map((u) => [h("br"), u])));
  return error;
}

/** An input with its label and the slot its field violation goes to. */
export function field(name: string, label: string, attrs: Record<string, string | number | boolean> = {}): { row: HTMLElement; input: HTMLInputElement } {
  const input = h("input", { id: `field-${name}`, name, "aria-describedby": `error-${name}`, ...attrs });
  const row = h("div", { class: "field" }, h("label", { for: `field-${name}` }, label), input, h("p", { id: `error-${name}`, class: "field-error", "aria-live": "polite" }));
  return { row, input };
}

/**
 * An error as the API gave it: the status and message, then each precondition violation
 * (why a FAILED_PRECONDITION was refused) and the retry delay of a RESOURCE_EXHAUSTED.
 */
export function errorNotice(reason: unknown): HTMLElement {
  const error = fromConnectError(reason);
  const lines = explainViolations(error.preconditionViolations);
  const retry = error.retryInfo?.retryDelay;
  return notice(
    "error",
    error.message,
    lines.length ? h("ul", { class: "violations" }, lines.map((l) => h("li", null, l))) : null,
    retry ? h("br") : null,
    retry ? `Try again in ${formatDuration(Number(retry.seconds))}.` : null,
  );
}
