// What each server frame does to the page: the run on screen, its counters, the diagram,
// and the hop sequencer that hands hops to the log, the tokens and the inspector in seq
// order, exactly once.

import { CLIENT, resumeFrame, SERVER } from "./protocol.js";
import { HopSequencer } from "./socket.js";

const BACKFILL = 100; // hops of the current run shown in the log on first load
// Back from a disconnect this far behind (say closed 4008 as too slow): start again from
// the snapshot rather than resume every hop missed.
const RELOAD_BEHIND = 20000;

/** Told what was delivered (the test hooks record it); every method is optional. */
const NO_OBSERVER = { delivered() {}, runStarted() {}, error() {} };

export class LiveView {
  constructor({ parts, send, toast, rate, staff, openNode = "", observer = NO_OBSERVER }) {
    this.parts = parts; // graph, tokens, log, inspector, publisher, controls, script
    this.toast = toast;
    this.rate = rate;
    this.observer = observer;
    this.run = null;
    this.staff = staff;
    this.counters = null;
    this.snapshots = 0;
    this.sampling = 0; // 1 in N hop events sent by the server, 0 when all are
    this.openNode = openNode; // a node to open once the graph has it (#node=<id>)
    this.sequencer = new HopSequencer({
      requestResume: (run, afterSeq) => send(resumeFrame(run, afterSeq)),
      deliver: (entries) => this.deliver(entries),
    });
  }

  /** The run on screen's id, or null. */
  runId() {
    return this.run ? this.run.id : null;
  }

  /** Called every 250 ms: the sequencer's timers, the hop rate. */
  tick() {
    this.sequencer.tick();
    this.rate.tick(Boolean(this.run && this.run.status === "running"));
    const every = this.rate.samplingEvery();
    if (every !== this.sampling) {
      this.sampling = every;
      const note = every
        ? `sampled 1 in ${every}: other messages' hops not listed (first hops and failures are); ` +
          "pick a message for all of its hops"
        : "";
      this.parts.log.setNote(note);
    }
  }

  deliver(entries) {
    const { log, tokens, inspector } = this.parts;
    const hops = new Array(entries.length);
    const live = [];
    for (let i = 0; i < entries.length; i++) {
      hops[i] = entries[i].hop;
      if (entries[i].live) live.push(entries[i].hop);
    }
    this.observer.delivered(hops);
    this.rate.add(live.length);
    log.add(hops);
    if (live.length) tokens.addHops(live);
    inspector.onLiveHops(hops);
  }

  startRun(run, lastSeq) {
    const { log, tokens, script } = this.parts;
    this.run = run;
    this.observer.runStarted(run);
    log.clear();
    tokens.clear();
    script.reset();
    if (run) this.sequencer.reset(run.id, lastSeq);
  }

  setCounters(counters) {
    const { graph, tokens, controls, script } = this.parts;
    this.counters = counters;
    graph.stats = (counters && counters.nodes) || {};
    tokens.dirty = true;
    controls.setCounters(counters);
    script.setProgress(counters && counters.script);
  }

  setGraph(g) {
    const { graph, log, publisher, controls, script, tokens } = this.parts;
    graph.setGraph(g);
    log.setNodes(g.nodes || []);
    publisher.setChannels(graph.channels());
    controls.refresh();
    script.setScript(g.script);
    tokens.dirty = true;
    if (this.openNode && graph.cy.getElementById(this.openNode).nonempty()) {
      controls.showNode(this.openNode);
      this.openNode = "";
    }
  }

  onFrame(frame) {
    switch (frame.type) {
      case SERVER.SNAPSHOT:
        this.onSnapshot(frame);
        break;
      case SERVER.HOPS:
        this.onHops(frame);
        break;
      case SERVER.COUNTERS:
        if (this.run && frame.run !== this.run.id) break;
        this.sequencer.onCounters(frame.run, frame.seq);
        this.setCounters(frame);
        break;
      case SERVER.GRAPH:
        this.setGraph(frame.graph);
        break;
      case SERVER.RUN:
        this.onRun(frame.run);
        if (frame.by) this.toast.show(`Run ${frame.run.id} started by ${frame.by}`, "ok");
        break;
      case SERVER.TRACE:
        this.parts.inspector.onFrame(frame);
        break;
      case SERVER.ACK:
        if (frame.of === CLIENT.PUBLISH) this.parts.publisher.onAck(frame);
        else this.parts.controls.onAck(frame);
        break;
      case SERVER.ERROR: {
        // A rate-limited resume: the sequencer asks again by itself.
        if (frame.of === CLIENT.RESUME && frame.retry_ms) break;
        const message = String(frame.error || "error");
        this.observer.error(message);
        this.parts.controls.onError();
        if (!this.parts.publisher.onError(message)) this.toast.show(message, "bad");
        break;
      }
      default:
        break;
    }
  }

  onSnapshot(frame) {
    const { controls } = this.parts;
    this.snapshots += 1;
    this.staff = Boolean(frame.staff);
    controls.setStaff(this.staff);
    this.setGraph(frame.graph);
    const run = frame.run;
    const same = Boolean(run && this.run && run.id === this.run.id);
    if (same && (frame.last_seq || 0) - this.sequencer.lastSeq > RELOAD_BEHIND) {
      this.startRun(run, Math.max(0, frame.last_seq - BACKFILL));
      this.sequencer.resumeNow();
    } else if (same) {
      // A reconnect to the same run: fetch what was missed while away.
      this.run = run;
      this.sequencer.resumeNow();
    } else if (run) {
      this.startRun(run, Math.max(0, (frame.last_seq || 0) - BACKFILL));
      this.sequencer.resumeNow();
    } else {
      this.startRun(null, 0);
    }
    controls.setRun(this.run);
    this.setCounters(frame.counters);
  }

  onHops(frame) {
    if (!Array.isArray(frame.hops)) return;
    if (!this.run || frame.run > this.run.id) {
      // The run frame was missed; the sequencer resumes from this run's start.
      this.startRun({ id: frame.run, status: "running", seed: "?" }, 0);
      this.parts.controls.setRun(this.run);
    }
    // Sampled (above the dashboard's hop budget): count what was left out in the rate.
    const sampled = frame.sampled;
    if (sampled) this.rate.sampled(sampled.hops - frame.hops.length, sampled.every);
    this.sequencer.accept(frame);
  }

  onRun(run) {
    if (!this.run || run.id !== this.run.id) {
      if (!this.run || run.id > this.run.id) {
        this.startRun(run, 0);
        this.setCounters(null);
      }
    } else {
      this.run = run;
    }
    this.parts.controls.setRun(this.run);
  }
}
