// The dashboard page: wires the socket, the diagram, the token overlay, the log, the
// inspector and the controls together. window.__eventviz exposes counters and hooks for
// the browser tests (and for anyone curious in the console).

import { Controls } from "./controls.js";
import { Graph } from "./graph.js";
import { Inspector } from "./inspector.js";
import { EventLog } from "./log.js";
import { Publisher } from "./publish.js";
import { ScriptPanel } from "./script.js";
import { HopSequencer, LiveSocket, socketUrl } from "./socket.js";
import { TokenLayer } from "./tokens.js";

const BACKFILL = 100; // hops of the current run shown in the log on first load
const SEQ_RECORD_MAX = 200000;

const $ = (id) => document.getElementById(id);

function readJson(id, fallback) {
  const node = $(id);
  if (!node) return fallback;
  try {
    return JSON.parse(node.textContent);
  } catch {
    return fallback;
  }
}

function main() {
  const root = $("dashboard");
  const slug = root.dataset.slug;
  const state = { run: null, staff: root.dataset.staff === "1", snapshots: 0, counters: null };
  const seqs = [];
  const hooks = { hopsSeen: 0, runId: null, connected: false, seqs, errors: [] };
  window.__eventviz = hooks;

  // --- small UI helpers ---------------------------------------------------------------
  const tabs = ["about", "node", "trace", "publish"];
  const showTab = (name) => {
    for (const t of tabs) {
      $(`tab-${t}`).setAttribute("aria-selected", String(t === name));
      $(`panel-${t}`).hidden = t !== name;
    }
  };
  for (const t of tabs) $(`tab-${t}`).addEventListener("click", () => showTab(t));
  $("side").querySelector("[role=tablist]").addEventListener("keydown", (event) => {
    const i = tabs.findIndex((t) => $(`tab-${t}`).getAttribute("aria-selected") === "true");
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const next = tabs[(i + step + tabs.length) % tabs.length];
    showTab(next);
    $(`tab-${next}`).focus();
  });

  let toastTimer = null;
  const toast = (text, tone = "") => {
    const box = $("toast");
    box.textContent = text;
    box.dataset.tone = tone;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      box.hidden = true;
    }, tone === "bad" ? 6000 : 3000);
  };

  const setConn = (status) => {
    const box = $("conn-status");
    box.dataset.state = status;
    box.querySelector(".conn-text").textContent =
      { open: "live", connecting: "connecting…", reconnecting: "reconnecting…", closed: "offline — reconnecting" }[status] || status;
    hooks.connected = status === "open";
  };

  // --- the parts ----------------------------------------------------------------------
  let socket = null;
  const send = (frame) => (socket ? socket.send(frame) : false);

  let tokens = null;
  let controls = null;
  let inspector = null;
  const graph = new Graph($("cy"), {
    slug,
    onTap: (event) => {
      const pos = event.renderedPosition || event.position;
      const target = event.target;
      const onNode = target && target !== graph.cy && target.isNode && target.isNode();
      // On a node, a token must be hit squarely: the click is more likely meant for the node.
      const msg = pos && tokens ? tokens.hitTest(pos.x, pos.y, onNode ? 5 : 10) : null;
      if (msg && !msg.startsWith("synthetic-")) {
        inspector.open(msg);
        return;
      }
      if (onNode) controls.showNode(target.id());
    },
  });
  tokens = new TokenLayer($("overlay"), graph);
  tokens.start();

  const log = new EventLog({
    body: $("log-body"),
    scroll: $("log-scroll"),
    typeSelect: $("log-type"),
    stageSelect: $("log-stage"),
    nodeSelect: $("log-node"),
    pauseButton: $("log-pause"),
    countEl: $("log-count"),
    graph,
    onPick: (msg) => inspector.open(msg),
  });

  inspector = new Inspector({
    root: $("panel-trace"),
    graph,
    tokens,
    log,
    send,
    showTab,
    currentRun: () => state.run && state.run.id,
  });

  const publisher = new Publisher({
    graph,
    send,
    types: readJson("publish-types", []),
    onPublished: (msg) => inspector.open(msg, { retryEmpty: true }),
  });

  controls = new Controls({
    graph,
    send,
    toast,
    showTab,
    onPublishTo: (nodeId) => {
      publisher.selectChannel(nodeId);
      showTab("publish");
    },
  });
  controls.setStaff(state.staff);

  const script = new ScriptPanel({ root: $("script-panel"), list: $("script-steps"), toast });

  // #node=<id> (links from the coupling report): open that node once the graph is drawn.
  let pendingNode = decodeURIComponent((location.hash.match(/^#node=(.+)$/) || [])[1] || "");

  const freeze = (frozen) => {
    tokens.setFrozen(frozen);
    const button = $("anim-pause");
    button.setAttribute("aria-pressed", String(frozen));
    button.textContent = frozen ? "Unfreeze" : "Freeze";
  };
  $("anim-pause").addEventListener("click", () => freeze(tokens.frozenAt === null));
  document.addEventListener("keydown", (event) => {
    if (event.key !== " " || event.target.closest("input, textarea, select, button, [tabindex]")) return;
    event.preventDefault();
    freeze(tokens.frozenAt === null);
  });
  $("graph-fit").addEventListener("click", () => graph.refit());
  $("graph-reset").addEventListener("click", () => graph.forgetPositions());

  // Hover feedback: a pointer over a token means "click to trace".
  let hoverAt = 0;
  $("cy").addEventListener("mousemove", (event) => {
    const now = performance.now();
    if (now - hoverAt < 60) return;
    hoverAt = now;
    const box = $("cy").getBoundingClientRect();
    const hit = tokens.hitTest(event.clientX - box.left, event.clientY - box.top);
    $("stage").classList.toggle("over-token", Boolean(hit));
  });

  // --- hops -----------------------------------------------------------------------------
  let rateCount = 0;
  let rateAt = performance.now();
  const sequencer = new HopSequencer({
    requestResume: (run, afterSeq) => send({ type: "resume", run, after_seq: afterSeq }),
    deliver: (entries) => {
      const hops = new Array(entries.length);
      const live = [];
      for (let i = 0; i < entries.length; i++) {
        const hop = entries[i].hop;
        hops[i] = hop;
        if (entries[i].live) live.push(hop);
        if (seqs.length < SEQ_RECORD_MAX) seqs.push(hop.seq);
      }
      hooks.hopsSeen += hops.length;
      rateCount += live.length;
      log.add(hops);
      if (live.length) tokens.addHops(live);
      inspector.onLiveHops(hops);
    },
  });

  const startRun = (run, lastSeq) => {
    state.run = run;
    hooks.runId = run ? run.id : null;
    seqs.length = 0;
    log.clear();
    tokens.clear();
    script.reset();
    if (run) sequencer.reset(run.id, lastSeq);
  };

  const setCounters = (counters) => {
    state.counters = counters;
    graph.stats = (counters && counters.nodes) || {};
    tokens.dirty = true;
    controls.setCounters(counters);
    script.setProgress(counters && counters.script);
  };

  const setGraph = (g) => {
    graph.setGraph(g);
    log.setNodes(g.nodes || []);
    publisher.setChannels(graph.channels());
    controls.refresh();
    script.setScript(g.script);
    tokens.dirty = true;
    if (pendingNode && graph.cy.getElementById(pendingNode).nonempty()) {
      controls.showNode(pendingNode);
      pendingNode = "";
    }
  };

  // --- frames ---------------------------------------------------------------------------
  const onFrame = (frame) => {
    switch (frame.type) {
      case "snapshot": {
        state.snapshots += 1;
        state.staff = Boolean(frame.staff);
        controls.setStaff(state.staff);
        setGraph(frame.graph);
        const run = frame.run;
        if (run && state.run && run.id === state.run.id) {
          // A reconnect to the same run: fetch what was missed while away.
          state.run = run;
          sequencer.resumeNow();
        } else if (run) {
          startRun(run, Math.max(0, (frame.last_seq || 0) - BACKFILL));
          sequencer.resumeNow();
        } else {
          startRun(null, 0);
        }
        controls.setRun(state.run);
        setCounters(frame.counters);
        break;
      }
      case "hops":
        if (!Array.isArray(frame.hops)) break;
        if (!state.run || frame.run > state.run.id) {
          // The run frame was missed; the sequencer resumes from this run's start.
          startRun({ id: frame.run, status: "running", seed: "?" }, 0);
          controls.setRun(state.run);
        }
        sequencer.accept(frame);
        break;
      case "counters":
        if (state.run && frame.run !== state.run.id) break;
        sequencer.onCounters(frame.run, frame.seq);
        setCounters(frame);
        break;
      case "graph":
        setGraph(frame.graph);
        break;
      case "run": {
        const run = frame.run;
        if (!state.run || run.id !== state.run.id) {
          if (!state.run || run.id > state.run.id) {
            startRun(run, 0);
            setCounters(null);
          }
        } else {
          state.run = run;
        }
        controls.setRun(state.run);
        break;
      }
      case "trace":
        inspector.onFrame(frame);
        break;
      case "ack":
        if (frame.of === "publish") publisher.onAck(frame);
        else controls.onAck(frame);
        break;
      case "error": {
        const message = String(frame.error || "error");
        hooks.errors.push(message);
        controls.onError();
        if (!publisher.onError(message)) toast(message, "bad");
        break;
      }
      default:
        break;
    }
  };

  socket = new LiveSocket(socketUrl(slug), { onFrame, onStatus: setConn });
  socket.connect();

  setInterval(() => {
    sequencer.tick();
    const now = performance.now();
    if (now - rateAt >= 2000) {
      const rate = (rateCount * 1000) / (now - rateAt);
      $("acct-rate").textContent = state.run && state.run.status === "running" ? `· ${rate.toFixed(0)} hops/s` : "";
      rateCount = 0;
      rateAt = now;
    }
  }, 250);

  // --- test and benchmark hooks ------------------------------------------------------------
  const liveHooks = {
    lastSeq: () => sequencer.lastSeq,
    pending: () => sequencer.pending.size,
    duplicates: () => sequencer.stats.duplicates,
    missed: () => sequencer.stats.missed,
    resumes: () => sequencer.stats.resumes,
    tokensDrawn: () => tokens.stats.drawn,
    tokensSpawned: () => tokens.stats.spawned,
    tokensInFlight: () => tokens.stats.inFlight,
    pulses: () => tokens.stats.pulses,
    denseEdges: () => [...tokens.dense.keys()],
  };
  for (const [name, get] of Object.entries(liveHooks)) {
    delete hooks[name];
    Object.defineProperty(hooks, name, { get, enumerable: true });
  }
  Object.assign(hooks, {
    dropSocket: (holdMs = 0) => socket.drop(holdMs),
    freeze,
    counters: () => state.counters,
    edgeLabels: () => graph.data.edges.map((e) => e.label),
    node: (label) => graph.data.nodes.find((n) => n.label === label || n.id === label) || null,
    nodeStats: (label) => {
      const node = graph.data.nodes.find((n) => n.label === label || n.id === label);
      return node && state.counters && state.counters.nodes ? state.counters.nodes[node.id] || {} : {};
    },
    nodeCenter: (label) => {
      const node = graph.data.nodes.find((n) => n.label === label || n.id === label);
      if (!node) return null;
      const p = graph.cy.getElementById(node.id).renderedPosition();
      const box = $("cy").getBoundingClientRect();
      return { x: box.left + p.x, y: box.top + p.y };
    },
    tokenPoints: () => {
      const box = $("cy").getBoundingClientRect();
      const out = [];
      for (let i = 0; i < tokens.hitList.length; i += 3) {
        out.push({ x: box.left + tokens.hitList[i], y: box.top + tokens.hitList[i + 1], msg: tokens.hitList[i + 2] });
      }
      return out;
    },
    injectTokens: (count = 500, ms = 3000) => tokens.inject(count, ms),
    /** Frames per second of requestAnimationFrame over ``ms``, with tokens in flight. */
    measureFps: (ms = 3000) =>
      new Promise((resolve) => {
        let frames = 0;
        let minTokens = Infinity;
        let maxTokens = 0;
        let worst = 0;
        let last = null;
        let start = null;
        const step = (now) => {
          if (start === null) start = now;
          if (last !== null) worst = Math.max(worst, now - last);
          last = now;
          frames += 1;
          minTokens = Math.min(minTokens, tokens.stats.inFlight);
          maxTokens = Math.max(maxTokens, tokens.stats.inFlight);
          if (now - start < ms) requestAnimationFrame(step);
          else resolve({ fps: ((frames - 1) * 1000) / (now - start), frames, minTokens, maxTokens, worstFrameMs: worst });
        };
        requestAnimationFrame(step);
      }),
    graph,
    tokens,
  });
}

main();
