/**
 * One application `#/apps/<SDKAppID>` (R5–R9): its info (GetApp), its name and description
 * (app_edit.ts: UpdateApp), its tags (attach a pair,
 * added to the account's catalog first when new; detach), and disable / enable / delete with
 * the TOTP step (totp.ts). An accepted action's operation stays on the screen with the time it
 * takes effect (3–5 minutes, R7), counting down, and is read again then (GetOperation), until
 * it is done. Its materials (R9) follow (materials.ts).
 */

import { api, fromConnectError } from "../api.js";
import { AppStatus, StopReason, type App } from "../../../node/src/gen/rtcconsole/v1/app_service_pb.js";
import { OperationKind, OperationState, type Operation } from "../../../node/src/gen/rtcconsole/v1/common_pb.js";
import { countdown, h, notice, replace, timeCell } from "../dom.js";
import { timestampMs } from "../lib/format.js";
import { nextCheckMs } from "../lib/ops.js";
import { renameForm } from "./app_edit.js";
import { status } from "./apps.js";
import { materialsSection } from "./materials.js";
import { errorNotice, field, showError } from "./common.js";
import { secondaryAuth } from "./totp.js";

const KIND: Record<number, string> = { [OperationKind.DISABLE_APP]: "disable", [OperationKind.ENABLE_APP]: "enable", [OperationKind.DELETE_APP]: "delete" };
const STATE: Record<number, string> = { [OperationState.PENDING]: "pending", [OperationState.SUCCEEDED]: "succeeded", [OperationState.FAILED]: "failed" };

