/**
 * Call details (R18–R20): the call, its users (6 by default, up to 20, each with its presence
 * intervals), and for the chosen user the receiver and sender views with their sub-views
 * (all, video, audio, screen share: those with data): per stream, packet loss with the
 * threshold bands of GetQualityThresholds and bitrate, marked points in red, jitter moments as
 * red lines; then the stream's full link (call_link.ts: every other metric with its bands) and
 * the user's client events on the time axis.
 */

import { api, fromConnectError } from "../api.js";
import { Role } from "../../../node/src/gen/rtcconsole/v1/ingest_service_pb.js";
import type { CallUser } from "../../../node/src/gen/rtcconsole/v1/call_details_pb.js";
import { QualityMetric, SubViewKind, type GetUserViewResponse, type QualitySeries, type StreamOverview } from "../../../node/src/gen/rtcconsole/v1/monitor_service_pb.js";
import type { ClientEvent } from "../../../node/src/gen/rtcconsole/v1/quality_pb.js";
import { MediaKind } from "../../../node/src/gen/rtcconsole/v1/quality_pb.js";
import { SeriesMetric, ViewSide } from "../../../node/src/gen/rtcconsole/v1/quality_series_pb.js";
import { lineChart, type Chart } from "../chart.js";
import { h, notice, replace, table, timeCell } from "../dom.js";
import { streamsOfSubView } from "../lib/callview.js";
import { durationSeconds, formatClock, formatDuration, formatUtc, timestampMs } from "../lib/format.js";
import { metricBands, qualityStrips, thresholds } from "../thresholds.js";
import { roomOf } from "./calls.js";
import { breachPoints, clientEvents, eventsTable, fullLink, seriesColumns as columns } from "./call_link.js";

const MEDIA: Record<number, string> = { [MediaKind.VIDEO]: "video", [MediaKind.AUDIO]: "audio", [MediaKind.SCREEN_SHARE]: "screen share" };
const ROLE: Record<number, string> = { [Role.ANCHOR]: "anchor", [Role.AUDIENCE]: "audience" };
const SUB_VIEW: Record<number, string> = { [SubViewKind.ALL]: "All", [SubViewKind.VIDEO]: "Video", [SubViewKind.AUDIO]: "Audio", [SubViewKind.SCREEN_SHARE]: "Screen share" };

/** An instant of the call as its clock time in the browser's zone, UTC on hover. */
function clock(ms: number | undefined): Node | string {
  return ms === undefined ? "in" : h("time", { datetime: new Date(ms).toISOString(), title: formatUtc(ms) }, formatClock(ms));
}

/** R18: the user's stays, each entry–exit ("in" while the user is still in), in time order. */
function presenceCell(user: CallUser): HTMLElement {
  return h(
    "ul",
    { class: "presence", "data-count": user.presence.length },
    user.presence.map((p) => h("li", null, clock(timestampMs(p.enterTime)), "–", clock(timestampMs(p.exitTime)))),
  );
}

function seriesOf(stream: StreamOverview, metric: SeriesMetric): QualitySeries | undefined {
  return stream.series.find((s) => s.metric === metric);
}

function streamLabel(side: ViewSide, s: StreamOverview, user: string): string {
  const media = MEDIA[s.media] ?? "media";
  if (s.peerId === "") return `${user}'s upstream · ${media}`;
  return side === ViewSide.RECEIVER ? `${s.peerId} → ${user} · ${media}` : `${user} → ${s.peerId} · ${media}`;
}

