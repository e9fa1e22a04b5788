// Run controls (start with a seed, stop), the accounting line, the run status, and the
// node panel: a node's counters and, for staff, pause/resume a producer, take a consumer
// offline/online, redrive a dead-letter queue.

import { element, fullCount, plural } from "../helpers.js";
import { CLIENT, consumerFrame, producerFrame, redriveFrame, runStartFrame, runStopFrame } from "./protocol.js";

const KIND_NAMES = {
  producer: "producer",
  queue: "queue",
  topic: "topic",
  bus: "event bus",
  direct: "direct call",
  consumer: "consumer",
};

const STAT_ORDER = [
  "published",
  "enqueued",
  "depth",
  "in_flight",
  "received",
  "delivered",
  "matched",
  "transformed",
  "processed",
  "mirror_processed",
  "failed",
  "redelivered",
  "dead_lettered",
  "parked",
  "redriven",
  "filtered",
  "unmatched",
  "purged",
  "archived",
  "replayed",
  "calls",
  "failed_calls",
];

const STAT_HELP = {
  depth: "waiting to be received",
  in_flight: "received, not yet acknowledged",
  parked: "dead letters held here",
  redelivered: "visible again after a failure or timeout",
  filtered: "copies a filter policy dropped",
  unmatched: "events no rule matched",
  duplicates: "messages processed again by a consumer that is not idempotent: their effect happened twice",
  mirror_processed: "mirrored copies this shadow consumer processed",
};

const TOTALS = ["published", "copies", "processed", "dead_lettered", "filtered", "unmatched", "purged", "in_flight", "lost"];

export class Controls {
  constructor({ graph, send, toast, showTab, onPublishTo }) {
    this.graph = graph;
    this.send = send;
    this.toast = toast;
    this.showTab = showTab;
    this.onPublishTo = onPublishTo;
    this.staff = false;
    this.run = null;
    this.counters = null;
    this.nodeId = null;
    this.$ = (id) => document.getElementById(id);

    this.$("run-controls").addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
    this.$("run-stop").addEventListener("click", () => {
      if (this.send(runStopFrame())) this.busy(this.$("run-stop"));
      else this.toast("Not connected; try again in a moment.", "bad");
    });
  }

  setStaff(staff) {
    this.staff = staff;
    for (const button of document.querySelectorAll("[data-staff-only]")) {
      button.disabled = !staff;
      if (!staff) button.title = "Log in as staff to control runs";
    }
    this.$("run-seed").disabled = !staff;
    this.$("staff-note").hidden = staff;
    for (const note of document.querySelectorAll("[data-nonstaff-note]")) note.hidden = staff;
    this.setRun(this.run);
    if (this.nodeId) this.renderNode();
  }

  start() {
    const raw = this.$("run-seed").value.trim();
    let seed;
    if (raw !== "") {
      seed = Number(raw);
      if (!Number.isSafeInteger(seed) || seed < 0) {
        this.toast("The seed is a whole number (or empty for a random one).", "bad");
        return;
      }
    }
    if (this.send(runStartFrame(seed))) this.busy(this.$("run-start"));
    else this.toast("Not connected; try again in a moment.", "bad");
  }

  busy(button) {
    button.dataset.busy = "1";
    button.disabled = true;
    setTimeout(() => {
      delete button.dataset.busy;
      this.setRun(this.run);
    }, 3000);
  }

  setRun(run) {
    this.run = run;
    const pill = this.$("run-status");
    const running = Boolean(run && run.status === "running");
    pill.dataset.status = run ? run.status : "none";
    pill.textContent = run ? `run ${run.id} · ${run.status} · seed ${run.seed}` : "no run yet";
    const start = this.$("run-start");
    const stop = this.$("run-stop");
    if (!start.dataset.busy) start.disabled = !this.staff || running;
    if (!stop.dataset.busy) stop.disabled = !this.staff || !running;
  }

  onAck(frame) {
    for (const id of ["run-start", "run-stop"]) delete this.$(id).dataset.busy;
    this.setRun(this.run);
    const what = {
      [CLIENT.RUN_START]: `Run ${frame.run} started.`,
      [CLIENT.RUN_STOP]: `Run ${frame.run} stopped.`,
      [CLIENT.PRODUCER_PAUSE]: "Producer paused.",
      [CLIENT.PRODUCER_RESUME]: "Producer resumed.",
      [CLIENT.CONSUMER_OFFLINE]: "Consumer is offline.",
      [CLIENT.CONSUMER_ONLINE]: "Consumer is online.",
      [CLIENT.REDRIVE]: "Dead letters sent back to their queues.",
    }[frame.of];
    if (what) this.toast(what, "ok");
  }

  onError() {
    for (const id of ["run-start", "run-stop"]) delete this.$(id).dataset.busy;
    this.setRun(this.run);
  }

