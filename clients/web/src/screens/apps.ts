/**
 * Applications (R2–R8): the list with its search (name or SDKAppID), and create. A refused
 * create shows each field violation of the BadRequest next to its field.
 */

import { api, fromConnectError } from "../api.js";
import { AppStatus, AppTransition, StopReason, type App } from "../../../node/src/gen/rtcconsole/v1/app_service_pb.js";
import { h, notice, replace, table, timeCell } from "../dom.js";
import { timestampMs } from "../lib/format.js";
import { field, showError } from "./common.js";

const REASONS: Record<number, string> = {
  [StopReason.DISABLED_BY_OWNER]: "disabled by the owner",
  [StopReason.PACKAGE_USED_UP]: "package used up",
  [StopReason.PACKAGE_EXPIRED]: "package expired",
  [StopReason.ARREARS]: "in arrears",
};
const TRANSITIONS: Record<number, string> = {
  [AppTransition.DISABLING]: "disabling",
  [AppTransition.ENABLING]: "enabling",
  [AppTransition.DELETING]: "deleting",
};

export function status(app: App): HTMLElement {
  const pending = TRANSITIONS[app.pendingTransition];
  if (app.status === AppStatus.STOPPED) {
    return h("span", { class: "badge bad" }, "Stopped", ": ", app.stopReasons.map((r) => REASONS[r] ?? String(r)).join(", "), pending ? ` (${pending} pending)` : "");
  }
  return h("span", { class: "badge ok" }, "Normal", pending ? ` (${pending} pending)` : "");
}

function row(app: App): HTMLElement[] {
  return [
    h("code", null, String(app.sdkAppId)),
    h("a", { href: `#/apps/${app.sdkAppId}`, title: app.description, class: "open-app" }, app.name),
    h("span", null, app.tags.map((t) => h("span", { class: "tag" }, `${t.key}: ${t.value}`))),
    status(app),
    h("span", null, timeCell(timestampMs(app.createTime))),
  ];
}

export function appsScreen(main: HTMLElement): void {
  const listSlot = h("div", { "data-testid": "app-list" });
  const listStatus = h("div");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let token = "";
  let shown: App[] = [];

  const search = h("input", { id: "app-search", type: "search", placeholder: "name or SDKAppID", maxlength: 20 });
  const load = async (reset: boolean): Promise<void> => {
    const text = search.value.trim();
    const filter = /^\d+$/.test(text) ? { sdkAppId: BigInt(text) } : { nameContains: text };
    try {
      const answer = await api.apps.listApps({ pageSize: 50, pageToken: reset ? "" : token, ...filter });
      shown = reset ? answer.apps : [...shown, ...answer.apps];
      token = answer.nextPageToken;
      more.hidden = token === "";
      replace(listStatus);
      replace(
        listSlot,
        shown.length === 0
          ? notice("info", text ? `No application matches “${text}”.` : "No application yet.")
          : table("Applications", ["SDKAppID", "Name", "Tags", "Status", "Created"], shown.map(row), { id: "apps-table" }),
      );
    } catch (reason) {
      replace(listStatus, notice("error", fromConnectError(reason).message));
    }
  };
  more.addEventListener("click", () => void load(false));

  const name = field("name", "Name", { maxlength: 15, required: true, autocomplete: "off" });
  const description = field("description", "Description (optional)", { maxlength: 15, autocomplete: "off" });
  const formStatus = h("div");
  const create: HTMLFormElement = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "create-title",
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        replace(formStatus, notice("info", "Creating…"));
        try {
          const answer = await api.apps.createApp({ name: name.input.value, description: description.input.value, requestId: crypto.randomUUID() });
          create.querySelectorAll(".field-error").forEach((el) => replace(el));
          name.input.removeAttribute("aria-invalid");
          replace(formStatus, notice("ok", `Created ${answer.app?.name} (SDKAppID ${answer.app?.sdkAppId}).`));
          create.reset();
          await load(true);
        } catch (reason) {
          showError(create, formStatus, reason);
        }
      },
    },
    h("h2", { id: "create-title" }, "Create an application"),
    h("p", { class: "help" }, "1–15 characters: letters, digits, CJK ideographs and _."),
    name.row,
    description.row,
    formStatus,
    h("button", { type: "submit" }, "Create"),
  );

  replace(
    main,
    h("h1", null, "Applications"),
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        { "aria-label": "Application list" },
        h(
          "form",
          { class: "toolbar", role: "search", onsubmit: (e: Event) => (e.preventDefault(), void load(true)) },
          h("label", { for: "app-search" }, "Search "),
          search,
          h("button", { type: "submit" }, "Search"),
        ),
        listStatus,
        listSlot,
        more,
      ),
      create,
    ),
  );
  void load(true);
}
