// The message trace inspector: the whole path of one message as a timeline, with what
// each hop carried (payload, body, transformed input), the rule or filter policy that
// routed or dropped it, and each failure's reason. Everything is set with textContent.

import { element, plural } from "../helpers.js";
import { traceFrame } from "./protocol.js";

const TERMINAL = new Set(["processed", "dead_lettered", "filtered", "unmatched", "purged"]);
const EMPTY_RETRY_MS = 500;
const EMPTY_RETRIES = 12;
const LIVE_REFRESH_MS = 400;

function pretty(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export class Inspector {
  constructor({ root, graph, tokens, log, send, showTab, currentRun }) {
    this.root = root;
    this.graph = graph;
    this.tokens = tokens;
    this.log = log;
    this.send = send;
    this.showTab = showTab;
    this.currentRun = currentRun;
    this.msg = null;
    this.retries = 0;
    this.timer = null;
    this.$ = (id) => document.getElementById(id);
    this.$("trace-refresh").addEventListener("click", () => this.request());
    this.lastFrame = null;
  }

  /** Follow ``msg``: ask the server for its trace and show it. */
  open(msg, { retryEmpty = false } = {}) {
    if (!msg) return;
    this.msg = msg;
    this.retries = retryEmpty ? EMPTY_RETRIES : 0;
    this.tokens.setHighlight(msg);
    this.log.markSelected(msg);
    this.$("trace-empty").hidden = true;
    this.$("trace-detail").hidden = false;
    this.$("trace-msg").textContent = msg;
    this.$("trace-type").textContent = "";
    this.$("trace-kind").textContent = "";
    this.$("trace-summary").textContent = "loading the trace…";
    this.$("trace-timeline").replaceChildren();
    this.showTab("trace");
    this.request();
  }

  request() {
    if (!this.msg) return;
    clearTimeout(this.timer);
    this.timer = null;
    // The current run's id keeps the answer to that run (another run of the same seed has
    // the same message ids, and the server caps a trace's length).
    if (!this.send(traceFrame(this.msg, this.currentRun()))) {
      this.$("trace-summary").textContent = "not connected: the trace is asked again once the connection is back";
    }
  }

  /** Live hops of the followed message: refresh the trace shortly. */
  onLiveHops(hops) {
    if (!this.msg || this.timer !== null) return;
    if (hops.some((h) => h.msg === this.msg)) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.request();
      }, LIVE_REFRESH_MS);
    }
  }

  onFrame(frame) {
    if (frame.msg !== this.msg) return;
    let hops = Array.isArray(frame.hops) ? frame.hops : [];
    // The same seed makes the same message ids in another run: show one run, the one on
    // screen when it has this message, else the latest.
    const runs = [...new Set(hops.map((h) => h.run))];
    if (runs.length > 1) {
      const run = runs.includes(this.currentRun()) ? this.currentRun() : Math.max(...runs);
      hops = hops.filter((h) => h.run === run);
    }
    if (!hops.length && this.retries > 0) {
      this.retries -= 1;
      this.$("trace-summary").textContent = "waiting for the message to be routed…";
      this.timer = setTimeout(() => {
        this.timer = null;
        this.request();
      }, EMPTY_RETRY_MS);
      return;
    }
    this.lastFrame = { msg: frame.msg, hops };
    this.render(hops);
  }

  render(hops) {
    const timeline = this.$("trace-timeline");
    if (!hops.length) {
      this.$("trace-summary").textContent = "No hops recorded for this message (yet).";
      timeline.replaceChildren();
      this.graph.setTraced([], []);
      return;
    }
    const first = hops[0];
    this.$("trace-type").textContent = first.type;
    const kind = this.$("trace-kind");
    kind.textContent = first.kind;
    kind.className = `tag kind-${first.kind === "command" ? "command" : "event"}`;
    this.$("trace-summary").textContent = summary(hops);

    const nodes = new Set();
    const edges = new Set();
    const items = hops.map((hop) => {
      if (hop.from && hop.from !== "client") nodes.add(hop.from);
      if (hop.to) nodes.add(hop.to);
      if (hop.edge) edges.add(hop.edge);
      return this.item(hop, first.at);
    });
    timeline.replaceChildren(...items);
    this.graph.setTraced([...nodes], [...edges]);
  }

  item(hop, t0) {
    const li = element("li", { className: `hop st-${TERMINAL.has(hop.stage) || hop.stage === "failed" ? hop.stage : "step"}` });
    li.dataset.stage = hop.stage;
    const head = element("div", { className: "hop-head" });
    head.appendChild(element("span", { className: "hop-time mono", text: `+${Math.max(0, hop.at - t0)} ms` }));
    head.appendChild(element("span", { className: `stage st-${hop.stage}`, text: String(hop.stage).replace("_", " ") }));
    const from = this.graph.label(hop.from);
    const to = hop.to && hop.to !== hop.from ? this.graph.label(hop.to) : "";
    head.appendChild(element("span", { className: "hop-path", text: to ? `${from} → ${to}` : `at ${from}` }));
    if (hop.attempt > 1) head.appendChild(element("span", { className: "hop-attempt", text: `attempt ${hop.attempt}` }));
    li.appendChild(head);

    const detail = hop.detail && typeof hop.detail === "object" ? { ...hop.detail } : {};
    const dl = element("dl", { className: "hop-detail" });
    const add = (term, value, className) => {
      dl.appendChild(element("dt", { text: term }));
      const dd = element("dd", { className });
      if (value instanceof Node) dd.appendChild(value);
      else dd.textContent = value;
      dl.appendChild(dd);
    };
    const json = (value) => element("pre", { className: "json", text: pretty(value) });

    const edge = hop.edge ? this.graph.edgesById.get(hop.edge) : undefined;
    if ("rule" in detail) {
      const version = detail.rule_version !== undefined ? ` v${detail.rule_version}` : "";
      add("rule", `${detail.rule}${version}`);
    } else if (edge && edge.kind === "rule" && hop.from !== hop.to) {
      add("rule", edge.label);
    } else if (edge && edge.filter_policy && hop.stage !== "filtered" && hop.from !== hop.to) {
      add("filter policy", json(edge.filter_policy));
    }
    delete detail.rule;
    delete detail.rule_version;
    delete detail.rule_id;

    if (detail.error !== undefined) add("error", String(detail.error), "bad");
    if (detail.reason !== undefined) add("reason", String(detail.reason), hop.stage === "dead_lettered" ? "dead" : "");
    if (detail.policy !== undefined) add("filter policy", json(detail.policy));
    if (detail.why !== undefined) add("why", json(detail.why));
    if (detail.rules !== undefined && Array.isArray(detail.rules) && detail.rules.length) {
      add("matched rules", detail.rules.join(", "));
    }
    if (detail.input !== undefined) add("transformed input", json(detail.input));
    if (Array.isArray(detail.missing) && detail.missing.length) {
      add("missing paths", detail.missing.join(", "), "bad");
    }
    if (detail.body !== undefined && detail.body !== null) add("body", json(detail.body));
    if (detail.payload !== undefined) add("payload", json(detail.payload));
    if (detail.latency_ms !== undefined) add("took", `${detail.latency_ms} ms`);
    if (detail.mirror) add("copy", "mirror (shadow traffic)");
    if (detail.dlq) add("dead-letter queue", String(detail.dlq));
    for (const key of ["error", "reason", "policy", "why", "rules", "input", "missing", "body", "payload", "latency_ms", "mirror", "dlq"]) {
      delete detail[key];
    }
    for (const [key, value] of Object.entries(detail)) {
      add(key.replace(/_/g, " "), typeof value === "object" && value !== null ? json(value) : String(value));
    }
    if (dl.childElementCount) li.appendChild(dl);
    return li;
  }

  close() {
    this.msg = null;
    clearTimeout(this.timer);
    this.timer = null;
    this.tokens.setHighlight(null);
    this.log.markSelected(null);
    this.graph.setTraced([], []);
  }
}

function summary(hops) {
  const count = {};
  for (const h of hops) count[h.stage] = (count[h.stage] || 0) + 1;
  const parts = [];
  const terminal = ["processed", "dead_lettered", "filtered", "unmatched", "purged"]
    .filter((s) => count[s])
    .map((s) => `${count[s]} ${s.replace("_", "-")}`);
  if (count.failed) parts.push(plural(count.failed, "failed attempt"));
  const span = hops[hops.length - 1].at - hops[0].at;
  const ended = terminal.length ? terminal.join(", ") : "nothing terminal yet (in flight)";
  return `${plural(hops.length, "hop")} over ${span} ms · ended: ${ended}${parts.length ? ` · ${parts.join(", ")}` : ""}`;
}
