// The diagram: Cytoscape.js with a left-to-right dagre layout. Positions a person drags
// are kept in localStorage per topology. Edge geometry is exposed (in model coordinates)
// for the token overlay.

import cytoscape from "../../vendor/cytoscape-3.35.0.esm.min.js";
import cytoscapeDagre from "../../vendor/cytoscape-dagre-4.0.1.esm.min.js";

cytoscape.use(cytoscapeDagre);

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const SAMPLES_PER_CURVE = 16;

/**
 * Node badges, in model units: they scale with the zoom like the names they sit over, so
 * a zoomed-out diagram never has badges covering names. The layout keeps room for a row
 * of them above every node (BADGE.room) and edge labels keep out of that room.
 */
export const BADGE = { font: 10.5, height: 16, gap: 3, pad: 10, sink: 3, lift: 9, room: 160 };
/** The smallest zoom Fit goes to: node names at 13 px * 0.7, about 9 px. */
const MIN_FIT_ZOOM = 0.7;
const MAX_FIT_ZOOM = 1.5;
/** Below this rendered font size a badge's text cannot be read: it collapses into a dot. */
export const BADGE_MIN_TEXT_PX = 7.5;
/** A token's radius in model units (it scales with the zoom too, never under 2 px). */
export const TOKEN_RADIUS = 4.5;

/** The model y of the middle of a node's badge row (box: nodeBox()). */
export function badgeRowY(box) {
  const top = box.y - box.h / 2;
  if (box.kind === "topic" || box.kind === "bus") return top - BADGE.lift;
  return top - BADGE.height / 2 + BADGE.sink;
}

export const NODE_KINDS = ["producer", "queue", "topic", "bus", "direct", "consumer", "api-producer", "api-consumer"];

/**
 * The theme's colours, read from the CSS variables of app.css and dashboard.css: the one
 * source of the palette, so the diagram, the overlay and the legend cannot drift apart.
 */
export function themeColors() {
  const css = getComputedStyle(document.documentElement);
  const get = (name) => css.getPropertyValue(`--${name}`).trim();
  const names = ["bg", "panel", "text", "muted", "line", "accent", "command", "event", "failed", "ok", "bad", "dead", "grey", "mirror", "amber"];
  const colours = Object.fromEntries(names.map((name) => [name, get(name)]));
  colours.dark = matchMedia("(prefers-color-scheme: dark)").matches;
  return colours;
}

