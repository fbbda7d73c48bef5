/**
 * Function settings and callbacks `#/settings?app=` (R11–R15): relayed push, cloud recording
 * and advanced permission control, each with its effective settings and, while a change waits,
 * the pending ones with the time they take effect (5 minutes, R11); a refusal's preconditions
 * listed (FAILED_PRECONDITION's PreconditionFailure) and field violations next to their fields.
 * The callback key and URLs (in effect at once), the test callback with the receiver's answer,
 * and the delivery log with every attempt.
 */

import { api } from "../api.js";
import {
  CallbackEventGroup,
  DeliveryState,
  RecordingFileFormat,
  RecordingMedia,
  RecordingMode,
  RecordingStorage,
  RelayedPushMode,
  type AppConfig,
  type CallbackDelivery,
  type CloudRecordingSettings,
} from "../../../node/src/gen/rtcconsole/v1/config_service_pb.js";
import { countdown, h, notice, replace, table, timeCell } from "../dom.js";
import { durationSeconds, formatDuration, timestampMs } from "../lib/format.js";
import { nextCheckMs } from "../lib/ops.js";
import { changedPaths, lastAttemptText, settingState } from "../lib/settings.js";
import { Pager } from "../lib/tables.js";
import { appPicker, errorNotice, field, showError } from "./common.js";

type Options = [string, number][];
const PUSH_MODES: Options = [["specified streams", RelayedPushMode.SPECIFIED_STREAMS], ["global auto-relay", RelayedPushMode.GLOBAL_AUTO_RELAY]];
const REC_MODES: Options = [["manual", RecordingMode.MANUAL], ["automatic", RecordingMode.AUTOMATIC]];
const REC_MEDIA: Options = [["audio and video", RecordingMedia.AUDIO_AND_VIDEO], ["audio only", RecordingMedia.AUDIO_ONLY], ["video only", RecordingMedia.VIDEO_ONLY]];
const REC_FORMATS: Options = [["HLS", RecordingFileFormat.HLS], ["MP4", RecordingFileFormat.MP4], ["FLV", RecordingFileFormat.FLV], ["AAC (audio only)", RecordingFileFormat.AAC]];
const REC_STORAGE: Options = [["VOD", RecordingStorage.VOD], ["object storage", RecordingStorage.OBJECT_STORAGE]];
const STATES: Options = [["every state", DeliveryState.UNSPECIFIED], ["pending", DeliveryState.PENDING], ["delivered", DeliveryState.DELIVERED], ["expired", DeliveryState.EXPIRED]];
const nameOf = (options: Options, v: number): string => options.find(([, x]) => x === v)?.[0] ?? "–";

function select(id: string, options: Options, value: number): HTMLSelectElement {
  return h("select", { id: `field-${id}`, name: id, "aria-describedby": `error-${id}` }, options.map(([label, v]) => h("option", { value: v, selected: v === value }, label)));
}
function labelled(id: string, label: string, control: HTMLElement): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: `field-${id}` }, label), control, h("p", { id: `error-${id}`, class: "field-error", "aria-live": "polite" }));
}
function checkbox(id: string, label: string, checked: boolean): { row: HTMLElement; input: HTMLInputElement } {
  const input = h("input", { id: `field-${id}`, type: "checkbox", checked });
  return { row: h("div", { class: "field check" }, h("label", { for: `field-${id}` }, input, ` ${label}`), h("p", { id: `error-${id}`, class: "field-error" })), input };
}

/** "effective → pending (takes effect at …, in 4 min: a countdown)" as elements. */
function stateLine(testid: string, effective: string, pending: string | undefined, pendingAt: number | undefined): HTMLElement {
  const s = settingState(effective, pending);
  return h(
    "p",
    { class: "state", "data-testid": testid, "data-pending": s.pending === undefined ? "" : s.pending },
    h("strong", null, "In effect: "),
    s.effective,
    s.pending === undefined ? null : [h("br"), h("strong", null, "Pending: "), s.pending, " · takes effect ", timeCell(pendingAt), pendingAt ? [" ", countdown(pendingAt)] : ""],
  );
}

const recordingText = (r: CloudRecordingSettings | undefined): string =>
  r === undefined ? "–" : r.enabled ? `on: ${nameOf(REC_MODES, r.mode)}, ${nameOf(REC_MEDIA, r.media)}, ${nameOf(REC_FORMATS, r.fileFormat)}, idle stop ${formatDuration(durationSeconds(r.maxIdleTime))}, ${nameOf(REC_STORAGE, r.storage)}` : "off";

