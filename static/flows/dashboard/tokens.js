// The canvas overlay over the diagram: a token per hop moving along its edge, pulses on
// nodes, node badges from the counters, and a rate display for edges too busy to follow.
// One requestAnimationFrame loop; tokens live in a pooled array and are drawn in one
// path per colour.

import { shortCount } from "../helpers.js";
import { BADGE, BADGE_MIN_TEXT_PX, FONT, TOKEN_RADIUS, badgeRowY, pointAt } from "./graph.js";

const MAX_TOKENS = 1500;
const MAX_PULSES_PER_NODE = 6;
const DEDUPE_MS = 500; // one token per message per edge (published + enqueued share one)
const DENSE_ENTER = 40; // hops per second on one edge: above, show a rate instead
const DENSE_LEAVE = 30;
const SPEED = 260; // model px per second
const MIN_MS = 450;
const MAX_MS = 1300;
const PULSE_MS = 700;
const HIT_RADIUS = 10;

// Colour slots: indices into this.palette (in this order: PALETTE names CSS variables).
const PALETTE = ["command", "event", "failed", "grey", "dead", "ok", "accent", "amber", "mirror"];
const C = Object.fromEntries(PALETTE.map((name, i) => [name, i]));

const NODE_PULSE = {
  processed: C.ok,
  failed: C.failed,
  redelivered: C.amber,
  dead_lettered: C.dead,
  filtered: C.grey,
  unmatched: C.grey,
  archived: C.accent,
  replayed: C.accent,
  purged: C.grey,
};

function tokenColour(hop) {
  switch (hop.stage) {
    case "failed":
      return C.failed;
    case "filtered":
    case "unmatched":
    case "purged":
      return C.grey;
    case "dead_lettered":
      return C.dead;
    case "mirrored":
      return C.mirror;
    default:
      return hop.kind === "command" ? C.command : C.event;
  }
}

/** Hops per second over the last second, per edge (ten 100 ms buckets). */
class RateMeter {
  constructor() {
    this.buckets = new Uint16Array(10);
    this.at = 0;
  }
  advance(now) {
    const b = Math.floor(now / 100);
    if (b - this.at >= 10) this.buckets.fill(0);
    else for (let i = this.at + 1; i <= b; i++) this.buckets[i % 10] = 0;
    this.at = Math.max(this.at, b);
  }
  hit(now) {
    this.advance(now);
    this.buckets[this.at % 10] += 1;
  }
  rate(now) {
    this.advance(now);
    let sum = 0;
    for (let i = 0; i < 10; i++) sum += this.buckets[i];
    return sum;
  }
}