function stylesheet(c) {
  const edgeColor = c.dark ? "#56657c" : "#9aa5b5";
  return [
    {
      selector: "node",
      style: {
        label: "data(display)",
        "font-family": FONT,
        "font-size": 13,
        "font-weight": 600,
        color: c.text,
        "text-valign": "center",
        "text-halign": "center",
        "text-wrap": "ellipsis",
        "text-max-width": "data(tw)",
        width: "data(w)",
        height: "data(h)",
        "background-color": c.panel,
        "border-width": 2,
        "border-color": c.muted,
        "overlay-opacity": 0,
        "min-zoomed-font-size": 5,
      },
    },
    { selector: 'node[kind = "producer"]', style: { shape: "round-tag", "border-color": c.accent } },
    {
      selector: 'node[kind = "queue"]',
      style: { shape: "barrel", "border-color": c.command, "border-width": 2.5 },
    },
    {
      // Topics and buses are drawn small, their name under the shape.
      selector: 'node[kind = "topic"], node[kind = "bus"]',
      style: {
        "border-width": 3,
        "text-valign": "bottom",
        "text-margin-y": 5,
        "text-background-color": c.panel,
        "text-background-opacity": 0.85,
        "text-background-padding": 2,
      },
    },
    { selector: 'node[kind = "topic"]', style: { shape: "ellipse", "border-color": c.event } },
    { selector: 'node[kind = "bus"]', style: { shape: "round-diamond", "border-color": c.accent } },
    {
      selector: 'node[kind = "direct"]',
      style: { shape: "rectangle", "border-style": "dashed", "border-color": c.muted },
    },
    {
      selector: 'node[kind = "consumer"]',
      style: { shape: "round-rectangle", "border-color": c.ok },
    },
    // Code outside EventViz calling the AWS API: drawn like its simulated kin, dashed.
    {
      selector: 'node[kind = "api-producer"]',
      style: { shape: "round-tag", "border-color": c.accent, "border-style": "dashed" },
    },
    {
      selector: 'node[kind = "api-consumer"]',
      style: { shape: "round-rectangle", "border-color": c.ok, "border-style": "dashed" },
    },
    { selector: "node.dlq", style: { "border-color": c.dead } },
    {
      selector: "node.offline",
      style: { "border-style": "dashed", "border-color": c.grey, color: c.muted, opacity: 0.55 },
    },
    { selector: "node.paused", style: { "border-style": "dashed", color: c.muted } },
    {
      selector: "node:selected",
      style: { "border-width": 4, "underlay-color": c.accent, "underlay-opacity": 0.18, "underlay-padding": 6 },
    },
    {
      selector: "edge",
      style: {
        width: 1.6,
        "curve-style": "bezier",
        "line-color": edgeColor,
        "target-arrow-shape": "triangle",
        "target-arrow-color": edgeColor,
        "arrow-scale": 0.9,
        label: "data(display)",
        "font-family": FONT,
        "font-size": 11,
        color: c.muted,
        "text-wrap": "wrap",
        "text-background-color": c.panel,
        "text-background-opacity": 0.9,
        "text-background-padding": 2,
        "text-background-shape": "round-rectangle",
        "overlay-opacity": 0,
        "min-zoomed-font-size": 6,
        // Where placeEdgeLabels() put the label, from the edge's middle (model units).
        "text-margin-x": "data(mx)",
        "text-margin-y": "data(my)",
      },
    },
    { selector: 'edge[kind = "rule"]', style: { color: c.text } },
    { selector: 'edge[kind = "api"]', style: { "line-style": "dashed" } },
    {
      selector: 'edge[kind = "mirror"]',
      style: { "line-style": "dashed", "line-dash-pattern": [6, 4] },
    },
    {
      selector: 'edge[kind = "dead_letter"]',
      style: {
        "line-style": "dotted",
        "line-color": c.dead,
        "target-arrow-color": c.dead,
        width: 2.2,
        color: c.dead,
      },
    },
    { selector: "edge.disabled", style: { "line-style": "dotted", opacity: 0.45 } },
    {
      selector: "edge.traced",
      style: { width: 3.5, "line-color": c.accent, "target-arrow-color": c.accent, "z-index": 5 },
    },
    { selector: "node.traced", style: { "border-width": 4 } },
  ];
}

function edgeDisplay(edge) {
  if (edge.kind === "rule") {
    if (edge.enabled === false) return `${edge.label}\n(disabled)`;
    return edge.transformed ? `${edge.label}\n(transformed)` : edge.label;
  }
  if (edge.kind === "mirror") return edge.label ? `mirror · ${edge.label}` : "mirror";
  return edge.label || "";
}

function nodeDisplay(node) {
  if (node.kind === "producer" && node.paused) return `${node.label} (paused)`;
  if (node.kind === "consumer" && node.online === false) return `${node.label} (offline)`;
  return node.label;
}

