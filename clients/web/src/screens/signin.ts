/** Sign-in: the API key, kept in this tab's sessionStorage only (api.ts). */

import { session } from "../api.js";
import { h, notice, replace } from "../dom.js";

export function signInScreen(root: HTMLElement, done: () => void, problem?: string): void {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "api-key-help",
  });
  const form = h(
    "form",
    {
      class: "card signin",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const key = input.value.trim();
        if (key === "") return;
        session.signIn(key);
        input.value = "";
        done();
      },
    },
    h("h1", null, "Sign in to rtc-console"),
    problem ? notice("error", `The key was refused: ${problem}`) : null,
    h("label", { for: "api-key" }, "API key"),
    input,
    h(
      "p",
      { id: "api-key-help", class: "help" },
      "An operator makes one with ",
      h("code", null, "rtc-console admin account create NAME"),
      ". The key stays in this tab only and is forgotten when the tab closes.",
    ),
    h("button", { type: "submit" }, "Sign in"),
  );
  replace(root, h("main", { id: "main" }, form));
  input.focus();
}