export function appScreen(main: HTMLElement, _params: URLSearchParams, path: string[]): () => void {
  const id = /^\d+$/.test(path[0] ?? "") ? BigInt(path[0]!) : 0n;
  const infoSlot = h("section", { "aria-label": "Application", "data-testid": "app-info" });
  const opSlot = h("section", { "aria-label": "Pending operation", "data-testid": "operation", "aria-live": "polite" });
  const actionsSlot = h("section", { "aria-label": "Lifecycle", "data-testid": "lifecycle" });
  const stepSlot = h("div", { "data-testid": "step" });
  const tagsSlot = h("section", { "aria-label": "Tags", "data-testid": "app-tags" });
  const renameSlot = h("div");
  const materialsSlot = h("div");
  const timers: ReturnType<typeof setTimeout>[] = [];
  let gone = false;
  replace(main, h("p", null, h("a", { href: "#/apps" }, "← Applications")), h("h1", null, `Application ${id}`), infoSlot, opSlot, actionsSlot, stepSlot, renameSlot, tagsSlot, materialsSlot);

  const follow = async (name: string): Promise<void> => {
    if (gone) return;
    let op: Operation | undefined;
    try {
      op = (await api.apps.getOperation({ name })).operation;
    } catch (reason) {
      replace(opSlot, errorNotice(reason));
      return;
    }
    if (op === undefined) return;
    const effective = timestampMs(op.effectiveTime) ?? Date.now();
    replace(
      opSlot,
      h(
        "div",
        { class: `card op ${op.done ? "done" : "pending"}`, "data-state": STATE[op.state] ?? "", "data-name": op.name },
        h("h2", null, `Operation: ${KIND[op.kind] ?? "?"} (${STATE[op.state] ?? "?"})`),
        h(
          "dl",
          { class: "facts" },
          h("dt", null, "Name"), h("dd", null, h("code", null, op.name)),
          h("dt", null, "Accepted"), h("dd", null, timeCell(timestampMs(op.acceptTime))),
          h("dt", null, "Takes effect"), h("dd", null, timeCell(effective), op.done ? "" : [" ", countdown(effective)]),
          op.done ? [h("dt", null, "Done"), h("dd", null, timeCell(timestampMs(op.doneTime)))] : null,
          op.errorMessage ? [h("dt", null, "Error"), h("dd", null, op.errorMessage)] : null,
        ),
        op.done ? null : h("p", { class: "help" }, "Accepted: the app keeps its status until then (R7: 3–5 minutes). This screen reads the operation again at that time."),
      ),
    );
    if (op.done) await load();
    else timers.push(setTimeout(() => void follow(name), nextCheckMs(effective, Date.now())));
  };

  const act = async (label: string, run: (token: string) => Promise<{ operation?: Operation }>): Promise<void> => {
    const token = await secondaryAuth(stepSlot, label);
    if (token === undefined) return;
    try {
      const answer = await run(token);
      replace(stepSlot);
      await load();
      if (answer.operation) await follow(answer.operation.name);
    } catch (reason) {
      replace(stepSlot, errorNotice(reason));
    }
  };

  const showActions = (app: App): void => {
    const disabled = app.stopReasons.includes(StopReason.DISABLED_BY_OWNER);
    const pending = app.pendingOperation !== "";
    const button = (idAttr: string, label: string, run: (token: string) => Promise<{ operation?: Operation }>, danger = false) =>
      h("button", { type: "button", id: idAttr, class: danger ? "danger" : null, disabled: pending, onclick: () => void act(label, run) }, label);
    const req = (token: string) => ({ sdkAppId: app.sdkAppId, secondaryAuthToken: token });
    replace(
      actionsSlot,
      h("h2", null, "Service"),
      h(
        "div",
        { class: "toolbar" },
        disabled
          ? [button("app-enable", "Enable the app", (t) => api.apps.enableApp(req(t))), button("app-delete", "Delete the app", (t) => api.apps.deleteApp(req(t)), true)]
          : button("app-disable", "Disable the app", (t) => api.apps.disableApp(req(t)), true),
      ),
      h("p", { class: "help" }, pending ? "An operation is pending: no other until it takes effect." : disabled ? "Disabled by the owner: enable it again, or delete it (the delete takes effect 3–5 minutes later; the SDKAppID is never reused)." : "Disabling stops new users from entering (those inside stay), 3–5 minutes after it is confirmed; delete needs a disabled app."),
    );
  };

  const showTags = (app: App): void => {
    const key = field("key", "Tag key", { maxlength: 127, autocomplete: "off", list: "tag-keys", required: true });
    const value = field("value", "Tag value", { maxlength: 255, autocomplete: "off", required: true });
    const status = h("div");
    const keys = h("datalist", { id: "tag-keys" });
    void api.apps.listTags({ pageSize: 1000 }).then((t) => replace(keys, [...new Set(t.tags.map((x) => x.key))].map((k) => h("option", { value: k }))), () => undefined);
    const form: HTMLFormElement = h(
      "form",
      {
        class: "toolbar tag-form",
        novalidate: true,
        onsubmit: async (event: Event) => {
          event.preventDefault();
          const tag = { key: key.input.value.trim(), value: value.input.value.trim() };
          try {
            await api.apps.createTag({ tag }).catch((reason) => {
              if (fromConnectError(reason).codeName !== "ALREADY_EXISTS") throw reason; // already in the catalog
            });
            await api.apps.addAppTags({ sdkAppId: app.sdkAppId, tags: [tag] });
            await load();
          } catch (reason) {
            showError(form, status, reason);
          }
        },
      },
      key.row,
      value.row,
      keys,
      h("button", { type: "submit", id: "tag-attach" }, "Attach"),
    );
    replace(
      tagsSlot,
      h("h2", null, `Tags (${app.tags.length})`),
      app.tags.length === 0
        ? notice("info", "No tag attached.")
        : h(
            "ul",
            { class: "tag-list", id: "app-tag-list" },
            app.tags.map((t) =>
              h(
                "li",
                null,
                h("span", { class: "tag" }, `${t.key}: ${t.value}`),
                h(
                  "button",
                  {
                    type: "button",
                    class: "link",
                    "aria-label": `Detach ${t.key}: ${t.value}`,
                    onclick: async () => {
                      try {
                        await api.apps.removeAppTags({ sdkAppId: app.sdkAppId, tags: [{ key: t.key, value: t.value }] });
                        await load();
                      } catch (reason) {
                        replace(status, errorNotice(reason));
                      }
                    },
                  },
                  "Detach",
                ),
              ),
            ),
          ),
      form,
      status,
    );
  };

  const load = async (): Promise<void> => {
    let app: App | undefined;
    try {
      app = (await api.apps.getApp({ sdkAppId: id })).app;
    } catch (reason) {
      const error = fromConnectError(reason);
      replace(infoSlot, error.codeName === "NOT_FOUND" ? notice("info", `No application ${id}: it never existed, belongs to another account, or its delete took effect.`) : errorNotice(reason));
      replace(actionsSlot);
      replace(tagsSlot);
      replace(renameSlot);
      replace(materialsSlot);
      return;
    }
    if (app === undefined) return;
    document.title = `${app.name} · rtc-console`;
    replace(
      infoSlot,
      h(
        "dl",
        { class: "facts", id: "app-facts", "data-status": app.status === AppStatus.STOPPED ? "stopped" : "normal", "data-pending": app.pendingTransition },
        h("dt", null, "SDKAppID"), h("dd", null, h("code", null, String(app.sdkAppId))),
        h("dt", null, "Name"), h("dd", null, app.name),
        h("dt", null, "Description"), h("dd", null, app.description || "–"),
        h("dt", null, "Status"), h("dd", null, status(app)),
        h("dt", null, "Source"), h("dd", null, app.source || "created here"),
        h("dt", null, "Relayed live streaming"), h("dd", null, app.relayedLiveStreaming?.enabled ? `on, push domain ${app.relayedLiveStreaming.pushDomain}` : "off"),
        h("dt", null, "Created"), h("dd", null, timeCell(timestampMs(app.createTime))),
        h("dt", null, "Updated"), h("dd", null, timeCell(timestampMs(app.updateTime))),
      ),
      h("p", null, h("a", { href: `#/settings?app=${app.sdkAppId}` }, "Function settings and callbacks"), " · ", h("a", { href: "#/tags" }, "Tag catalog"), " · ", h("a", { href: `#/calls?app=${app.sdkAppId}` }, "Calls"), " · ", h("a", { href: `#/realtime?app=${app.sdkAppId}` }, "Real time")),
    );
    showActions(app);
    replace(renameSlot, renameForm(app, load));
    showTags(app);
    if (materialsSlot.childElementCount === 0) replace(materialsSlot, materialsSection(app.sdkAppId));
    if (app.pendingOperation !== "" && opSlot.childElementCount === 0) await follow(app.pendingOperation);
  };
  void load();
  return () => {
    gone = true;
    timers.forEach(clearTimeout);
  };
}