export class Graph {
  constructor(container, { slug, onTap }) {
    this.container = container;
    this.slug = slug;
    this.storageKey = `eventviz:positions:${slug}`;
    this.data = { nodes: [], edges: [] };
    this.nodesById = new Map();
    this.edgesById = new Map();
    this.dlqIds = new Set();
    this.geometry = new Map();
    this.stats = {};
    this.measure = document.createElement("canvas").getContext("2d");
    this.measure.font = `600 13px ${FONT}`;
    this.colors = themeColors();
    this.cy = cytoscape({
      container,
      style: stylesheet(this.colors),
      minZoom: 0.2,
      maxZoom: 3,
      boxSelectionEnabled: false,
      selectionType: "single",
    });
    const forget = () => this.geometry.clear();
    this.cy.on("position add remove data style", forget);
    this.cy.on("layoutstop", forget);
    this.cy.on("dragfree", "node", () => {
      this.rememberPosition();
      this.placeEdgeLabels();
    });
    this.cy.on("tap", (event) => onTap(event));
    // Once a person zooms or pans, resizing the window no longer refits the diagram.
    this.viewportTouched = false;
    container.addEventListener("wheel", () => {
      this.viewportTouched = true;
    }, { passive: true });
    this.cy.on("tapdrag", (event) => {
      if (event.target === this.cy) this.viewportTouched = true;
    });
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.restyle());
  }

  restyle() {
    this.colors = themeColors();
    this.cy.style(stylesheet(this.colors));
    this.geometry.clear();
  }

  savedPositions() {
    try {
      const raw = localStorage.getItem(this.storageKey);
      const value = raw ? JSON.parse(raw) : {};
      return value && typeof value === "object" ? value : {};
    } catch {
      return {};
    }
  }

  /** After a drag, pin every node where it is: the arrangement survives reloads as a whole. */
  rememberPosition() {
    const saved = this.savedPositions();
    this.cy.nodes().forEach((n) => {
      const { x, y } = n.position();
      saved[n.id()] = [Math.round(x), Math.round(y)];
    });
    try {
      localStorage.setItem(this.storageKey, JSON.stringify(saved));
    } catch {
      // storage full or disabled: positions are simply not kept
    }
  }

  forgetPositions() {
    try {
      localStorage.removeItem(this.storageKey);
    } catch {
      // nothing to forget
    }
    this.layout({ keep: new Map() });
  }

  nodeElement(node, dlqIds) {
    const wide = node.kind !== "topic" && node.kind !== "bus";
    const text = this.measure.measureText(nodeDisplay(node)).width;
    let w = 60;
    let h = 60;
    if (wide) {
      w = Math.max(node.kind === "queue" ? 104 : 92, Math.min(200, text + 34));
      h = 34;
    } else if (node.kind === "bus") {
      w = 70;
      h = 70;
    } else {
      w = 54;
      h = 54;
    }
    const classes = [];
    if (node.kind === "consumer" && node.online === false) classes.push("offline");
    if (node.kind === "producer" && node.paused) classes.push("paused");
    if (dlqIds.has(node.id)) classes.push("dlq");
    return {
      group: "nodes",
      data: {
        ...node,
        display: nodeDisplay(node),
        w,
        h,
        tw: wide ? w - 18 : 180,
      },
      classes,
    };
  }

  edgeElement(edge) {
    const classes = [];
    if (edge.kind === "rule" && edge.enabled === false) classes.push("disabled");
    const existing = this.cy.getElementById(edge.id);
    const keep = existing.nonempty() && existing.data("display") === edgeDisplay(edge);
    const mx = keep ? existing.data("mx") : 0;
    const my = keep ? existing.data("my") : 0;
    return { group: "edges", data: { ...edge, display: edgeDisplay(edge), mx, my }, classes };
  }

  /** Show ``graph``; existing nodes keep where they are, new ones are laid out. */
  setGraph(graph) {
    const nodes = [...(graph.nodes || [])].sort((a, b) => a.id.localeCompare(b.id));
    const ids = new Set(nodes.map((n) => n.id));
    const edges = [...(graph.edges || [])]
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .sort((a, b) => a.id.localeCompare(b.id));
    const dlqIds = new Set(edges.filter((e) => e.kind === "dead_letter").map((e) => e.target));
    const first = this.cy.nodes().length === 0;
    const keep = new Map();
    this.cy.nodes().forEach((n) => keep.set(n.id(), { ...n.position() }));

    const wanted = [
      ...nodes.map((n) => this.nodeElement(n, dlqIds)),
      ...edges.map((e) => this.edgeElement(e)),
    ];
    const wantedIds = new Set(wanted.map((el) => el.data.id));
    let added = false;
    this.cy.batch(() => {
      this.cy.elements().forEach((el) => {
        if (!wantedIds.has(el.id())) el.remove();
      });
      for (const el of wanted) {
        const existing = this.cy.getElementById(el.data.id);
        const sameEnds =
          el.group !== "edges" ||
          (existing.nonempty() &&
            existing.data("source") === el.data.source &&
            existing.data("target") === el.data.target);
        if (existing.nonempty() && sameEnds) {
          existing.data(el.data);
          existing.classes(el.classes);
        } else {
          if (existing.nonempty()) existing.remove();
          this.cy.add(el);
          if (el.group === "nodes") added = true;
        }
      }
    });
    this.data = { ...graph, nodes, edges };
    this.nodesById = new Map(nodes.map((n) => [n.id, n]));
    this.edgesById = new Map(edges.map((e) => [e.id, e]));
    this.dlqIds = dlqIds;
    this.geometry.clear();
    if (first || added) this.layout({ keep: first ? new Map() : keep, fit: first });
    else this.placeEdgeLabels();
  }

  layout({ keep, fit = true }) {
    const saved = this.savedPositions();
    // Ranks far enough apart for the longest edge label to sit between them, nodes far
    // enough apart for a row of badges above each (and the names of topics and buses,
    // which are under their shapes, are counted in their size).
    let longest = 0;
    this.cy.edges().forEach((e) => {
      if (e.data("display")) longest = Math.max(longest, e.boundingBox({ includeNodes: false, includeEdges: false, includeLabels: true }).w);
    });
    const layout = this.cy.layout({
      name: "dagre",
      rankDir: "LR",
      nodeSep: BADGE.height + 12,
      edgeSep: 14,
      rankSep: Math.max(70, longest + 50),
      nodeDimensionsIncludeLabels: true,
      animate: false,
      fit: false,
    });
    layout.run();
    this.spread();
    this.cy.batch(() => {
      this.cy.nodes().forEach((node) => {
        const id = node.id();
        const s = saved[id];
        if (Array.isArray(s) && s.length === 2 && s.every(Number.isFinite)) {
          node.position({ x: s[0], y: s[1] });
        } else if (keep.has(id)) {
          node.position(keep.get(id));
        }
      });
    });
    this.geometry.clear();
    this.placeEdgeLabels();
    if (fit) this.fit();
  }

  /**
   * Put each edge label where it overlaps no other label, node or badge row, and crosses
   * as few edges as it can (tokens ride on them): beside its edge, near the middle. All in
   * model units, so the result holds at every zoom. Greedy, longest labels first.
   */
  placeEdgeLabels() {
    const labelled = this.cy.edges().filter((e) => Boolean(e.data("display")));
    if (labelled.empty()) return;
    const only = { includeNodes: false, includeEdges: false, includeLabels: true };
    const hard = [];
    const soft = [];
    this.cy.nodes().forEach((n) => {
      const body = n.boundingBox({ includeLabels: false });
      hard.push(body, n.boundingBox(only));
      const box = { x: n.position("x"), y: n.position("y"), w: n.width(), h: n.height(), kind: n.data("kind") };
      const row = badgeRowY(box);
      const w = Math.max(box.w, BADGE.room);
      soft.push({ x1: box.x - w / 2, x2: box.x + w / 2, y1: row - BADGE.height / 2, y2: row + BADGE.height / 2 });
    });
    const paths = new Map();
    this.cy.edges().forEach((e) => {
      const g = this.edgeGeometry(e.id());
      if (g) paths.set(e.id(), g);
    });
    const items = labelled.map((e) => {
      const b = e.boundingBox(only);
      const m = { x: e.data("mx") || 0, y: e.data("my") || 0 };
      return { edge: e, w: b.w, h: b.h, base: { x: (b.x1 + b.x2) / 2 - m.x, y: (b.y1 + b.y2) / 2 - m.y } };
    });
    items.sort((a, b) => b.w * b.h - a.w * a.h || a.edge.id().localeCompare(b.edge.id()));
    const placed = [];
    const clear = 3;
    const pt = { x: 0, y: 0 };
    const ahead = { x: 0, y: 0 };
    const moves = [];
    for (const item of items) {
      const geom = paths.get(item.edge.id());
      let best = null;
      const candidates = [];
      if (geom) {
        for (let k = 0; k <= 18; k++) {
          const t = 0.14 + k * 0.04;
          pointAt(geom, t, pt);
          pointAt(geom, Math.min(1, t + 0.02), ahead);
          let dx = ahead.x - pt.x;
          let dy = ahead.y - pt.y;
          const len = Math.hypot(dx, dy) || 1;
          dx /= len;
          dy /= len;
          // The normal, pointing up first: a label above a left-to-right edge reads best.
          const nx = dy;
          const ny = -dx;
          const away = (item.w / 2) * Math.abs(nx) + (item.h / 2) * Math.abs(ny) + TOKEN_RADIUS + 3;
          for (const side of ny <= 0 ? [1, -1] : [-1, 1]) {
            candidates.push({ x: pt.x + nx * away * side, y: pt.y + ny * away * side, cost: Math.abs(t - 0.5) * 16 + (side === 1 ? 0 : 2) });
          }
        }
      } else {
        candidates.push({ x: item.base.x, y: item.base.y, cost: 0 });
      }
      for (const c of candidates) {
        const box = { x1: c.x - item.w / 2 - clear, x2: c.x + item.w / 2 + clear, y1: c.y - item.h / 2 - clear, y2: c.y + item.h / 2 + clear };
        let cost = c.cost;
        for (const p of placed) if (overlaps(box, p)) cost += 10000;
        for (const h of hard) if (overlaps(box, h)) cost += 5000;
        for (const s of soft) if (overlaps(box, s)) cost += 400;
        for (const [, g] of paths) if (crosses(box, g, TOKEN_RADIUS)) cost += 40;
        if (!best || cost < best.cost) best = { ...c, cost, box };
      }
      placed.push(best.box);
      moves.push([item.edge, best.x - item.base.x, best.y - item.base.y]);
    }
    this.cy.batch(() => {
      for (const [edge, mx, my] of moves) edge.data({ mx: Math.round(mx * 10) / 10, my: Math.round(my * 10) / 10 });
    });
  }

  /**
   * Dagre packs nodes tightly; a view of other proportions then shows a small diagram.
   * Stretch the ranks apart (up to 2.2x) in a wide view, or the nodes of a rank apart (up
   * to 1.6x: edges fanning out get room for their labels) in a tall one, until the diagram
   * has the view's proportions. Sizes stay: only the gaps grow.
   */
  spread() {
    const bb = this.cy.nodes().boundingBox();
    const cw = this.container.clientWidth;
    const ch = this.container.clientHeight;
    if (!bb.w || !bb.h || !cw || !ch) return;
    const ratio = ((cw / ch) / (bb.w / bb.h)) * 0.92;
    const fx = Math.min(2.2, Math.max(1, ratio));
    // Where even the width would need a zoom too small to read, fit() does not shrink the
    // diagram to the width: it is panned across instead, and a taller one would only hide more.
    const tooWide = cw / bb.w < MIN_FIT_ZOOM;
    const fy = tooWide ? 1 : Math.min(1.6, Math.max(1, 1 / ratio));
    if (fx <= 1.02 && fy <= 1.02) return;
    const cx = bb.x1 + bb.w / 2;
    const cy = bb.y1 + bb.h / 2;
    this.cy.batch(() => {
      this.cy.nodes().forEach((n) => {
        const p = n.position();
        n.position({ x: cx + (p.x - cx) * fx, y: cy + (p.y - cy) * fy });
      });
    });
  }

  /**
   * Fit the diagram to the view, but never below a zoom at which names can be read: a
   * phone shows the diagram's start (its producers) at a readable size, to be dragged.
   */
  fit() {
    const padding = 28;
    this.cy.fit(undefined, padding);
    if (this.cy.zoom() > MAX_FIT_ZOOM) {
      // A small topology in a big view: large, not huge.
      const w = this.container.clientWidth;
      const h = this.container.clientHeight;
      this.cy.zoom({ level: MAX_FIT_ZOOM, renderedPosition: { x: w / 2, y: h / 2 } });
    }
    if (this.cy.zoom() >= MIN_FIT_ZOOM || !this.cy.nodes().length) return;
    const bb = this.cy.elements().boundingBox();
    const h = this.container.clientHeight;
    this.cy.zoom(MIN_FIT_ZOOM);
    const tall = bb.h * MIN_FIT_ZOOM + 2 * padding > h;
    this.cy.pan({
      x: padding - bb.x1 * MIN_FIT_ZOOM,
      y: tall ? padding - bb.y1 * MIN_FIT_ZOOM : h / 2 - (bb.y1 + bb.h / 2) * MIN_FIT_ZOOM,
    });
  }

  /** The Fit button: fit now, and keep fitting when the window is resized. */
  refit() {
    this.viewportTouched = false;
    this.fit();
  }

  resize() {
    this.cy.resize();
    this.geometry.clear();
  }

  label(nodeId) {
    if (nodeId === "client") return "client";
    const node = this.nodesById.get(nodeId);
    return node ? node.label : nodeId || "—";
  }

  channels() {
    return this.data.nodes.filter((n) => ["queue", "topic", "bus", "direct"].includes(n.kind));
  }

  /** The points of an edge's curve in model coordinates, with cumulative lengths. */
  edgeGeometry(edgeId) {
    const cached = this.geometry.get(edgeId);
    if (cached !== undefined) return cached;
    const edge = this.cy.getElementById(edgeId);
    if (edge.empty() || !edge.isEdge()) return null;
    let geom = null;
    try {
      geom = sampleEdge(edge);
    } catch {
      geom = null;
    }
    if (geom) this.geometry.set(edgeId, geom);
    return geom;
  }

  nodeBox(nodeId) {
    const node = this.cy.getElementById(nodeId);
    if (node.empty() || !node.isNode()) return null;
    const p = node.position();
    return { x: p.x, y: p.y, w: node.width(), h: node.height(), kind: node.data("kind") };
  }

  setTraced(nodeIds, edgeIds) {
    this.cy.batch(() => {
      this.cy.elements(".traced").removeClass("traced");
      for (const id of nodeIds) this.cy.getElementById(id).addClass("traced");
      for (const id of edgeIds) this.cy.getElementById(id).addClass("traced");
    });
  }

  select(nodeId) {
    this.cy.elements(":selected").unselect();
    if (nodeId) this.cy.getElementById(nodeId).select();
  }
}