export class TokenLayer {
  constructor(canvas, graph) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.graph = graph;
    this.tokens = [];
    this.pulses = [];
    this.recent = new Map(); // "msg|edge" -> time
    this.rates = new Map(); // edge id -> RateMeter
    this.dense = new Map(); // edge id -> current rate (edges in rate display)
    this.highlight = null;
    this.frozenAt = null;
    this.sustain = null;
    this.hitList = []; // [x, y, msg] of the last frame, for clicks
    this.badgeBoxes = []; // what the last frame drew as badges, in rendered coordinates
    this.dirty = true;
    this.running = false;
    this.frames = 0;
    this.stats = { spawned: 0, drawn: 0, skipped: 0, pulses: 0, inFlight: 0, maxInFlight: 0 };
    this.setPalette();
    this.pt = { x: 0, y: 0 };
    this.textWidths = new Map();
    this.timeScale = 1; // animation time = real time x this (a slow-motion clip: exports.js)
    this.timeBase = [0, 0]; // [real, animation] time when the scale last changed
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      this.setPalette();
      this.dirty = true;
    });
    const cy = graph.cy;
    cy.on("render viewport", () => {
      this.dirty = true;
    });
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(graph.container);
    this.resize();
  }

  setPalette() {
    const c = this.graph.colors;
    this.colors = c;
    this.palette = PALETTE.map((name) => c[name]);
  }

  /** The colour a token of ``hop`` is drawn in (a CSS colour). */
  colourOf(hop) {
    return this.palette[tokenColour(hop)];
  }

  resize() {
    const box = this.graph.container.getBoundingClientRect();
    const changed = box.width !== this.width || box.height !== this.height;
    const dpr = window.devicePixelRatio || 1;
    this.width = box.width;
    this.height = box.height;
    this.canvas.width = Math.max(1, Math.round(box.width * dpr));
    this.canvas.height = Math.max(1, Math.round(box.height * dpr));
    this.canvas.style.width = `${box.width}px`;
    this.canvas.style.height = `${box.height}px`;
    this.dpr = dpr;
    this.graph.resize();
    if (changed && !this.graph.viewportTouched) this.graph.fit();
    this.dirty = true;
  }

  start() {
    if (this.running) return;
    this.running = true;
    const loop = (now) => {
      this.frames += 1;
      this.draw(this.time(now));
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  /** Animation time (ms): real time, slowed down or sped up by ``setTimeScale``. */
  time(real = performance.now()) {
    return this.timeBase[1] + (real - this.timeBase[0]) * this.timeScale;
  }

  setTimeScale(scale) {
    const real = performance.now();
    this.timeBase = [real, this.time(real)];
    this.timeScale = scale;
  }

  /** Freeze the animation (tokens stay where they are, new hops are not animated). */
  setFrozen(frozen) {
    const now = this.time();
    if (frozen && this.frozenAt === null) {
      this.frozenAt = now;
    } else if (!frozen && this.frozenAt !== null) {
      const shift = now - this.frozenAt;
      for (const t of this.tokens) t.t0 += shift;
      for (const p of this.pulses) p.t0 += shift;
      this.frozenAt = null;
    }
    this.dirty = true;
  }

  /** Animate live hops (resumed ones are history: the log shows them, no animation). */
  addHops(hops) {
    if (this.frozenAt !== null) return;
    const now = this.time();
    for (const hop of hops) this.addHop(hop, now);
  }

  addHop(hop, now) {
    const graph = this.graph;
    const edge = hop.edge ? graph.edgesById.get(hop.edge) : undefined;
    let reverse = false;
    let along = false;
    if (edge && hop.from !== hop.to) {
      if (edge.source === hop.from && edge.target === hop.to) along = true;
      else if (edge.source === hop.to && edge.target === hop.from) along = reverse = true;
    }
    if (!along) {
      this.pulse(hop.to || hop.from, NODE_PULSE[hop.stage] ?? tokenColour(hop), now);
      return;
    }
    let meter = this.rates.get(edge.id);
    if (meter === undefined) {
      meter = new RateMeter();
      this.rates.set(edge.id, meter);
    }
    const key = `${hop.msg}|${edge.id}`;
    const seen = this.recent.get(key);
    if (seen !== undefined && now - seen < DEDUPE_MS) return;
    this.recent.set(key, now);
    meter.hit(now);
    meter.kind = hop.kind;
    if (this.dense.has(edge.id)) return;
    const blocked = hop.stage === "filtered" || hop.stage === "unmatched";
    this.spawn({
      edge: edge.id,
      msg: hop.msg,
      colour: tokenColour(hop),
      mirror: hop.stage === "mirrored",
      reverse,
      end: blocked ? 0.4 : 1,
      fade: blocked,
      now,
    });
  }

  spawn({ edge, msg, colour, mirror = false, reverse = false, end = 1, fade = false, now, ms }) {
    if (this.tokens.length >= MAX_TOKENS) {
      this.stats.skipped += 1;
      return;
    }
    const geom = this.graph.edgeGeometry(edge);
    const length = geom ? geom.length : 200;
    const duration = ms ?? Math.min(MAX_MS, Math.max(MIN_MS, (length * end * 1000) / SPEED));
    this.tokens.push({ edge, msg, colour, mirror, reverse, end, fade, t0: now, duration, drawn: false });
    this.stats.spawned += 1;
  }

  pulse(nodeId, colour, now) {
    if (!nodeId || !this.graph.nodesById.has(nodeId)) return;
    let same = 0;
    for (const p of this.pulses) if (p.node === nodeId && now - p.t0 < PULSE_MS / 2) same += 1;
    if (same >= MAX_PULSES_PER_NODE) return;
    this.pulses.push({ node: nodeId, colour, t0: now });
    this.stats.pulses += 1;
  }

  clear() {
    this.tokens.length = 0;
    this.pulses.length = 0;
    this.recent.clear();
    this.dense.clear();
    this.rates.clear();
    this.dirty = true;
  }

  setHighlight(msg) {
    this.highlight = msg;
    this.dirty = true;
  }

  /** The message id of the token at rendered point (x, y), if any. */
  hitTest(x, y, radius = HIT_RADIUS) {
    let best = null;
    let bestD = radius * radius;
    const list = this.hitList;
    for (let i = 0; i < list.length; i += 3) {
      const dx = list[i] - x;
      const dy = list[i + 1] - y;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        bestD = d;
        best = list[i + 2];
      }
    }
    return best;
  }

  updateDensity(now) {
    for (const [id, meter] of this.rates) {
      const rate = meter.rate(now);
      if (this.dense.has(id)) {
        if (rate < DENSE_LEAVE) this.dense.delete(id);
        else this.dense.set(id, rate);
      } else if (rate > DENSE_ENTER) {
        this.dense.set(id, rate);
      } else if (rate === 0) {
        this.rates.delete(id);
      }
    }
    if (this.recent.size > 5000) {
      for (const [k, t] of this.recent) if (now - t > DEDUPE_MS) this.recent.delete(k);
    }
  }

  draw(now) {
    if (this.frozenAt !== null) now = this.frozenAt;
    else if (this.frames % 6 === 0) this.updateDensity(now);
    const busy = this.tokens.length || this.pulses.length || this.dense.size || this.sustain;
    if (!busy && !this.dirty) return;
    this.dirty = false;
    const ctx = this.ctx;
    const cy = this.graph.cy;
    const zoom = cy.zoom();
    const pan = cy.pan();
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    this.drawDense(ctx, zoom, pan, now);
    this.drawPulses(ctx, zoom, pan, now);
    this.drawTokens(ctx, zoom, pan, now);
    this.drawBadges(ctx);
  }

  drawDense(ctx, zoom, pan, now) {
    if (!this.dense.size) return;
    const c = this.colors;
    ctx.save();
    for (const [id, rate] of this.dense) {
      const geom = this.graph.edgeGeometry(id);
      if (!geom) continue;
      const edge = this.graph.edgesById.get(id);
      const meter = this.rates.get(id);
      let colour = meter && meter.kind === "command" ? c.command : c.event;
      if (edge && edge.kind === "dead_letter") colour = c.dead;
      ctx.beginPath();
      for (let i = 0; i < geom.xs.length; i++) {
        const x = geom.xs[i] * zoom + pan.x;
        const y = geom.ys[i] * zoom + pan.y;
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      const width = Math.min(14, 3 + Math.log2(rate) * 1.5) * Math.max(0.6, Math.min(zoom, 1.5));
      ctx.setLineDash([]);
      ctx.globalAlpha = 0.35;
      ctx.shadowColor = colour;
      ctx.shadowBlur = 14;
      ctx.lineWidth = width;
      ctx.strokeStyle = colour;
      ctx.lineCap = "round";
      ctx.stroke();
      ctx.shadowBlur = 0;
      ctx.globalAlpha = 0.95;
      ctx.lineWidth = Math.max(2, width / 3);
      ctx.setLineDash([2, 12]);
      ctx.lineDashOffset = -(now / 25) % 14;
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      pointAt(geom, 0.5, this.pt);
      this.label(ctx, `${Math.round(rate)}/s`, this.pt.x * zoom + pan.x, this.pt.y * zoom + pan.y - width / 2 - 10, colour);
    }
    ctx.restore();
  }

  drawPulses(ctx, zoom, pan, now) {
    const pulses = this.pulses;
    let kept = 0;
    ctx.lineWidth = 2;
    for (let i = 0; i < pulses.length; i++) {
      const p = pulses[i];
      const age = (now - p.t0) / PULSE_MS;
      if (age >= 1) continue;
      pulses[kept++] = p;
      const box = this.graph.nodeBox(p.node);
      if (!box) continue;
      // A ring that grows out of the node's outline and fades.
      const grow = (3 + age * 10) * Math.min(zoom, 1.4);
      const w = box.w * zoom + grow * 2;
      const h = box.h * zoom + grow * 2;
      const x = box.x * zoom + pan.x - w / 2;
      const y = box.y * zoom + pan.y - h / 2;
      const round = box.kind === "topic" ? h / 2 : Math.min(h / 2, 10 + grow);
      ctx.globalAlpha = (1 - age) * 0.75;
      ctx.strokeStyle = this.palette[p.colour];
      ctx.beginPath();
      ctx.roundRect(x, y, w, h, round);
      ctx.stroke();
    }
    pulses.length = kept;
    ctx.globalAlpha = 1;
  }

  drawTokens(ctx, zoom, pan, now) {
    const tokens = this.tokens;
    const radius = Math.max(2, TOKEN_RADIUS * zoom);
    const hit = this.hitList;
    hit.length = 0;
    // Group by colour and fade so that each group is one path: a few fills per frame.
    const groups = this.groups || (this.groups = this.palette.map(() => ({ solid: [], faded: [], mirror: [] })));
    for (const g of groups) {
      g.solid.length = 0;
      g.faded.length = 0;
      g.mirror.length = 0;
    }
    if (this.sustain) {
      let alive = 0;
      for (const t of tokens) if (t.synthetic && now - t.t0 < t.duration) alive += 1;
      this.topUp(now, alive);
    }
    const highlighted = [];
    let w = 0;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      const age = (now - t.t0) / t.duration;
      if (age >= 1) continue;
      tokens[w++] = t;
      if (age < 0) continue;
      const geom = this.graph.edgeGeometry(t.edge);
      if (!geom) continue;
      const frac = t.reverse ? 1 - age * t.end : age * t.end;
      pointAt(geom, frac, this.pt);
      const x = this.pt.x * zoom + pan.x;
      const y = this.pt.y * zoom + pan.y;
      const g = groups[t.colour];
      if (t.mirror) g.mirror.push(x, y);
      else if (t.fade && age > 0.6) g.faded.push(x, y);
      else g.solid.push(x, y);
      if (t.msg === this.highlight) highlighted.push(x, y);
      hit.push(x, y, t.msg);
      if (!t.drawn) {
        t.drawn = true;
        this.stats.drawn += 1;
      }
    }
    tokens.length = w;
    this.stats.inFlight = w;
    if (w > this.stats.maxInFlight) this.stats.maxInFlight = w;
    // One path per colour and style: a few fills per frame, whatever the token count.
    const full = Math.PI * 2;
    for (let ci = 0; ci < groups.length; ci++) {
      const g = groups[ci];
      const colour = this.palette[ci];
      if (g.solid.length) {
        ctx.fillStyle = colour;
        ctx.beginPath();
        for (let i = 0; i < g.solid.length; i += 2) {
          ctx.moveTo(g.solid[i] + radius, g.solid[i + 1]);
          ctx.arc(g.solid[i], g.solid[i + 1], radius, 0, full);
        }
        ctx.fill();
      }
      if (g.faded.length) {
        ctx.globalAlpha = 0.35;
        ctx.fillStyle = colour;
        ctx.beginPath();
        for (let i = 0; i < g.faded.length; i += 2) {
          ctx.moveTo(g.faded[i] + radius, g.faded[i + 1]);
          ctx.arc(g.faded[i], g.faded[i + 1], radius, 0, full);
        }
        ctx.fill();
        ctx.globalAlpha = 1;
      }
      if (g.mirror.length) {
        ctx.strokeStyle = colour;
        ctx.lineWidth = 1.8;
        ctx.setLineDash([2.5, 2]);
        ctx.beginPath();
        for (let i = 0; i < g.mirror.length; i += 2) {
          ctx.moveTo(g.mirror[i] + radius + 0.5, g.mirror[i + 1]);
          ctx.arc(g.mirror[i], g.mirror[i + 1], radius + 0.5, 0, full);
        }
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
    if (highlighted.length) {
      ctx.strokeStyle = this.colors.accent;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      for (let i = 0; i < highlighted.length; i += 2) {
        ctx.moveTo(highlighted[i] + radius + 4, highlighted[i + 1]);
        ctx.arc(highlighted[i], highlighted[i + 1], radius + 4, 0, full);
      }
      ctx.stroke();
    }
  }

  /**
   * A row of badges above each node, scaled with the zoom like the node's name (BADGE is
   * in model units); when their text would be too small to read, a dot per badge instead.
   */
  drawBadges(ctx) {
    const graph = this.graph;
    const stats = graph.stats;
    const drawn = this.badgeBoxes;
    drawn.length = 0;
    if (!stats) return;
    const cy = graph.cy;
    const zoom = cy.zoom();
    const pan = cy.pan();
    const fontPx = BADGE.font * zoom;
    const collapsed = fontPx < BADGE_MIN_TEXT_PX;
    const h = BADGE.height * zoom;
    const gap = BADGE.gap * zoom;
    ctx.font = `600 ${fontPx}px ${FONT}`;
    for (const node of graph.data.nodes) {
      const badges = badgesFor(node, stats[node.id], graph.dlqIds.has(node.id));
      if (!badges.length) continue;
      const box = graph.nodeBox(node.id);
      if (!box) continue;
      const cx = box.x * zoom + pan.x;
      if (collapsed) {
        // Dots on the node's top edge, over its outline: the name stays clear.
        const r = Math.max(2, 3 * zoom);
        const y = (box.y - box.h / 2) * zoom + pan.y;
        let x = cx - ((badges.length - 1) * (2 * r + 2)) / 2;
        for (const badge of badges) {
          ctx.fillStyle = this.palette[badge.colour];
          ctx.beginPath();
          ctx.arc(x, y, r, 0, Math.PI * 2);
          ctx.fill();
          drawn.push({ node: node.id, text: "", x1: x - r, y1: y - r, x2: x + r, y2: y + r });
          x += 2 * r + 2;
        }
        continue;
      }
      const mid = badgeRowY(box) * zoom + pan.y;
      const widths = badges.map((b) => (this.textWidth(b.text) + BADGE.pad) * zoom);
      const total = widths.reduce((a, w) => a + w, 0) + gap * (badges.length - 1);
      let x = cx - total / 2;
      for (let i = 0; i < badges.length; i++) {
        const colour = this.palette[badges[i].colour];
        // Grey outlines a badge; its text takes the muted ink, to be read.
        this.pill(ctx, badges[i].text, x, mid, widths[i], colour, h, badges[i].colour === C.grey ? this.colors.muted : colour);
        drawn.push({ node: node.id, text: badges[i].text, x1: x, y1: mid - h / 2, x2: x + widths[i], y2: mid + h / 2 });
        x += widths[i] + gap;
      }
    }
  }

  /** The width of ``text`` in the badge font at zoom 1 (model units), measured once. */
  textWidth(text) {
    let w = this.textWidths.get(text);
    if (w === undefined) {
      const ctx = this.ctx;
      ctx.save();
      ctx.font = `600 ${BADGE.font}px ${FONT}`;
      w = ctx.measureText(text).width;
      ctx.restore();
      if (this.textWidths.size > 2000) this.textWidths.clear();
      this.textWidths.set(text, w);
    }
    return w;
  }

  pill(ctx, text, x, cyMid, w, colour, h = 16, ink = colour) {
    ctx.fillStyle = this.colors.panel;
    ctx.strokeStyle = colour;
    ctx.lineWidth = Math.max(0.6, (1.2 * h) / 16);
    ctx.beginPath();
    ctx.roundRect(x, cyMid - h / 2, w, h, h / 2);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = ink;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(text, x + w / 2, cyMid + 0.5);
  }

  label(ctx, text, x, y, colour) {
    ctx.font = `700 11px ${FONT}`;
    const w = ctx.measureText(text).width + 12;
    this.pill(ctx, text, x - w / 2, y, w, colour);
  }

  /**
   * Test and benchmark hook: keep ``count`` synthetic tokens in flight over the edges of
   * the diagram for ``ms`` (they bypass the rate display, which would otherwise take over).
   */
  inject(count, ms = 3000) {
    const edges = [...this.graph.edgesById.keys()];
    if (!edges.length) return 0;
    this.sustain = { count, until: this.time() + ms, edges, n: 0 };
    return count;
  }

  topUp(now, alive) {
    const s = this.sustain;
    if (now > s.until) {
      this.sustain = null;
      return;
    }
    for (let k = alive; k < s.count; k++) {
      const i = s.n++;
      this.spawn({
        edge: s.edges[i % s.edges.length],
        msg: `synthetic-${i}`,
        colour: i % 9 === 0 ? C.failed : i % 2 ? C.command : C.event,
        mirror: i % 13 === 0,
        // The first ones start spread along their edges, later ones at the start.
        now: i < s.count ? now - Math.random() * 1400 : now,
        ms: 1500 + (i % 7) * 100,
      });
      this.tokens[this.tokens.length - 1].synthetic = true;
    }
  }
}

/** The few numbers worth a badge on the diagram; the node panel shows all counters. */
function badgesFor(node, s, isDlq = false) {
  const out = [];
  if (node.kind === "producer" && node.paused) out.push({ text: "paused", colour: C.amber });
  if (node.kind === "consumer" && node.online === false) out.push({ text: "offline", colour: C.failed });
  if (!s) return out;
  switch (node.kind) {
    case "queue":
      if (isDlq || s.parked) out.push({ text: `parked ${shortCount(s.parked || 0)}`, colour: C.dead });
      if (!isDlq || s.depth) out.push({ text: `depth ${shortCount(s.depth || 0)}`, colour: C.command });
      if (s.in_flight) out.push({ text: `in flight ${shortCount(s.in_flight)}`, colour: C.accent });
      break;
    case "consumer":
      out.push({ text: `ok ${shortCount(s.processed || 0)}`, colour: C.ok });
      if (s.failed) out.push({ text: `failed ${shortCount(s.failed)}`, colour: C.failed });
      break;
    case "producer":
      if (s.published) out.push({ text: `sent ${shortCount(s.published)}`, colour: C.accent });
      if (s.failed) out.push({ text: `failed ${shortCount(s.failed)}`, colour: C.failed });
      break;
    case "topic":
      if (s.filtered) out.push({ text: `filtered ${shortCount(s.filtered)}`, colour: C.grey });
      break;
    case "bus":
      if (s.unmatched) out.push({ text: `unmatched ${shortCount(s.unmatched)}`, colour: C.grey });
      break;
    case "direct":
      if (s.failed_calls) out.push({ text: `failed ${shortCount(s.failed_calls)}`, colour: C.failed });
      break;
    default:
      break;
  }
  return out;
}
