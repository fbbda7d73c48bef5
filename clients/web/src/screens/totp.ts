/**
 * The TOTP step of the lifecycle actions (R7): a code of the account's authenticator is
 * exchanged for a secondary-auth token (AuthService.CreateSecondaryAuth, valid 30 minutes),
 * kept in memory only (never stored: a reload asks again) and reused until a minute before
 * it expires. An account without an authenticator enrols one here first (EnrollTotp: the
 * otpauth URI is shown once, to add to an authenticator app).
 */

import { api } from "../api.js";
import { h, notice, replace } from "../dom.js";
import { timestampMs } from "../lib/format.js";
import { tokenUsable } from "../lib/ops.js";
import { errorNotice, field, showError } from "./common.js";

let held: { token: string; expireMs: number } | undefined;

/**
 * Renders the step into `slot` and resolves with a token (at once when one is held), or
 * undefined when the person cancels.
 */
export function secondaryAuth(slot: HTMLElement, action: string): Promise<string | undefined> {
  if (held && tokenUsable(held.expireMs, Date.now())) return Promise.resolve(held.token);
  return new Promise((resolve) => {
    const code = field("totp_code", "Authenticator code (6 digits)", { inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6, pattern: "[0-9]{6}", required: true });
    const status = h("div");
    const enrolSlot = h("div");
    const form: HTMLFormElement = h(
      "form",
      {
        class: "card totp",
        "data-testid": "totp-step",
        novalidate: true,
        onsubmit: async (event: Event) => {
          event.preventDefault();
          replace(status, notice("info", "Checking the code…"));
          try {
            const answer = await api.auth.createSecondaryAuth({ totpCode: code.input.value.trim() });
            held = { token: answer.token, expireMs: timestampMs(answer.expireTime) ?? Date.now() };
            replace(slot);
            resolve(answer.token);
          } catch (reason) {
            showError(form, status, reason);
          }
        },
      },
      h("h3", null, `Confirm: ${action}`),
      h("p", { class: "help" }, "A code of the account's authenticator; the confirmation then holds for 30 minutes in this tab."),
      enrolSlot,
      code.row,
      status,
      h("div", { class: "toolbar" }, h("button", { type: "submit" }, "Confirm"), h("button", { type: "button", class: "secondary", onclick: () => (replace(slot), resolve(undefined)) }, "Cancel")),
    );
    replace(slot, form);
    code.input.focus();
    void api.auth.getCallerIdentity({}).then((identity) => {
      if (identity.totpEnrolled) return;
      replace(
        enrolSlot,
        notice("info", "This account has no authenticator yet. "),
        h(
          "button",
          {
            type: "button",
            id: "totp-enrol",
            class: "secondary",
            onclick: async () => {
              try {
                const answer = await api.auth.enrollTotp({});
                replace(
                  enrolSlot,
                  h("p", null, "Add this to an authenticator app (shown once), then type its current code:"),
                  h("input", { id: "otpauth-uri", readonly: true, value: answer.otpauthUri, "aria-label": "otpauth URI", class: "wide" }),
                );
              } catch (reason) {
                replace(enrolSlot, errorNotice(reason));
              }
            },
          },
          "Enrol an authenticator",
        ),
      );
    });
  });
}
