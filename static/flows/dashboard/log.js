// The live event log: newest first, at most MAX_ROWS rows, filters by type, stage and
// node, a pause button. Rows are built with textContent only; new rows are added at most
// a few times a second, in one fragment.

import { plural } from "../helpers.js";

export const STAGES = [
  "published",
  "enqueued",
  "received",
  "delivered",
  "processed",
  "failed",
  "redelivered",
  "dead_lettered",
  "filtered",
  "unmatched",
  "transformed",
  "mirrored",
  "archived",
  "replayed",
  "purged",
];
const STAGE_SET = new Set(STAGES);
const MAX_ROWS = 500;
const KEEP = 3000; // hops kept in memory, so that changing a filter still fills the table
const FLUSH_MS = 150;

function clock(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function cell(tr, className, text) {
  const td = document.createElement("td");
  td.className = className;
  td.textContent = text;
  tr.appendChild(td);
  return td;
}

export class EventLog {
  constructor({ body, scroll, typeSelect, stageSelect, nodeSelect, pauseButton, countEl, graph, onPick }) {
    this.body = body;
    this.scroll = scroll;
    this.typeSelect = typeSelect;
    this.stageSelect = stageSelect;
    this.nodeSelect = nodeSelect;
    this.pauseButton = pauseButton;
    this.countEl = countEl;
    this.graph = graph;
    this.hops = [];
    this.queue = [];
    this.types = new Set();
    this.paused = false;
    this.unseen = 0;
    this.timer = null;
    this.total = 0;
    this.selectedMsg = null;
    this.filter = { type: "", stage: "", node: "" };

    for (const stage of STAGES) stageSelect.appendChild(new Option(stage.replace("_", " "), stage));
    const refilter = () => {
      this.filter = { type: typeSelect.value, stage: stageSelect.value, node: nodeSelect.value };
      this.renderAll();
    };
    typeSelect.addEventListener("change", refilter);
    stageSelect.addEventListener("change", refilter);
    nodeSelect.addEventListener("change", refilter);
    pauseButton.addEventListener("click", () => this.setPaused(!this.paused));
    body.addEventListener("click", (event) => {
      const tr = event.target.closest("tr[data-msg]");
      if (tr) onPick(tr.dataset.msg);
    });
    // Rows do not move under the pointer: while it is over the log, new rows wait.
    this.hovering = false;
    scroll.addEventListener("pointerenter", () => {
      this.hovering = true;
    });
    scroll.addEventListener("pointerleave", () => {
      this.hovering = false;
      if (this.queue.length && this.timer === null) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
    });
    body.addEventListener("keydown", (event) => {
      const tr = event.target.closest("tr[data-msg]");
      if (tr && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        onPick(tr.dataset.msg);
      }
    });
  }

  setNodes(nodes) {
    const current = this.nodeSelect.value;
    while (this.nodeSelect.options.length > 1) this.nodeSelect.remove(1);
    const sorted = [...nodes].sort((a, b) => a.label.localeCompare(b.label));
    for (const n of sorted) this.nodeSelect.appendChild(new Option(`${n.label} (${n.kind})`, n.id));
    this.nodeSelect.value = sorted.some((n) => n.id === current) ? current : "";
  }

  setPaused(paused) {
    this.paused = paused;
    this.pauseButton.setAttribute("aria-pressed", String(paused));
    if (!paused) {
      this.unseen = 0;
      this.queue.length = 0;
      this.renderAll();
    }
    this.updateCount();
  }

  clear() {
    this.hops.length = 0;
    this.queue.length = 0;
    this.unseen = 0;
    this.total = 0;
    this.body.replaceChildren();
    this.updateCount();
  }

  /** Hops in seq order (oldest first). */
  add(hops) {
    for (const hop of hops) {
      this.hops.push(hop);
      this.total += 1;
      if (hop.type && !this.types.has(hop.type)) {
        this.types.add(hop.type);
        this.addTypeOption(hop.type);
      }
    }
    if (this.hops.length > KEEP * 1.2) this.hops.splice(0, this.hops.length - KEEP);
    if (this.paused) {
      this.unseen += hops.length;
      this.updateCount();
      return;
    }
    for (const hop of hops) this.queue.push(hop);
    if (this.timer === null) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  addTypeOption(type) {
    const options = [...this.typeSelect.options].slice(1);
    const before = options.find((o) => o.value.localeCompare(type) > 0) || null;
    this.typeSelect.insertBefore(new Option(type, type), before);
  }

  matches(hop) {
    const f = this.filter;
    if (f.type && hop.type !== f.type) return false;
    if (f.stage && hop.stage !== f.stage) return false;
    if (f.node && hop.from !== f.node && hop.to !== f.node) return false;
    return true;
  }

  row(hop) {
    const tr = document.createElement("tr");
    tr.dataset.seq = String(hop.seq);
    tr.dataset.msg = hop.msg;
    tr.tabIndex = 0;
    if (hop.msg === this.selectedMsg) tr.classList.add("selected");
    cell(tr, "c-time", clock(hop.at));
    cell(tr, "c-seq", String(hop.seq));
    const stage = cell(tr, "c-stage", "");
    const tag = document.createElement("span");
    tag.className = `stage${STAGE_SET.has(hop.stage) ? ` st-${hop.stage}` : ""}`;
    tag.textContent = String(hop.stage).replace("_", " ");
    stage.appendChild(tag);
    const type = cell(tr, "c-type", hop.type);
    type.classList.add(hop.kind === "command" ? "kind-command" : "kind-event");
    const from = this.graph.label(hop.from);
    const to = hop.to && hop.to !== hop.from ? this.graph.label(hop.to) : "";
    cell(tr, "c-path", to ? `${from} → ${to}` : from);
    cell(tr, "c-att", hop.attempt > 1 ? String(hop.attempt) : "");
    return tr;
  }

  flush() {
    this.timer = null;
    if (this.paused || !this.queue.length) return;
    if (this.hovering) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      return;
    }
    const fresh = this.queue.filter((h) => this.matches(h));
    this.queue.length = 0;
    if (fresh.length) {
      const fragment = document.createDocumentFragment();
      const start = Math.max(0, fresh.length - MAX_ROWS);
      for (let i = fresh.length - 1; i >= start; i--) fragment.appendChild(this.row(fresh[i]));
      const atTop = this.scroll.scrollTop < 4;
      const before = this.scroll.scrollHeight;
      this.body.insertBefore(fragment, this.body.firstChild);
      while (this.body.childElementCount > MAX_ROWS) this.body.lastElementChild.remove();
      // Someone reading further down keeps their place while rows arrive on top.
      if (!atTop) this.scroll.scrollTop += this.scroll.scrollHeight - before;
    }
    this.updateCount();
  }

  renderAll() {
    clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    const rows = [];
    for (let i = this.hops.length - 1; i >= 0 && rows.length < MAX_ROWS; i--) {
      if (this.matches(this.hops[i])) rows.push(this.row(this.hops[i]));
    }
    this.body.replaceChildren(...rows);
    this.updateCount();
  }

  markSelected(msg) {
    this.selectedMsg = msg;
    for (const tr of this.body.querySelectorAll("tr.selected")) tr.classList.remove("selected");
    if (!msg) return;
    for (const tr of this.body.querySelectorAll("tr[data-msg]")) {
      if (tr.dataset.msg === msg) tr.classList.add("selected");
    }
  }

  /** A line on what the log leaves out (the server's sampling), or "". */
  setNote(text) {
    this.note = text;
    this.updateCount();
  }

  updateCount() {
    const shown = this.body.childElementCount;
    let text = `${shown} shown · ${plural(this.total, "hop")}`;
    if (this.paused) text = `paused · ${this.unseen} new`;
    if (this.note) text += ` · ${this.note}`;
    this.countEl.textContent = text;
    this.pauseButton.textContent = this.paused ? "Resume" : "Pause";
  }
}
