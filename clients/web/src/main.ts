/**
 * The console's entry: sign-in, the shell (navigation, identity, edition) and the hash router
 * (`#/apps`, `#/apps/<SDKAppID>`, `#/tags`, `#/settings`, `#/calls`, `#/calls/<call id>`, `#/realtime`, `#/usage`). A screen renders into the main
 * element and returns a clean-up (an open stream is aborted when the screen is left).
 */

import "./style.css";
import { api, fromConnectError, session } from "./api.js";
import { h, notice, replace } from "./dom.js";
import { appScreen } from "./screens/app.js";
import { appsScreen } from "./screens/apps.js";
import { callScreen } from "./screens/call.js";
import { callsScreen } from "./screens/calls.js";
import { realtimeScreen } from "./screens/realtime.js";
import { settingsScreen } from "./screens/settings.js";
import { signInScreen } from "./screens/signin.js";
import { tagsScreen } from "./screens/tags.js";
import { usageScreen } from "./screens/usage.js";

export type Cleanup = () => void;
export type Screen = (main: HTMLElement, params: URLSearchParams, path: string[]) => Cleanup | void;

const root = document.getElementById("app")!;
const ROUTES: Record<string, { title: string; screen: Screen }> = {
  apps: { title: "Applications", screen: appsScreen },
  settings: { title: "Settings", screen: settingsScreen },
  calls: { title: "Calls", screen: callsScreen },
  realtime: { title: "Real time", screen: realtimeScreen },
  usage: { title: "Usage", screen: usageScreen },
  tags: { title: "Tags", screen: tagsScreen },
};

let cleanup: Cleanup | void;

async function render(): Promise<void> {
  if (cleanup) cleanup();
  cleanup = undefined;
  if (session.key() === null) {
    signInScreen(root, () => void render());
    return;
  }
  let identity;
  try {
    identity = await api.auth.getCallerIdentity({});
  } catch (reason) {
    const error = fromConnectError(reason);
    if (error.codeName === "UNAUTHENTICATED") {
      session.signOut();
      signInScreen(root, () => void render(), error.rawMessage);
      return;
    }
    replace(root, notice("error", error.message));
    return;
  }
  const [name = "apps", ...rest] = location.hash.replace(/^#\/?/, "").split("?")[0]!.split("/").map(decodeURIComponent);
  const route = ROUTES[name] ?? ROUTES.apps!;
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  // R21: GetCallerIdentity.edition; an older server leaves it empty.
  const editionEl = h("span", { class: "edition", "data-testid": "edition", title: "dashboard edition (R21)" }, identity.edition ? `${identity.edition} edition` : "edition unknown");
  const main = h("main", { id: "main", tabindex: "-1" });
  const nav = h(
    "nav",
    { "aria-label": "Screens" },
    Object.entries(ROUTES).map(([key, r]) =>
      h("a", { href: `#/${key}${params.get("app") ? `?app=${params.get("app")}` : ""}`, "aria-current": key === name || (name === "" && key === "apps") ? "page" : false }, r.title),
    ),
  );
  replace(
    root,
    h("a", { class: "skip", href: "#main", onclick: (e: Event) => (e.preventDefault(), main.focus()) }, "Skip to content"),
    h(
      "header",
      null,
      h("strong", { class: "brand" }, "rtc-console"),
      nav,
      h(
        "div",
        { class: "identity", "data-testid": "identity" },
        h("span", { title: `account ${identity.accountId} · key ${identity.apiKeyId} · time zone ${identity.timeZone || "UTC"}` }, identity.accountName),
        " · ",
        editionEl,
        h("button", { type: "button", class: "link", onclick: () => (session.signOut(), void render()) }, "Sign out"),
      ),
    ),
    main,
  );
  document.title = `${route.title} · rtc-console`;
  const screen = name === "calls" && rest.length > 0 ? callScreen : name === "apps" && rest.length > 0 ? appScreen : route.screen;
  cleanup = screen(main, params, rest);
}

window.addEventListener("hashchange", () => void render());
void render();