function overlaps(a, b) {
  return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
}

/** Whether a sampled edge passes through ``box`` grown by ``margin``. */
function crosses(box, geom, margin) {
  const r = { x1: box.x1 - margin, x2: box.x2 + margin, y1: box.y1 - margin, y2: box.y2 + margin };
  const { xs, ys } = geom;
  for (let i = 1; i < xs.length; i++) {
    if (segmentHits(xs[i - 1], ys[i - 1], xs[i], ys[i], r)) return true;
  }
  return false;
}

/** Liang-Barsky: whether the segment (x0, y0)-(x1, y1) meets the rectangle r. */
function segmentHits(x0, y0, x1, y1, r) {
  const dx = x1 - x0;
  const dy = y1 - y0;
  let lo = 0;
  let hi = 1;
  for (const [p, q] of [[-dx, x0 - r.x1], [dx, r.x2 - x0], [-dy, y0 - r.y1], [dy, r.y2 - y0]]) {
    if (p === 0) {
      if (q < 0) return false;
    } else {
      const t = q / p;
      if (p < 0) lo = Math.max(lo, t);
      else hi = Math.min(hi, t);
      if (lo > hi) return false;
    }
  }
  return true;
}

function sampleEdge(edge) {
  const s = edge.sourceEndpoint();
  const t = edge.targetEndpoint();
  if (!s || !t || !Number.isFinite(s.x) || !Number.isFinite(t.x)) return null;
  const cps = edge.controlPoints() || [];
  const xs = [s.x];
  const ys = [s.y];
  if (cps.length === 0) {
    xs.push(t.x);
    ys.push(t.y);
  } else {
    // Cytoscape draws a bezier edge as quadratic pieces joined at the midpoints of its
    // control points.
    let p0 = s;
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i];
      const p2 =
        i === cps.length - 1 ? t : { x: (c.x + cps[i + 1].x) / 2, y: (c.y + cps[i + 1].y) / 2 };
      for (let k = 1; k <= SAMPLES_PER_CURVE; k++) {
        const u = k / SAMPLES_PER_CURVE;
        const a = (1 - u) * (1 - u);
        const b = 2 * (1 - u) * u;
        const d = u * u;
        xs.push(a * p0.x + b * c.x + d * p2.x);
        ys.push(a * p0.y + b * c.y + d * p2.y);
      }
      p0 = p2;
    }
  }
  const n = xs.length;
  const cum = new Float64Array(n);
  for (let i = 1; i < n; i++) cum[i] = cum[i - 1] + Math.hypot(xs[i] - xs[i - 1], ys[i] - ys[i - 1]);
  return { xs: Float64Array.from(xs), ys: Float64Array.from(ys), cum, length: cum[n - 1] };
}

/** The point at ``frac`` (0..1) of a sampled edge, written into ``out``. */
export function pointAt(geom, frac, out) {
  const { xs, ys, cum, length } = geom;
  const n = xs.length;
  if (n < 2 || length === 0) {
    out.x = xs[0];
    out.y = ys[0];
    return out;
  }
  const d = Math.min(Math.max(frac, 0), 1) * length;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] < d) lo = mid;
    else hi = mid;
  }
  const span = cum[hi] - cum[lo] || 1;
  const u = (d - cum[lo]) / span;
  out.x = xs[lo] + (xs[hi] - xs[lo]) * u;
  out.y = ys[lo] + (ys[hi] - ys[lo]) * u;
  return out;
}
