/**
 * The account's tag catalog `#/tags` (R8): every key/value pair (ListTags, 100 a page, "Load
 * more"), filtered by key, with the apps that carry each pair among the account's first 100;
 * add a pair (CreateTag) and delete one (DeleteTag: refused while an app carries it, the
 * refusal shown as the API gives it).
 */

import { api, fromConnectError } from "../api.js";
import type { App, Tag } from "../../../node/src/gen/rtcconsole/v1/app_service_pb.js";
import { h, notice, replace, table } from "../dom.js";
import { clearErrors, errorNotice, field, setParam, showError } from "./common.js";

const same = (a: Tag, b: Tag): boolean => a.key === b.key && a.value === b.value;

export function tagsScreen(main: HTMLElement, params: URLSearchParams): void {
  const keyFilter = params.get("key") ?? "";
  const listSlot = h("div", { "data-testid": "tag-catalog" });
  const status = h("div");
  const more = h("button", { type: "button", hidden: true, id: "tags-more" }, "Load more");
  let tags: Tag[] = [];
  let apps: App[] = [];
  let token = "";

  const render = (): void => {
    listSlot.dataset.key = keyFilter; // what the list shows, for people's tools and the tests
    replace(
      listSlot,
      tags.length === 0
        ? notice("info", keyFilter ? `No tag with the key ${keyFilter}.` : "The catalog is empty.")
        : table(
            "Tag catalog",
            ["Key", "Value", "Apps", ""],
            tags.map((t) => {
              const carriers = apps.filter((a) => a.tags.some((x) => same(x, t)));
              return [
                t.key,
                t.value,
                carriers.length === 0 ? "–" : carriers.map((a, i) => [i ? ", " : "", h("a", { href: `#/apps/${a.sdkAppId}` }, a.name)]),
                h("button", { type: "button", class: "link", "aria-label": `Delete ${t.key}: ${t.value}`, onclick: () => void remove(t) }, "Delete"),
              ];
            }),
            { id: "tags-table", "data-count": tags.length },
          ),
    );
  };

  const load = async (reset: boolean): Promise<void> => {
    try {
      const [answer, listed] = await Promise.all([api.apps.listTags({ pageSize: 100, key: keyFilter, pageToken: reset ? "" : token }), reset ? api.apps.listApps({ pageSize: 100 }) : Promise.resolve({ apps })]);
      tags = reset ? answer.tags : [...tags, ...answer.tags];
      apps = listed.apps;
      token = answer.nextPageToken;
      more.hidden = token === "";
      render();
    } catch (reason) {
      replace(listSlot, errorNotice(reason));
    }
  };

  const remove = async (tag: Tag): Promise<void> => {
    try {
      await api.apps.deleteTag({ tag: { key: tag.key, value: tag.value } });
      replace(status, notice("ok", `Deleted ${tag.key}: ${tag.value}.`));
      await load(true);
    } catch (reason) {
      replace(status, errorNotice(reason));
    }
  };

  const key = field("tag-key", "Key", { maxlength: 127, autocomplete: "off", required: true });
  const value = field("tag-value", "Value", { maxlength: 255, autocomplete: "off", required: true });
  const form: HTMLFormElement = h(
    "form",
    {
      class: "toolbar tag-form card",
      id: "tag-create",
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          await api.apps.createTag({ tag: { key: key.input.value.trim(), value: value.input.value.trim() } });
          replace(status, notice("ok", "Added to the catalog."));
          form.reset();
          clearErrors(form);
          await load(true);
        } catch (reason) {
          if (fromConnectError(reason).codeName === "ALREADY_EXISTS") replace(status, notice("info", "Already in the catalog."));
          else showError(form, status, reason, "tag-");
        }
      },
    },
    key.row,
    value.row,
    h("button", { type: "submit" }, "Add to the catalog"),
  );
  const filter = h("input", { id: "tag-filter", type: "search", value: keyFilter, maxlength: 127, placeholder: "key" });
  const search = h(
    "form",
    { class: "toolbar", role: "search", onsubmit: (e: Event) => (e.preventDefault(), setParam(params, "key", filter.value.trim())) },
    h("label", { for: "tag-filter" }, "Only the key "),
    filter,
    h("button", { type: "submit" }, "Filter"),
  );
  more.addEventListener("click", () => void load(false));
  replace(main, h("h1", null, "Tag catalog"), h("p", { class: "help" }, "Pairs are attached to apps on each app's screen; a pair an app carries cannot be deleted."), form, search, status, listSlot, more);
  void load(true);
}
