/**
 * The render helper: `h(tag, attrs, ...children)` builds an element (attributes set as
 * attributes, `on*` functions as listeners, children as nodes or text: never parsed as HTML,
 * so text from the API cannot inject markup), plus the few widgets every screen uses.
 */

import { formatLocal, formatUtc } from "./lib/format.js";
import { untilText } from "./lib/ops.js";

export type Child = Node | string | number | bigint | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (typeof value === "function") el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else if (child !== null && child !== undefined && child !== false) el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** An instant in the browser's zone, its UTC form on hover (and in `datetime`). */
export function timeCell(ms: number | undefined): Node {
  if (ms === undefined) return document.createTextNode("–");
  return h("time", { datetime: new Date(ms).toISOString(), title: formatUtc(ms) }, formatLocal(ms));
}

/**
 * "(in 2 min 50 s)" until `effectiveMs`, ticking every second (R7 operations, R11 settings
 * changes), then "(due now)"; `data-left` holds the seconds left. The timer stops when the
 * instant has passed or the element has left the page.
 */
export function countdown(effectiveMs: number): HTMLElement {
  const el = h("span", { class: "countdown" });
  const tick = (): boolean => {
    const now = Date.now();
    el.textContent = `(${untilText(effectiveMs, now)})`;
    el.dataset.left = String(Math.max(0, Math.ceil((effectiveMs - now) / 1000)));
    return effectiveMs > now;
  };
  if (tick()) {
    const timer = setInterval(() => {
      if (!el.isConnected || !tick()) clearInterval(timer);
    }, 1000);
  }
  return el;
}

/** A table with a caption for screen readers; `rows` are arrays of cells. */
export function table(caption: string, header: readonly string[], rows: readonly Child[][], attrs: Attrs = {}): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      attrs,
      h("caption", { class: "sr-only" }, caption),
      h("thead", null, h("tr", null, header.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, rows.map((r) => h("tr", null, r.map((c) => h("td", null, c))))),
    ),
  );
}

/** A one-line notice: `error` (role alert), `info`, or `ok`. */
export function notice(kind: "error" | "info" | "ok", ...text: Child[]): HTMLElement {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...text);
}

/** Starts a download of `text` as `filename` (a Blob URL: nothing leaves the browser). */
export function download(filename: string, text: string, type = "text/csv;charset=utf-8"): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
