/**
 * Time-series charts on uPlot (decision 0034): lines in the browser's zone, threshold bands
 * drawn behind the lines, red marks on breaching points and red vertical lines at moments
 * (jitter). The container carries `data-points`, `data-breaches`, `data-moments`, `data-events`
 * and `data-bands` (the strips' upper edges, comma-separated) so that people's tools and the
 * browser tests can read what is drawn.
 */

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Columns } from "./lib/series.js";
import { h } from "./dom.js";

export interface LineSpec {
  label: string;
  color: string;
  /** A suffix for the legend's values, e.g. " %". */
  unit?: string;
}

/** A horizontal strip behind the lines, in y units. */
export interface BandStrip {
  from: number;
  to: number;
  color: string;
}

export interface ChartSpec {
  title: string;
  lines: readonly LineSpec[];
  bands?: readonly BandStrip[];
  /** Points to ring in red: x (s) and y of each. */
  breaches?: readonly { x: number; y: number }[];
  /** Instants (s) to mark with a red vertical line. */
  moments?: readonly number[];
  /** Client events (s): a thin grey line with a triangle at the top (the list below says what). */
  events?: readonly number[];
  height?: number;
  /** The y range always includes [0, minMax]. */
  minMax?: number;
}

export interface Chart {
  el: HTMLElement;
  update(data: Columns, spec?: Partial<ChartSpec>): void;
  destroy(): void;
}

const RED = "#d0312d";
const EVENT = "#5b6475";

export function lineChart(spec: ChartSpec, data: Columns): Chart {
  let current = spec;
  const plotEl = h("div", { class: "plot" });
  const el = h("figure", { class: "chart", role: "img", "aria-label": spec.title }, h("figcaption", null, spec.title), plotEl);

  const drawBands = (u: uPlot): void => {
    const ctx = u.ctx;
    const { left, width, top, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    for (const b of current.bands ?? []) {
      const y1 = u.valToPos(b.to, "y", true);
      const y0 = u.valToPos(b.from, "y", true);
      ctx.fillStyle = b.color;
      ctx.fillRect(left, Math.min(y0, y1), width, Math.abs(y0 - y1));
    }
    ctx.restore();
  };

  const drawMarks = (u: uPlot): void => {
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    ctx.save();
    ctx.strokeStyle = RED;
    ctx.lineWidth = 1.5 * devicePixelRatio;
    for (const x of current.moments ?? []) {
      const px = u.valToPos(x, "x", true);
      ctx.beginPath();
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
    }
    ctx.strokeStyle = EVENT;
    ctx.fillStyle = EVENT;
    ctx.lineWidth = devicePixelRatio;
    ctx.setLineDash([1 * devicePixelRatio, 2 * devicePixelRatio]);
    const side = 4 * devicePixelRatio;
    for (const x of current.events ?? []) {
      const px = u.valToPos(x, "x", true);
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(px - side, top);
      ctx.lineTo(px + side, top);
      ctx.lineTo(px, top + side * 1.5);
      ctx.fill();
    }
    ctx.strokeStyle = RED;
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.setLineDash([]);
    for (const p of current.breaches ?? []) {
      ctx.beginPath();
      ctx.arc(u.valToPos(p.x, "x", true), u.valToPos(p.y, "y", true), 4 * devicePixelRatio, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.restore();
  };

  const opts: uPlot.Options = {
    width: 600,
    height: spec.height ?? 220,
    scales: {
      x: { time: true },
      y: {
        range: (_u, min, max) => [Math.min(0, min), Math.max(max * 1.1, current.minMax ?? 1)],
      },
    },
    series: [{}, ...spec.lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, spanGaps: false, value: (_u: uPlot, v: number | null) => (v === null ? "–" : `${+v.toFixed(2)}${l.unit ?? ""}`) }))],
    hooks: { drawClear: [drawBands], draw: [drawMarks] },
    legend: { live: true },
  };
  const plot = new uPlot(opts, data as uPlot.AlignedData, plotEl);
  const resize = new ResizeObserver(() => {
    const width = Math.max(260, Math.floor(plotEl.clientWidth));
    if (width !== plot.width) plot.setSize({ width, height: opts.height ?? 220 });
  });
  resize.observe(plotEl);
  const annotate = (d: Columns): void => {
    el.dataset.points = String(d[0].length);
    el.dataset.breaches = String(current.breaches?.length ?? 0);
    el.dataset.moments = String(current.moments?.length ?? 0);
    el.dataset.events = String(current.events?.length ?? 0);
    el.dataset.bands = (current.bands ?? []).map((b) => String(b.to)).join(",");
  };
  annotate(data);

  return {
    el,
    update(d, patch) {
      if (patch) current = { ...current, ...patch };
      plot.setData(d as uPlot.AlignedData);
      annotate(d);
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