export function callScreen(main: HTMLElement, params: URLSearchParams, path: string[]): () => void {
  const callId = path[0] ?? "";
  const head = h("section", { "aria-label": "Call" });
  const usersSlot = h("section", { "aria-label": "Users", "data-testid": "call-users", "data-call": callId });
  const viewSlot = h("section", { "aria-label": "Quality", "data-testid": "user-view", "data-call": callId });
  let charts: Chart[] = [];
  const dropCharts = (): void => {
    charts.forEach((c) => c.destroy());
    charts = [];
  };
  const pageSize = params.get("users") === "20" ? 20 : 6;
  replace(main, h("p", null, h("a", { href: `#/calls?app=${params.get("app") ?? ""}` }, "← Calls")), h("h1", null, "Call details"), head, usersSlot, viewSlot);

  const events = new Map<string, Promise<ClientEvent[]>>();
  const showView = async (userId: string, side: ViewSide | undefined, streamIndex: number, subKind: SubViewKind = SubViewKind.ALL): Promise<void> => {
    replace(viewSlot, notice("info", `Loading ${userId}'s view…`));
    dropCharts();
    let view: GetUserViewResponse;
    try {
      if (!events.has(userId)) events.set(userId, clientEvents(callId, userId).catch(() => []));
      const [answer, all, userEvents] = await Promise.all([api.monitor.getUserView({ callId, userId }), thresholds(), events.get(userId)!]);
      view = answer;
      const sides = view.views.filter((v) => v.streams.length > 0);
      const current = sides.find((v) => v.side === side) ?? sides[0];
      if (current === undefined) {
        replace(viewSlot, h("h2", null, `${userId}: quality`), notice("info", "No quality samples from this user in the call."), eventsTable(userEvents));
        return;
      }
      const sub = current.subViews.find((v) => v.kind === subKind) ?? current.subViews[0];
      const inSub = streamsOfSubView(sub?.kind ?? SubViewKind.ALL, current.streams);
      const stream = current.streams[streamIndex] && inSub.includes(current.streams[streamIndex]) ? current.streams[streamIndex] : (inSub[0] ?? current.streams[0]!);
      const eventTimes = userEvents.map((e) => timestampMs(e.eventTime)! / 1000);
      Object.assign(viewSlot.dataset, { user: userId, side: String(current.side), stream: String(current.streams.indexOf(stream)), subView: String(sub?.kind ?? 0) });
      const loss = seriesOf(stream, SeriesMetric.PACKET_LOSS);
      const bitrate = seriesOf(stream, SeriesMetric.BITRATE);
      const moments = stream.jitterMoments.map((m) => timestampMs(m.time)! / 1000);
      const lossMax = Math.max(5, ...(loss?.points ?? []).map((p) => p.value));
      const lossChart = lineChart(
        {
          title: `Packet loss (%): ${streamLabel(current.side, stream, userId)}`,
          lines: [{ label: "packet loss", color: "#2663c4", unit: " %" }],
          bands: qualityStrips(metricBands(all, QualityMetric.PACKET_LOSS, stream.media), lossMax * 1.1),
          breaches: breachPoints(loss),
          moments,
          events: eventTimes,
          minMax: 5,
        },
        columns(loss),
      );
      lossChart.el.dataset.testid = "quality-chart";
      const bitrateChart = lineChart(
        { title: `Bitrate (kbps): ${streamLabel(current.side, stream, userId)}`, lines: [{ label: "bitrate", color: "#6b4fbb", unit: " kbps" }], breaches: breachPoints(bitrate), moments, events: eventTimes },
        columns(bitrate),
      );
      charts = [lossChart, bitrateChart];
      const sideTabs = h(
        "div",
        { role: "tablist", "aria-label": "Side", class: "presets" },
        sides.map((v) =>
          h("button", { type: "button", role: "tab", "aria-selected": String(v === current), onclick: () => void showView(userId, v.side, 0) }, v.side === ViewSide.RECEIVER ? "Receiver view" : "Sender view"),
        ),
      );
      const subTabs = h(
        "div",
        { role: "tablist", "aria-label": "Sub-view", class: "presets", "data-testid": "sub-views" },
        current.subViews.map((v) =>
          h("button", { type: "button", role: "tab", "data-kind": v.kind, "aria-selected": String(v === sub), onclick: () => void showView(userId, current.side, -1, v.kind) }, `${SUB_VIEW[v.kind] ?? "?"} (${v.peerIds.length} peer(s), ${v.jitterMomentCount} jitter)`),
        ),
      );
      const streamSelect = h(
        "select",
        { id: "stream-select", onchange: () => void showView(userId, current.side, Number(streamSelect.value), sub?.kind) },
        inSub.map((s) => h("option", { value: current.streams.indexOf(s), selected: s === stream }, streamLabel(current.side, s, userId))),
      );
      const linkSlot = h("section", { "aria-label": "Full link" });
      const breachCount = breachPoints(loss).length + breachPoints(bitrate).length;
      replace(
        viewSlot,
        h("h2", null, `${userId}: quality`),
        sideTabs,
        subTabs,
        h("div", { class: "toolbar" }, h("label", { for: "stream-select" }, "Stream "), streamSelect),
        h("p", { class: "help", "data-testid": "breach-summary" }, `${breachCount} marked point(s) (poor or severe), ${moments.length} jitter moment(s) (dashed red lines).`, current.peersTruncated ? " More than 50 peers: the first 50 are shown." : ""),
        h("div", { class: "charts" }, lossChart.el, bitrateChart.el),
        linkSlot,
        eventsTable(userEvents),
      );
      const shownView = viewSlot.dataset.stream;
      const link = await fullLink(linkSlot, { callId, side: current.side, userId, peerId: stream.peerId, media: stream.media, all, events: eventTimes, moments });
      if (viewSlot.dataset.stream === shownView && charts.includes(lossChart)) charts.push(...link);
      else link.forEach((c) => c.destroy()); // the view changed meanwhile
    } catch (reason) {
      replace(viewSlot, notice("error", fromConnectError(reason).message));
    }
  };

  void (async () => {
    try {
      const [call, users] = await Promise.all([api.monitor.getCall({ callId }), api.monitor.listCallUsers({ callId, pageSize })]);
      replace(
        head,
        h(
          "dl",
          { class: "facts" },
          h("dt", null, "Application"), h("dd", null, `${call.appName} (${call.sdkAppId})`),
          h("dt", null, "Room"), h("dd", null, h("code", null, roomOf(call))),
          h("dt", null, "Start"), h("dd", null, timeCell(timestampMs(call.startTime))),
          h("dt", null, "End"), h("dd", null, call.endTime ? timeCell(timestampMs(call.endTime)) : "ongoing"),
          h("dt", null, "Duration"), h("dd", null, formatDuration(durationSeconds(call.duration))),
          h("dt", null, "Users"), h("dd", null, String(call.userCount)),
        ),
      );
      const rows = users.users.map((u) => [
        h("button", { type: "button", class: "link user-pick", onclick: () => void showView(u.userId, undefined, 0) }, u.userId),
        ROLE[u.role] ?? "",
        [u.upstream ? "up" : "", u.downstream ? "down" : ""].filter(Boolean).join(" + "),
        u.region,
        `${u.platform} ${u.sdkVersion}`.trim(),
        u.deviceModel,
        u.networkType,
        timeCell(timestampMs(u.firstJoinTime)),
        u.lastLeaveTime ? timeCell(timestampMs(u.lastLeaveTime)) : "in the room",
        formatDuration(durationSeconds(u.totalStay)),
        presenceCell(u),
      ]);
      replace(
        usersSlot,
        h("h2", null, `Users (${users.users.length} of ${users.totalUsers})`),
        table("Users of the call", ["User", "Role", "Streams", "Region", "SDK", "Device", "Network", "First in", "Last out", "Stay", "Presence"], rows, { id: "users-table" }),
        users.totalUsers > users.users.length && pageSize < 20 ? h("a", { href: `#/calls/${encodeURIComponent(callId)}?app=${params.get("app") ?? ""}&users=20`, id: "users-more" }, "Show up to 20 users") : null,
      );
      const first = users.users.find((u) => u.downstream) ?? users.users[0];
      if (first) await showView(first.userId, undefined, 0);
    } catch (reason) {
      replace(head, notice("error", fromConnectError(reason).message));
    }
  })();
  return dropCharts;
}