export function settingsScreen(main: HTMLElement, params: URLSearchParams): () => void {
  const picker = h("div", { class: "toolbar" });
  const body = h("div", { class: "settings" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Reads the settings again when the earliest pending change is due (the worker applies it then). */
  const followPending = (app: bigint, config: AppConfig): void => {
    clearTimeout(timer);
    const due = [config.relayedPush, config.cloudRecording, config.permissionControl].map((c) => timestampMs(c?.pendingEffectiveTime)).filter((t): t is number => t !== undefined);
    if (due.length === 0) return;
    timer = setTimeout(async () => {
      try {
        const answer = await api.config.getAppConfig({ sdkAppId: app });
        if (answer.config) render(app, answer.config);
      } catch {
        followPending(app, config); // try again at the next check
      }
    }, nextCheckMs(Math.min(...due), Date.now(), 3000));
  };
  replace(main, h("h1", null, "Function settings and callbacks"), picker, body);

  const form = (testid: string, title: string, help: string, controls: HTMLElement[], submit: (status: HTMLElement, f: HTMLFormElement) => Promise<void>): HTMLFormElement => {
    const status = h("div");
    const f: HTMLFormElement = h(
      "form",
      { class: "card", novalidate: true, "data-testid": testid, onsubmit: (e: Event) => (e.preventDefault(), void submit(status, f)) },
      h("h2", null, title),
      h("p", { class: "help" }, help),
      ...controls,
      status,
      h("button", { type: "submit" }, "Save"),
    );
    return f;
  };

  const render = (app: bigint, config: AppConfig): void => {
    const save = async (status: HTMLElement, f: HTMLFormElement, prefix: string, run: () => Promise<{ config?: AppConfig }>): Promise<void> => {
      replace(status, notice("info", "Saving…"));
      try {
        const answer = await run();
        if (answer.config) render(app, answer.config);
      } catch (reason) {
        showError(f, status, reason, prefix);
      }
    };

    const push = config.relayedPush;
    const pushOn = checkbox("push-enabled", "Relayed push on", push?.pending?.enabled ?? push?.effective?.enabled ?? false);
    const pushMode = select("push-mode", PUSH_MODES, push?.pending?.mode ?? push?.effective?.mode ?? RelayedPushMode.SPECIFIED_STREAMS);
    const pushText = (s: { enabled: boolean; mode: number } | undefined) => (s === undefined ? undefined : s.enabled ? `on, ${nameOf(PUSH_MODES, s.mode)}` : "off");
    const pushForm = form(
      "relayed-push",
      "Relayed push (R12)",
      "Relays streams to the CDN. Turning it on needs the account's live-streaming (CSS) service; it cannot go off while cloud recording is on. A change takes effect 5 minutes later.",
      [stateLine("push-state", pushText(push?.effective) ?? "off", pushText(push?.pending), timestampMs(push?.pendingEffectiveTime)), h("p", { class: "help" }, `Push domain: ${push?.pushDomain || "none yet"}`), pushOn.row, labelled("push-mode", "Mode", pushMode)],
      (status, f) => save(status, f, "push-", () => api.config.updateRelayedPush({ sdkAppId: app, settings: { enabled: pushOn.input.checked, mode: Number(pushMode.value) } })),
    );

    const rec = config.cloudRecording;
    const r = rec?.pending ?? rec?.effective;
    const recOn = checkbox("rec-enabled", "Cloud recording on", r?.enabled ?? false);
    const recMode = select("rec-mode", REC_MODES, r?.mode || RecordingMode.MANUAL);
    const recMedia = select("rec-media", REC_MEDIA, r?.media || RecordingMedia.AUDIO_AND_VIDEO);
    const recFormat = select("rec-file_format", REC_FORMATS, r?.fileFormat || RecordingFileFormat.HLS);
    const recStorage = select("rec-storage", REC_STORAGE, r?.storage || RecordingStorage.VOD);
    const idle = field("rec-max_idle_time", "Stop after idle (seconds, 5 to 86,400)", { type: "number", min: 5, max: 86400, value: Math.round(durationSeconds(r?.maxIdleTime)) || 30 });
    const recForm = form(
      "cloud-recording",
      "Cloud recording (R13)",
      "Records each user's stream to its own file. Turning it on needs relayed push on (where the app is heading) and the CSS and VOD services.",
      [stateLine("rec-state", recordingText(rec?.effective), rec?.pending ? recordingText(rec.pending) : undefined, timestampMs(rec?.pendingEffectiveTime)), recOn.row, labelled("rec-mode", "Mode", recMode), labelled("rec-media", "Media", recMedia), labelled("rec-file_format", "File format", recFormat), idle.row, labelled("rec-storage", "Storage", recStorage)],
      (status, f) =>
        save(status, f, "rec-", () =>
          api.config.updateCloudRecording({
            sdkAppId: app,
            settings: { enabled: recOn.input.checked, mode: Number(recMode.value), media: Number(recMedia.value), fileFormat: Number(recFormat.value), storage: Number(recStorage.value), maxIdleTime: { seconds: BigInt(Math.trunc(Number(idle.input.value) || 0)), nanos: 0 } },
          }),
        ),
    );

    const perm = config.permissionControl;
    const permOn = checkbox("perm-enabled", "Advanced permission control on", perm?.pending?.enabled ?? perm?.effective?.enabled ?? false);
    const onOff = (s: { enabled: boolean } | undefined) => (s === undefined ? undefined : s.enabled ? "on" : "off");
    const permForm = form(
      "permission-control",
      "Advanced permission control (R14)",
      "Entering a room then needs a privateMapKey. No precondition.",
      [stateLine("perm-state", onOff(perm?.effective) ?? "off", onOff(perm?.pending), timestampMs(perm?.pendingEffectiveTime)), permOn.row],
      (status, f) => save(status, f, "perm-", () => api.config.updatePermissionControl({ sdkAppId: app, settings: { enabled: permOn.input.checked } })),
    );

    const cb = config.callback?.effective;
    const key = field("cb-key", "Callback key (letters and digits, up to 32; empty keeps it)", { type: "password", maxlength: 32, autocomplete: "off" });
    const clearKey = checkbox("cb-clear", "Clear the key", false);
    const roomUrl = field("cb-room_event_url", "Room-event URL", { type: "url", maxlength: 2083, value: cb?.roomEventUrl ?? "", autocomplete: "off", class: "wide" });
    const mediaUrl = field("cb-media_event_url", "Media-event URL", { type: "url", maxlength: 2083, value: cb?.mediaEventUrl ?? "", autocomplete: "off", class: "wide" });
    const cbForm = form(
      "callbacks",
      "Callbacks (R15)",
      "In effect at once. Each request is signed with the key. An empty URL turns that group off.",
      [h("p", { class: "state", "data-testid": "cb-state" }, h("strong", null, "Key: "), cb?.keySet ? `set${cb.keyHint ? ` (…${cb.keyHint})` : ""}` : "not set"), key.row, clearKey.row, roomUrl.row, mediaUrl.row],
      (status, f) => {
        const paths = changedPaths({ room_event_url: cb?.roomEventUrl ?? "", media_event_url: cb?.mediaEventUrl ?? "" }, { room_event_url: roomUrl.input.value.trim(), media_event_url: mediaUrl.input.value.trim() });
        if (key.input.value !== "" || clearKey.input.checked) paths.push("key");
        if (paths.length === 0) {
          replace(status, notice("info", "Nothing changed."));
          return Promise.resolve();
        }
        return save(status, f, "cb-", () =>
          api.config.updateCallbackConfig({ sdkAppId: app, key: clearKey.input.checked ? "" : key.input.value, roomEventUrl: roomUrl.input.value.trim(), mediaEventUrl: mediaUrl.input.value.trim(), updateMask: { paths } }),
        );
      },
    );

    replace(body, h("div", { class: "grid2" }, pushForm, recForm, permForm, cbForm), testPanel(app), deliveriesPanel(app));
    followPending(app, config);
  };

  void appPicker(picker, params)
    .then(async (app) => {
      if (app === undefined) return;
      const answer = await api.config.getAppConfig({ sdkAppId: app });
      if (answer.config) render(app, answer.config);
    })
    .catch((reason) => replace(body, errorNotice(reason)));
  return () => clearTimeout(timer);
}

function testPanel(app: bigint): HTMLElement {
  const answerSlot = h("div", { "data-testid": "test-answer", "aria-live": "polite" });
  const send = async (group: CallbackEventGroup): Promise<void> => {
    replace(answerSlot, notice("info", "Sending a signed test event…"));
    try {
      const a = await api.config.sendTestCallback({ sdkAppId: app, eventGroup: group });
      replace(
        answerSlot,
        notice(a.error === "" ? "ok" : "error", a.error === "" ? `HTTP ${a.statusCode}` : `Failed: ${a.error}${a.statusCode ? ` (HTTP ${a.statusCode})` : ""}`, ` in ${Math.round(durationSeconds(a.duration) * 1000)} ms from ${a.url}`),
        h("details", null, h("summary", null, "The body sent"), h("pre", null, a.body)),
        h("details", { open: true }, h("summary", null, "The receiver's answer (first 512 bytes)"), h("pre", { "data-testid": "test-response" }, a.responseBody || "(empty)")),
      );
      answerSlot.dataset.status = String(a.statusCode);
    } catch (reason) {
      replace(answerSlot, errorNotice(reason));
    }
  };
  return h(
    "section",
    { class: "card", "aria-label": "Test callback" },
    h("h2", null, "Test callback"),
    h("p", { class: "help" }, "POSTs a signed test event to the URL now and shows what the receiver answered."),
    h("div", { class: "toolbar" }, h("button", { type: "button", id: "test-room", onclick: () => void send(CallbackEventGroup.ROOM) }, "Test the room-event URL"), h("button", { type: "button", id: "test-media", class: "secondary", onclick: () => void send(CallbackEventGroup.MEDIA) }, "Test the media-event URL")),
    answerSlot,
  );
}

const DELIVERY_STATE: Record<number, string> = { [DeliveryState.PENDING]: "pending", [DeliveryState.DELIVERED]: "delivered", [DeliveryState.EXPIRED]: "expired" };

function deliveriesPanel(app: bigint): HTMLElement {
  const slot = h("div", { "data-testid": "deliveries" });
  const room = h("input", { id: "delivery-room", type: "search", maxlength: 64, placeholder: "room id" });
  const state = h("select", { id: "delivery-state" }, STATES.map(([label, v]) => h("option", { value: v }, label)));
  const pager = new Pager();
  const nav = h("div", { class: "toolbar" });
  const load = async (): Promise<void> => {
    try {
      const a = await api.config.listCallbackDeliveries({ sdkAppId: app, room: room.value.trim(), state: Number(state.value), pageSize: 20, pageToken: pager.current });
      pager.answered(a.nextPageToken);
      replace(
        slot,
        a.deliveries.length === 0
          ? notice("info", "No delivery (callbacks start once a URL is set).")
          : table("Callback deliveries", ["Queued", "Event", "Room", "Seq", "State", "Attempts", "Next attempt", "URL"], a.deliveries.map(deliveryRow), { id: "deliveries-table" }),
      );
      replace(
        nav,
        h("button", { type: "button", class: "secondary", disabled: !pager.hasPrevious, onclick: () => (pager.back(), void load()) }, "Previous"),
        h("button", { type: "button", class: "secondary", disabled: !pager.hasNext, onclick: () => (pager.forward(), void load()) }, "Next"),
        h("button", { type: "button", class: "secondary", id: "deliveries-reload", onclick: () => (pager.reset(), void load()) }, "Reload"),
      );
    } catch (reason) {
      replace(slot, errorNotice(reason));
    }
  };
  void load();
  return h(
    "section",
    { "aria-label": "Delivery log" },
    h("h2", null, "Delivery log"),
    h("form", { class: "toolbar", role: "search", onsubmit: (e: Event) => (e.preventDefault(), pager.reset(), void load()) }, h("label", { for: "delivery-room" }, "Room "), room, h("label", { for: "delivery-state" }, "State "), state, h("button", { type: "submit" }, "Filter")),
    slot,
    nav,
  );
}

function deliveryRow(d: CallbackDelivery): (Node | string | number)[] {
  return [
    timeCell(timestampMs(d.queueTime)),
    `${d.eventGroup === CallbackEventGroup.MEDIA ? "media" : "room"} ${d.eventType}`,
    h("code", null, d.room),
    String(d.roomSequence),
    h("span", { class: `badge ${d.state === DeliveryState.DELIVERED ? "ok" : d.state === DeliveryState.EXPIRED ? "bad" : ""}` }, DELIVERY_STATE[d.state] ?? "?"),
    h("span", { title: d.attempts.map((x) => `#${x.attempt} ${x.error || `HTTP ${x.statusCode}`} (${Math.round(durationSeconds(x.duration) * 1000)} ms)`).join("\n") }, `${d.attempts.length} · ${lastAttemptText(d.attempts)}`),
    d.state === DeliveryState.PENDING ? timeCell(timestampMs(d.nextAttemptTime)) : "–",
    h("span", { class: "url", title: d.url }, d.url),
  ];
}
