/**
 * Renaming an application (UpdateApp, R2, R5): its name and description, saved with an update
 * mask of the changed fields only; each field violation (e.g. a name outside R2's alphabet)
 * stands under its field.
 */

import { api } from "../api.js";
import type { App } from "../../../node/src/gen/rtcconsole/v1/app_service_pb.js";
import { h, notice, replace } from "../dom.js";
import { field, showError } from "./common.js";

/** The rename form of `app`; `saved` runs after a successful update (to re-read the app). */
export function renameForm(app: App, saved: () => Promise<void>): HTMLElement {
  // Field ids `field-app-<name>`: a violation of `app.name` lands under the name (prefix "app-").
  const name = field("app-name", "Name (1–15: letters, digits, CJK, _)", { value: app.name, autocomplete: "off", required: true });
  const description = field("app-description", "Description (0–15, same alphabet)", { value: app.description, autocomplete: "off" });
  const status = h("div", { "data-testid": "rename-status" });
  const form: HTMLFormElement = h(
    "form",
    {
      class: "toolbar tag-form",
      id: "app-rename",
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const next = { name: name.input.value.trim(), description: description.input.value.trim() };
        const paths = (["name", "description"] as const).filter((k) => next[k] !== app[k]);
        if (paths.length === 0) {
          replace(status, notice("info", "Nothing changed."));
          return;
        }
        try {
          await api.apps.updateApp({ app: { sdkAppId: app.sdkAppId, ...next }, updateMask: { paths: [...paths] } });
          await saved();
        } catch (reason) {
          showError(form, status, reason, "app-");
        }
      },
    },
    name.row,
    description.row,
    h("button", { type: "submit", id: "app-rename-save" }, "Save"),
  );
  return h("section", { "aria-label": "Rename", "data-testid": "app-rename" }, h("h2", null, "Name and description"), form, status);
}