  setCounters(counters) {
    this.counters = counters;
    const totals = (counters && counters.totals) || {};
    for (const name of TOTALS) {
      const node = this.$(`acct-${name}`);
      if (node) node.textContent = fullCount(totals[name]);
    }
    this.$("acct-lost-item").dataset.bad = totals.lost ? "1" : "0";
    if (this.nodeId) this.renderStats();
  }

  showNode(nodeId) {
    this.nodeId = nodeId;
    this.graph.select(nodeId);
    this.renderNode();
    this.showTab("node");
  }

  /** The graph changed (e.g. a producer was paused): refresh the open node panel. */
  refresh() {
    if (!this.nodeId) return;
    if (!this.graph.nodesById.has(this.nodeId)) {
      this.nodeId = null;
      this.$("node-detail").hidden = true;
      this.$("node-empty").hidden = false;
      return;
    }
    this.renderNode();
  }

  renderNode() {
    const node = this.graph.nodesById.get(this.nodeId);
    if (!node) return;
    this.$("node-empty").hidden = true;
    this.$("node-detail").hidden = false;
    const kind = this.$("node-kind");
    kind.textContent = KIND_NAMES[node.kind] || node.kind;
    kind.dataset.kind = node.kind;
    this.$("node-label").textContent = node.label;
    this.$("node-state").textContent = this.describe(node);
    this.renderStats();
    this.renderActions(node);
  }

  describe(node) {
    const edges = this.graph.data.edges;
    const bits = [];
    if (node.kind === "producer") bits.push(node.paused ? "paused: emits nothing" : "emitting");
    if (node.kind === "consumer") {
      bits.push(node.online === false ? "offline: receives nothing" : "online");
      if (node.service && node.service !== node.label) bits.push(`service ${node.service}`);
    }
    if (node.fifo) bits.push("FIFO");
    const dlqOf = edges.filter((e) => e.kind === "dead_letter" && e.target === node.id);
    if (dlqOf.length) bits.push(`dead-letter queue of ${dlqOf.map((e) => this.graph.label(e.source)).join(", ")}`);
    const outs = edges.filter((e) => e.source === node.id && e.kind !== "dead_letter").length;
    const ins = edges.filter((e) => e.target === node.id).length;
    if (node.kind !== "producer") bits.push(`${ins} in · ${outs} out`);
    return bits.join(" · ");
  }

  renderStats() {
    const body = this.$("node-stats").tBodies[0];
    const stats = (this.counters && this.counters.nodes && this.counters.nodes[this.nodeId]) || {};
    const keys = Object.keys(stats).sort((a, b) => {
      const ia = STAT_ORDER.indexOf(a);
      const ib = STAT_ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
    const rows = keys.map((key) => {
      const tr = element("tr");
      const th = element("th", { text: key.replace(/_/g, " ") });
      if (STAT_HELP[key]) th.title = STAT_HELP[key];
      tr.append(th, element("td", { className: "num", text: fullCount(stats[key]) }));
      return tr;
    });
    if (!rows.length) {
      const tr = element("tr");
      tr.appendChild(element("td", { className: "muted", text: this.counters ? "nothing counted here yet" : "no run yet" }));
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    const node = this.graph.nodesById.get(this.nodeId);
    const redrive = document.getElementById("node-redrive");
    if (redrive && node) redrive.textContent = `Redrive ${plural(stats.parked, "dead letter")}`;
  }

  renderActions(node) {
    const box = this.$("node-actions");
    box.replaceChildren();
    const id = Number(String(node.id).split(":")[1]);
    const button = (label, frame, { primary = false, id: domId } = {}) => {
      const b = element("button", { className: primary ? "btn primary" : "btn", text: label });
      b.type = "button";
      if (domId) b.id = domId;
      b.disabled = !this.staff;
      if (!this.staff) b.title = "Log in as staff to control runs";
      b.addEventListener("click", () => {
        if (!this.send(frame)) this.toast("Not connected; try again in a moment.", "bad");
      });
      box.appendChild(b);
      return b;
    };
    if (node.kind === "producer") {
      if (node.paused) button("Resume producer", producerFrame(id, false), { primary: true, id: "node-toggle" });
      else button("Pause producer", producerFrame(id, true), { id: "node-toggle" });
    }
    if (node.kind === "consumer") {
      if (node.online === false) button("Bring online", consumerFrame(id, true), { primary: true, id: "node-toggle" });
      else button("Take offline", consumerFrame(id, false), { id: "node-toggle" });
    }
    const isDlq = this.graph.data.edges.some((e) => e.kind === "dead_letter" && e.target === node.id);
    if (node.kind === "queue" && isDlq) {
      button("Redrive dead letters", redriveFrame(id), { id: "node-redrive" });
      this.renderStats();
    }
    if (["queue", "topic", "bus", "direct"].includes(node.kind)) {
      const b = element("button", { className: "btn", text: "Publish a test message here…" });
      b.type = "button";
      b.addEventListener("click", () => this.onPublishTo(node.id));
      box.appendChild(b);
    }
  }
}
